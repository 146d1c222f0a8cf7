/**
 * CSV records split from streamed text without parsing their fields, for writers that copy a
 * record as it stands when that is what `csvText` would write for it anyway (the command line's
 * CSV to CSV merge, and the API reading uploads, csv-rows.ts). Records are split as csv-parse
 * splits them with `bom`, `skip_empty_lines` and line ends LF or CRLF (csv-rows.ts's
 * UPLOAD_CSV_OPTIONS): a line end outside quotes ends a record, a bare CR does not, empty lines are
 * skipped, a leading byte-order mark is dropped.
 */

/** How a record may be written back. */
export const RecordKind = {
  /** Its text is exactly what csvText writes for its fields: copy it. */
  VERBATIM: 0,
  /** Well formed, but written differently (a cell to neutralize, quotes to add or drop): read its fields with csvFields. */
  REWRITE: 1,
  /** Not CSV as csv-parse reads it (a stray quote, another number of fields than the first record): let csv-parse say why. */
  MALFORMED: 2,
} as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;

/**
 * A field whose first character is one of these may be a formula to neutralize (`=`, `+`, `-`,
 * `@`, tab, CR): such records are rewritten through csvCell, which decides. "-3" is a false
 * positive that costs only time.
 */
function mayBeFormula(c: number): boolean {
  return c === 61 || c === 43 || c === 45 || c === 64 || c === 9 || c === CR;
}

/**
 * Runs of characters that change nothing but the position, skipped in one native scan each (a
 * sticky regular expression, its lastIndex read back) rather than looked at one by one in the
 * loop: several times faster on the texts of a typical file. In a quoted field whose quoting no
 * longer matters (it needs its quotes already, or the record is rewritten anyway) only a quote
 * stops the run; otherwise a separator or line break does too.
 */
