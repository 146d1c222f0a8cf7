/**
 * Word tokenizer for the bundled models. The training data (SST-2, TREC) is Penn-Treebank style:
 * contractions split off ("did n't", "it 's") and punctuation as separate tokens. Splitting user
 * text the same way keeps what the model sees at run time close to what it learned from.
 */
const NEGATION = /(\p{L})n't\b/giu;
const CLITIC = /(\p{L})'(s|re|ve|ll|d|m)\b/giu;
const TOKEN = /n't|'(?:s|re|ve|ll|d|m)\b|[\p{L}\p{N}]+(?:[-.'][\p{L}\p{N}]+)*|[^\s\p{L}\p{N}]/gu;
// Curly quotes and apostrophes behave like their ASCII forms in the training text.
const TYPOGRAPHIC = /[\u2018\u2019\u201A\u201B]/g;

export function wordTokens(text: string, lowercase: boolean, maxTokens: number): string[] {
  let normal = text.normalize('NFKC').replace(TYPOGRAPHIC, "'");
  if (lowercase) normal = normal.toLowerCase();
  normal = normal.replace(NEGATION, "$1 n't").replace(CLITIC, "$1 '$2");
  const tokens: string[] = [];
  for (const match of normal.matchAll(TOKEN)) {
    tokens.push(match[0]);
    if (tokens.length >= maxTokens) break;
  }
  return tokens;
}
