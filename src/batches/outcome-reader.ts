/**
 * Reads a chunk's outcomes from their stored text (row-codec.ts's encodeChunkOutcomes) one row at
 * a time, without JSON.parse: each score stays the text jsonNumber wrote, which is what a CSV cell
 * (String) and JSON write for it, so a download copies it instead of parsing and formatting it
 * again (number formatting and the parse's arrays were most of a download's CPU).
 *
 * The text is `[` outcomes separated by `,` `]`; an outcome is `[scores,cached,error]` with scores
 * `null` or `[n,...]` (each a jsonNumber: a JSON number or `null`), cached `0` or `1`, error `null`
 * or a JSON string. Anything else is a stored value this release did not write: an error, not a
 * guess. (A cache hit goes into the outcomes as its value was stored where no reader could tell,
 * else encoded again; see copyableJson in prediction-cache.ts. A stored value that is not JSON
 * numbers fails the download here rather than make bad lines.)
 */

export class OutcomeReader {
  /** Where the next outcome starts. */
  private at = 1;
  /**
   * Where score i of the current row starts and ends in the text: a score is cut out (sliced) only
   * when it is written, and compared where it stands (slicing each score of every row was a
   * third of reading one).
   */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  /** Whether score i is a plain fraction, `0.` and digits: most probabilities, compared as text. */
  private readonly plain: boolean[] = [];
  /** Whether a score of the current row is null (not a number). */
  private someNull = false;
  /** Scores the current row has; -1 when it failed (no scores). */
  private count = -1;
  /** Whether the cache answered the current row. */
  cached = false;
  /** The current row's error as stored: `null` or a JSON string. */
  errorJson = 'null';

  constructor(private readonly text: string) {
    if (text.charCodeAt(0) !== 0x5b) this.malformed(0);
  }

  /** Moves to the next row; false past the last. */
  next(): boolean {
    const text = this.text;
    let at = this.at;
    // The closing bracket, only where an outcome could begin (not after a comma), and last.
    if (text.charCodeAt(at) === 0x5d && (at === 1 || text.charCodeAt(at - 1) === 0x5d)) {
      if (at !== text.length - 1) this.malformed(at + 1);
      return false;
    }
    this.expect(at++, 0x5b);
    if (text.charCodeAt(at) === 0x6e) {
      this.count = -1;
      at = this.word(at, 'null');
    } else {
      this.expect(at++, 0x5b);
      let count = 0;
      let someNull = false;
      if (text.charCodeAt(at) === 0x5d) at++;
      else {
        for (;;) {
          let end: number;
          let plain = false;
          if (text.charCodeAt(at) === 0x6e) {
            end = this.word(at, 'null');
            someNull = true;
          } else if (text.charCodeAt(at) === 0x30 && text.charCodeAt(at + 1) === 0x2e && isDigit(text.charCodeAt(at + 2))) {
            // A plain fraction, most scores: its digits scanned once, for its end and its kind.
            end = digitsEnd(text, at + 3);
            const after = text.charCodeAt(end);
            if (after === 0x65 || after === 0x45) end = jsonNumberEnd(text, at);
            else plain = true;
          } else {
            end = jsonNumberEnd(text, at);
          }
          const code = text.charCodeAt(end);
          if (end === -1 || (code !== 0x2c && code !== 0x5d)) this.malformed(at);
          this.starts[count] = at;
          this.ends[count] = end;
          this.plain[count] = plain;
          count++;
          at = end + 1;
          if (code === 0x5d) break;
        }
      }
      this.count = count;
      this.someNull = someNull;
    }
    this.expect(at++, 0x2c);
    const cached = text.charCodeAt(at++);
    if (cached !== 0x30 && cached !== 0x31) this.malformed(at - 1);
    this.cached = cached === 0x31;
    this.expect(at++, 0x2c);
    if (text.charCodeAt(at) === 0x6e) {
      this.errorJson = 'null';
      at = this.word(at, 'null');
    } else {
      this.expect(at, 0x22);
      const end = closingQuote(text, at + 1);
      if (end === -1) this.malformed(at);
      this.errorJson = text.slice(at, end + 1);
      at = end + 1;
    }
    this.expect(at++, 0x5d);
    const after = text.charCodeAt(at);
    if (after === 0x2c) at++;
    else if (after !== 0x5d) this.malformed(at);
    this.at = at;
    return true;
  }

  /** Whether the current row has scores (it did not fail). */
  get scored(): boolean {
    return this.count >= 0;
  }