const QUOTED_RUN = /[^"]*/y;
const QUOTED_PLAIN_RUN = /[^",\r\n]*/y;
const UNQUOTED_RUN = /[^,\r\n"]*/y;

/** The end of the run `run` matches from `at`. */
function runEnd(run: RegExp, text: string, at: number): number {
  run.lastIndex = at;
  run.test(text);
  return run.lastIndex;
}

const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
/** A quote inside a quoted field: the next character says whether it closed the field or was doubled. */
const QUOTED_QUOTE = 3;
/** Just after a closing quote, at a CR: only LF may follow. */
const AFTER_CLOSE = 4;

/**
 * Splits CSV text, given piece by piece, into records (without their line ends) and tells of each
 * whether it can be copied as it stands. Linear in the text: each character is looked at once,
 * and a record that spans pieces is held as its pieces until it ends.
 */
export class CsvRecordSplitter {
  private state = FIELD_START;
  private kind: RecordKind = RecordKind.VERBATIM;
  /** The quoted field being read holds a separator, a quote or a line break (so csvText quotes it too). */
  private needsQuotes = false;
  /** At the first character of a quoted field's content. */
  private quotedFirst = false;
  /** The previous character was a CR outside quotes: a LF now ends the record. */
  private pendingCr = false;
  private fields = 1;
  /** The field count of the first record (the header), which every record must have. */
  private expected = -1;
  /** Pieces of the current record from earlier texts. */
  private held: string[] = [];
  /** Characters in `held`. */
  private heldLength = 0;
  /** Empty lines skipped since the last record. */
  private emptyLines = 0;
  private first = true;

  /** Characters of the record not finished yet (held from earlier texts), to bound it. */
  get openLength(): number {
    return this.heldLength;
  }

  /** The record not finished yet as it stands (its text held so far), and the empty lines skipped before it. */
  openRecord(): { text: string; emptyBefore: number } {
    const text = this.held.join('');
    this.held = text === '' ? [] : [text];
    return { text, emptyBefore: this.emptyLines };
  }

  /**
   * Reads `text`, the next piece of the file, and appends the records it completes to `records`
   * and their kinds to `kinds`; with `emptyBefore`, for each record the empty lines skipped just
   * before it (to number lines as csv-parse does).
   */
  push(text: string, records: string[], kinds: RecordKind[], emptyBefore?: number[]): void {
    let start = 0;
    // (An empty piece, such as a decoder's for bytes that end inside a character, is not the start.)
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) start = 1;
    }
    // The state in locals for the loop (a field read and written each character costs several times more), written back at the end.
    let state = this.state;
    let kind: RecordKind = this.kind;
    let needsQuotes = this.needsQuotes;
    let quotedFirst = this.quotedFirst;
    let pendingCr = this.pendingCr;
    let fields = this.fields;
    const n = text.length;
    for (let i = start; i < n; i++) {
      if (state === QUOTED && !quotedFirst) {
        i = runEnd(needsQuotes || kind !== RecordKind.VERBATIM ? QUOTED_RUN : QUOTED_PLAIN_RUN, text, i);
        if (i === n) break;
      } else if (state === UNQUOTED && !pendingCr) {
        i = runEnd(UNQUOTED_RUN, text, i);
        if (i === n) break;
      }
      const c = text.charCodeAt(i);
      // A line end outside quotes ends the record (after a CR: CRLF, the CR left out too). After a
      // closing quote the field is closed first: csvText quotes it only when its content needs quotes.
      if (c === LF && state !== QUOTED) {
        if (state === QUOTED_QUOTE && !needsQuotes && kind === RecordKind.VERBATIM) kind = RecordKind.REWRITE;
        this.finish(text, start, pendingCr ? i - 1 : i, fields, kind, records, kinds, emptyBefore);
        state = FIELD_START;
        kind = RecordKind.VERBATIM;
        fields = 1;
        pendingCr = false;
        start = i + 1;
        continue;
      }
      if (pendingCr) {
        pendingCr = false;
        // A bare CR is part of the field: csvText would quote it (or neutralize it at a field's start).
        const bare = state === AFTER_CLOSE ? RecordKind.MALFORMED : RecordKind.REWRITE;
        if (bare > kind) kind = bare;
        state = UNQUOTED;
      }
      if (state === UNQUOTED) {
        if (c === COMMA) {
          fields++;
          state = FIELD_START;
        } else if (c === CR) {
          pendingCr = true;
        } else if (c === QUOTE) {
          kind = RecordKind.MALFORMED;
        }
      } else if (state === FIELD_START) {
        if (c === QUOTE) {
          state = QUOTED;
          quotedFirst = true;
          needsQuotes = false;
        } else if (c === COMMA) {
          fields++;
        } else if (c === CR) {
          pendingCr = true;
        } else {
          if (kind === RecordKind.VERBATIM && mayBeFormula(c)) kind = RecordKind.REWRITE;
          state = UNQUOTED;
        }
      } else if (state === QUOTED) {
        if (c === QUOTE) {
          state = QUOTED_QUOTE;
        } else {
          if (quotedFirst && kind === RecordKind.VERBATIM && mayBeFormula(c)) kind = RecordKind.REWRITE;
          if (c === COMMA || c === LF || c === CR) needsQuotes = true;
        }
        quotedFirst = false;
      } else {
        // QUOTED_QUOTE
        if (c === QUOTE) {
          needsQuotes = true;
          state = QUOTED;
          continue;
        }
        // The field closed: csvText quotes it only when its content needs quotes ("" or "a" are written bare).
        if (!needsQuotes && kind === RecordKind.VERBATIM) kind = RecordKind.REWRITE;
        if (c === COMMA) {
          fields++;
          state = FIELD_START;
        } else if (c === CR) {
          state = AFTER_CLOSE;
          pendingCr = true;
        } else {
          kind = RecordKind.MALFORMED;
          state = UNQUOTED;
        }
      }
    }
    if (start < n) {
      this.held.push(text.slice(start));
      this.heldLength += n - start;
    }
    this.state = state;
    this.kind = kind;
    this.needsQuotes = needsQuotes;
    this.quotedFirst = quotedFirst;
    this.pendingCr = pendingCr;
    this.fields = fields;
  }

  /** The input ended: appends its last record, one without a line end. */
  end(records: string[], kinds: RecordKind[], emptyBefore?: number[]): void {
    if (this.state === QUOTED) this.notVerbatim(RecordKind.MALFORMED);
    if (this.pendingCr) {
      // A CR at the very end is part of the last field.
      this.pendingCr = false;
      this.notVerbatim(this.state === AFTER_CLOSE ? RecordKind.MALFORMED : RecordKind.REWRITE);
      this.state = UNQUOTED;
    }
    if (this.state === QUOTED_QUOTE && !this.needsQuotes) this.notVerbatim(RecordKind.REWRITE);
    this.finish('', 0, 0, this.fields, this.kind, records, kinds, emptyBefore);
    this.state = FIELD_START;
    this.kind = RecordKind.VERBATIM;
    this.fields = 1;
  }

  private notVerbatim(kind: RecordKind): void {
    if (kind > this.kind) this.kind = kind;
  }

  /** Ends the record that runs from the held pieces to `text[start, end)`. */
  private finish(text: string, start: number, end: number, fields: number, kind: RecordKind, records: string[], kinds: RecordKind[], emptyBefore: number[] | undefined): void {
    let record: string;
    if (this.held.length === 0) {
      record = text.slice(start, end);
    } else {
      // A CRLF split between two pieces: the CR is the last character held.
      record = end < start ? this.held.join('').slice(0, -1) : this.held.join('') + text.slice(start, end);
      this.held = [];
      this.heldLength = 0;
    }
    // An empty line (no character, not even a quoted empty field) is no record, as csv-parse's skip_empty_lines has it.
    if (record === '') {
      this.emptyLines++;
      return;
    }
    emptyBefore?.push(this.emptyLines);
    this.emptyLines = 0;
    if (this.expected === -1) this.expected = fields;
    else if (fields !== this.expected) kind = RecordKind.MALFORMED;
    records.push(record);
    kinds.push(kind);
  }
}

/**
 * The fields of a record the splitter found well formed (VERBATIM or REWRITE), as csv-parse reads
 * them: a quoted field without its quotes and with its doubled quotes single.
 */
export function csvFields(record: string): string[] {
  const fields: string[] = [];
  const n = record.length;
  let i = 0;
  for (;;) {
    if (record.charCodeAt(i) === QUOTE) {
      let value = '';
      let from = i + 1;
      for (;;) {
        const quote = record.indexOf('"', from);
        value += record.slice(from, quote);
        if (record.charCodeAt(quote + 1) === QUOTE) {
          value += '"';
          from = quote + 2;
          continue;
        }
        i = quote + 1;
        break;
      }
      fields.push(value);
    } else {
      let end = record.indexOf(',', i);
      if (end === -1) end = n;
      fields.push(record.slice(i, end));
      i = end;
    }
    if (i >= n) return fields;
    i++; // the separator
  }
}

/** The cells of a well-formed record as they stand in it (quotes and doubled quotes kept). */
export function csvRawCells(record: string): string[] {
  const cells: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < record.length; i++) {
    const c = record.charCodeAt(i);
    // A doubled quote inside a quoted cell turns `quoted` off and on again.
    if (c === QUOTE) quoted = !quoted;
    else if (c === COMMA && !quoted) {
      cells.push(record.slice(start, i));
      start = i + 1;
    }
  }
  cells.push(record.slice(start));
  return cells;
}
