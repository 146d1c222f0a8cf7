import { FNV_OFFSET_BASIS, FNV_PRIME, fnv1aWordJoined } from './fnv';

/** Where a featurizer keeps a text's tokens (see asciiTokenHashes): their offsets and hashes, each at least as long as the tokens. */
export interface TokenScratch {
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly unigrams: Int32Array;
  readonly states: Int32Array;
}

/**
 * The tokens `wordTokens` (words.ts) would split `text` into, found without building a string, for
 * the texts it can see at a glance: all ASCII and no apostrophe (no contraction to split, nothing
 * to normalize). On such a text its TOKEN comes down to: a run of letters and digits, continued
 * across a single `-` or `.` that another letter or digit follows; or any one character that is
 * neither space nor letter nor digit.
 *
 * Each token's FNV-1a hash is computed as its characters are read (ASCII capitals lower-cased when
 * `lowercase`): `unigrams[t]`, and with `pairs` the hash of token t-1, a space and token t in
 * `states[t - 1]`, the two chains side by side. Reading the text once for the split and again for
 * the hashes took the featurizer about an eighth longer (`node dist/bench/featurizer.js`). Token
 * t's offsets go to `starts[t]` and `ends[t]` (for longer n-grams), at most `maxTokens` tokens;
 * returns how many, or -1 for any other text, which `wordTokens` then splits.
 */
export function asciiTokenHashes(text: string, maxTokens: number, lowercase: boolean, pairs: boolean, scratch: TokenScratch): number {
  const { starts, ends, unigrams, states } = scratch;
  const codes = lowercase ? LOWERED_WORD_CODES : WORD_CODES;
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
    const start = i;
    let unigram = FNV_OFFSET_BASIS;
    let pair = pairs && count > 0 ? fnv1aWordJoined(unigrams[count - 1]) : 0;
    if (kind === OTHER) {
      if (needsExpressions(code)) return -1;
      unigram = Math.imul(unigram ^ code, FNV_PRIME);
      pair = Math.imul(pair ^ code, FNV_PRIME);
      i++;
    } else {
      for (;;) {
        for (; i < length; i++) {
          const c = text.charCodeAt(i);
          const word = c < 0x80 ? codes[c] : 0;
          if (word === 0) break;
          unigram = Math.imul(unigram ^ word, FNV_PRIME);
          pair = Math.imul(pair ^ word, FNV_PRIME);
        }
        const next = text.charCodeAt(i);
        if ((next !== HYPHEN && next !== DOT) || i + 1 >= length || kindOf(text.charCodeAt(i + 1)) !== WORD) break;
        unigram = Math.imul(unigram ^ next, FNV_PRIME);
        pair = Math.imul(pair ^ next, FNV_PRIME);
        i++;
      }
    }
    starts[count] = start;
    ends[count] = i;
    unigrams[count] = unigram;
    if (pairs && count > 0) states[count - 1] = pair;
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

/** Each ASCII letter's and digit's code as hashed (0 for any other character), as it is and lower-cased. */
const WORD_CODES = Uint8Array.from(ASCII_KINDS, (kind, code) => (kind === WORD ? code : 0));
const LOWERED_WORD_CODES = Uint8Array.from(WORD_CODES, (code) => (code >= 0x41 && code <= 0x5a ? code + 0x20 : code));

function kindOf(code: number): number {
  return code < 0x80 ? ASCII_KINDS[code] : OTHER;
}