  /**
   * The index of the current row's most probable score, the first of equals (as bestLabelIndex
   * picks it, a null score counting as 0). Two plain fractions (`0.` and digits) are compared as
   * text (plainGreater): parsing every score (Number of up to 17 digits) was half of reading a row.
   * For the shortest forms jsonNumber writes, text order is numeric order, and workers store every
   * fresh score so. A cache hit is stored as its entry spelled it only when no two of its scores
   * are equal (copyableJson in prediction-cache.ts), so two spellings of one number (0.1 and
   * 0.10000000000000001) never meet here; trailing zeros are allowed for.
   */
  bestIndex(): number {
    const { text, starts, ends, plain } = this;
    let best = 0;
    for (let i = 1; i < this.count; i++) {
      const greater = plain[i] && plain[best] ? plainGreater(text, starts[i], ends[i], starts[best], ends[best]) : this.value(i) > this.value(best);
      if (greater) best = i;
    }
    return best;
  }

  private value(i: number): number {
    const score = this.text.slice(this.starts[i], this.ends[i]);
    return score === 'null' ? 0 : Number(score);
  }

  /** Score `i` as JSON writes it: its stored text, or null past the stored ones. */
  jsonScore(i: number): string {
    return i < this.count ? this.text.slice(this.starts[i], this.ends[i]) : 'null';
  }

  /** Score `i` as a CSV cell: its stored text, empty for null or past the stored ones. */
  csvScore(i: number): string {
    const score = i < this.count ? this.text.slice(this.starts[i], this.ends[i]) : 'null';
    return score === 'null' ? '' : score;
  }

  /**
   * The CSV cells of scores 0 to `labels` - 1 joined by commas, cut out of the text at once, where
   * they stand exactly so: when the row has that many scores and none is null. Null otherwise
   * (the caller joins csvScore of each).
   */
  csvScoresAsStored(labels: number): string | null {
    return labels > 0 && this.count === labels && !this.someNull ? this.text.slice(this.starts[0], this.ends[labels - 1]) : null;
  }

  /** The current row's error (null when it has none). */
  get error(): string | null {
    return this.errorJson === 'null' ? null : (JSON.parse(this.errorJson) as string);
  }

  private word(at: number, word: string): number {
    if (!this.text.startsWith(word, at)) this.malformed(at);
    return at + word.length;
  }

  private expect(at: number, code: number): void {
    if (this.text.charCodeAt(at) !== code) this.malformed(at);
  }

  private malformed(at: number): never {
    throw new Error(`stored outcomes are malformed at character ${at}: ${JSON.stringify(this.text.slice(Math.max(0, at - 20), at + 20))}`);
  }
}

/**
 * Where the JSON number that begins at `from` ends (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`,
 * what jsonNumber writes for a finite number), or -1 when none begins there. Checked as the
 * characters are scanned: a regular expression on each score's slice cost a download more.
 */
function jsonNumberEnd(text: string, from: number): number {
  let at = from;
  if (text.charCodeAt(at) === 0x2d) at++;
  if (text.charCodeAt(at) === 0x30) at++;
  else if (isNonZeroDigit(text.charCodeAt(at))) at = digitsEnd(text, at + 1);
  else return -1;
  if (text.charCodeAt(at) === 0x2e) {
    if (!isDigit(text.charCodeAt(at + 1))) return -1;
    at = digitsEnd(text, at + 2);
  }
  const e = text.charCodeAt(at);
  if (e === 0x65 || e === 0x45) {
    at++;
    const sign = text.charCodeAt(at);
    if (sign === 0x2b || sign === 0x2d) at++;
    if (!isDigit(text.charCodeAt(at))) return -1;
    at = digitsEnd(text, at + 1);
  }
  return at;
}

/**
 * Whether the plain fraction (`0.` and digits) at `text[a, aEnd)` is greater than the one at
 * `text[b, bEnd)`: the first digit that differs decides, as in text order, except that digits one
 * has past the other's end count only if one is not 0 (0.50 equals 0.5; jsonNumber never writes
 * the 0, another cache writer might).
 */
function plainGreater(text: string, a: number, aEnd: number, b: number, bEnd: number): boolean {
  const shorter = Math.min(aEnd - a, bEnd - b);
  for (let i = 2; i < shorter; i++) {
    const difference = text.charCodeAt(a + i) - text.charCodeAt(b + i);
    if (difference !== 0) return difference > 0;
  }
  for (let at = a + shorter; at < aEnd; at++) if (text.charCodeAt(at) !== 0x30) return true;
  return false;
}

function digitsEnd(text: string, from: number): number {
  let at = from;
  while (isDigit(text.charCodeAt(at))) at++;
  return at;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function isNonZeroDigit(code: number): boolean {
  return code >= 0x31 && code <= 0x39;
}

/** Where the JSON string that begins before `from` ends: its first quote not escaped by a backslash; -1 if none. */
function closingQuote(text: string, from: number): number {
  for (let quote = text.indexOf('"', from); quote !== -1; quote = text.indexOf('"', quote + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote;
  }
  return -1;
}
