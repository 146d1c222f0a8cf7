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

/**
 * Where `wordTokens` would split `text`, found without building a string, for the texts it can
 * see at a glance: all ASCII and no apostrophe (no contraction to split, nothing to normalize).
 * Writes token `t`'s first and one-past-last offsets to `starts[t]` and `ends[t]`, at most
 * `maxTokens` of them, and returns how many; returns -1 for any other text, which `wordTokens`
 * then splits. Lower-casing changes no offset in ASCII.
 *
 * On such a text TOKEN comes down to: a run of letters and digits, continued across a single `-`
 * or `.` that another letter or digit follows; or any one character that is neither space nor
 * letter nor digit.
 */
export function asciiTokenSpans(text: string, maxTokens: number, starts: Int32Array, ends: Int32Array): number {
  const length = text.length;
  // One pass: a character that is neither space nor letter nor digit nor a joining - or . is
  // checked where it is met, and the rest of the text once the tokens run out.
  let count = 0;
  let i = 0;
  while (i < length && count < maxTokens) {
    const code = text.charCodeAt(i);
    const kind = kindOf(code);
    if (kind === SPACE) {
      i++;
      continue;
    }
    const start = i++;
    if (kind === OTHER) {
      if (needsExpressions(code)) return -1;
    } else {
      for (;;) {
        while (i < length && kindOf(text.charCodeAt(i)) === WORD) i++;
        const next = text.charCodeAt(i);
        if ((next === HYPHEN || next === DOT) && i + 1 < length && kindOf(text.charCodeAt(i + 1)) === WORD) i += 2;
        else break;
      }
    }
    starts[count] = start;
    ends[count] = i;
    count++;
  }
  for (; i < length; i++) if (needsExpressions(text.charCodeAt(i))) return -1;
  return count;
}

/** A character that sends its text to wordTokens' regular expressions: not ASCII, or an apostrophe. */
function needsExpressions(code: number): boolean {
  return code > 0x7f || code === APOSTROPHE;
}

const APOSTROPHE = 0x27;
const HYPHEN = 0x2d;
const DOT = 0x2e;

/** What a character is to the split: OTHER (not ASCII, or neither space nor letter nor digit), SPACE or WORD. */
const OTHER = 0;
const SPACE = 1;
const WORD = 2;

/**
 * Each ASCII character's kind: SPACE for `\s` within ASCII (tab, line feed, vertical tab, form
 * feed, carriage return, space), WORD for `[\p{L}\p{N}]` within ASCII. A table rather than
 * comparisons: small enough that V8 inlines the lookup in the scan, which it stopped doing for
 * the comparisons once the scan grew.
 */
const ASCII_KINDS = Uint8Array.from({ length: 0x80 }, (_, code) => {
  if (code === 0x20 || (code >= 0x09 && code <= 0x0d)) return SPACE;
  if ((code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39)) return WORD;
  return OTHER;
});

function kindOf(code: number): number {
  return code < 0x80 ? ASCII_KINDS[code] : OTHER;
}
