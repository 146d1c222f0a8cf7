/**
 * Reads a chunk's outcomes from their stored text (row-codec.ts's encodeChunkOutcomes) one row at
 * a time, without JSON.parse: each score stays the text jsonNumber wrote, which is what a CSV cell
 * (String) and JSON write for it, so a download copies it instead of parsing and formatting it
 * again (number formatting and the parse's arrays were most of a download's CPU).
 *
 * The text is `[` outcomes separated by `,` `]`; an outcome is `[scores,cached,error]` with scores
 * `null` or `[n,...]` (each a jsonNumber: a JSON number or `null`), cached `0` or `1`, error `null`
 * or a JSON string. Anything else is a stored value this release did not write: an error, not a
 * guess. (A cached value goes into the outcomes as the cache holds it, which only encodeScores
 * writes; a value that is not JSON numbers fails the download here rather than make bad lines.)
 */

/** A JSON number as jsonNumber writes one (String of a finite number), or `null`. */
const SCORE = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|null)$/;
export class OutcomeReader {
  /** Where the next outcome starts. */
  private at = 1;
  private readonly scoreTexts: string[] = [];
  private readonly scoreValues: (number | null)[] = [];
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
      if (text.charCodeAt(at) === 0x5d) at++;
      else {
        for (;;) {
          let end = at;
          let code = text.charCodeAt(end);
          while (code !== 0x2c && code !== 0x5d) {
            if (end >= text.length) this.malformed(end);
            code = text.charCodeAt(++end);
          }
          const score = text.slice(at, end);
          if (!SCORE.test(score)) this.malformed(at);
          this.scoreTexts[count] = score;
          this.scoreValues[count] = score === 'null' ? null : Number(score);
          count++;
          at = end + 1;
          if (code === 0x5d) break;
        }
      }
      this.count = count;
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

  /** The current row's scores as numbers (null where one was not finite), for bestLabelIndex. */
  get scores(): readonly (number | null)[] {
    this.scoreValues.length = Math.max(this.count, 0);
    return this.scoreValues;
  }

  /** Score `i` as JSON writes it: its stored text, or null past the stored ones. */
  jsonScore(i: number): string {
    return i < this.count ? this.scoreTexts[i] : 'null';
  }

  /** Score `i` as a CSV cell: its stored text, empty for null or past the stored ones. */
  csvScore(i: number): string {
    const score = i < this.count ? this.scoreTexts[i] : 'null';
    return score === 'null' ? '' : score;
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

/** Where the JSON string that begins before `from` ends: its first quote not escaped by a backslash; -1 if none. */
function closingQuote(text: string, from: number): number {
  for (let quote = text.indexOf('"', from); quote !== -1; quote = text.indexOf('"', quote + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote;
  }
  return -1;
}
