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

const ASCII = /^[\x00-\x7f]*$/;

export function wordTokens(text: string, lowercase: boolean, maxTokens: number): string[] {
  // Tokenizing is most of a bundled model's run time, so the steps that cannot change a text are
  // skipped: ASCII is its own NFKC form and has no typographic quotes; without an apostrophe
  // there is no contraction to split.
  let normal = ASCII.test(text) ? text : text.normalize('NFKC').replace(TYPOGRAPHIC, "'");
  if (lowercase) normal = normal.toLowerCase();
  if (normal.includes("'")) normal = normal.replace(NEGATION, "$1 n't").replace(CLITIC, "$1 '$2");
  const tokens = normal.match(TOKEN) ?? [];
  return tokens.length > maxTokens ? tokens.slice(0, maxTokens) : tokens;
}
