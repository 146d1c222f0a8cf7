import { StringDecoder } from 'node:string_decoder';
import { CsvError, parse } from 'csv-parse/sync';
import { ErrorCodes, userError } from '../errors';
import { csvFields, CsvRecordSplitter, RecordKind } from '../formats/csv-records';
import type { InputRow } from './batch-types';
import { shortened } from './quote-input';
import { checkHeader, joinedText, type ColumnOptions, type CsvInput } from './row-sources';

/**
 * How Sift reads a CSV upload, with csv-parse's options (the command line reads its input files
 * the same way): a byte-order mark dropped, lines ending with LF or CRLF (a bare CR is part of a
 * field, as it always was for the byte limit on rows, row-limit.ts, and for JSON Lines), empty
 * lines skipped. Named rather than discovered: csv-parse looks for the line end with three Buffer
 * allocations a byte until it finds one.
 */
export const UPLOAD_CSV_OPTIONS = { bom: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n'] };

/** Where csv-parse's line count stands at a record: every CR and LF counts, but a CRLF line end counts once. */
function lineBreaks(text: string): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count++;
  for (let at = text.indexOf('\r'); at !== -1; at = text.indexOf('\r', at + 1)) count++;
  return count;
}

/** Pieces of the upload as text (bytes decoded as UTF-8, a character split between pieces kept whole). */
async function* texts(input: CsvInput): AsyncGenerator<string> {
  if (typeof input === 'string') {
    yield input;
    return;
  }
  const decoder = new StringDecoder('utf8');
  for await (const piece of input) yield typeof piece === 'string' ? piece : decoder.write(piece);
  const rest = decoder.end();
  if (rest !== '') yield rest;
}

/** The header once read: its raw text and line breaks (csv-parse's count), and where the text and id are. */
type Header = { raw: string; breaks: number; text: number[]; id: number };

/**
 * Rows of a CSV document with a header row, streamed. Records are split and their fields read by
 * CsvRecordSplitter and csvFields, several times faster than csv-parse. A record that csv-parse
 * might refuse goes to csv-parse alone (csvParseRecord), so the error, its message and its line
 * are csv-parse's own, as when csv-parse read whole uploads: one the splitter finds malformed (a
 * stray quote, another number of fields than the header, a quote never closed), and, with
 * `maxRowBytes`, one that may hold more bytes than that, finished or still open. A header without
 * the text column is the caller's error, naming what was found; a malformed record is
 * MALFORMED_CSV, naming the line; a record longer than `maxRowBytes` (one whose quoted fields span
 * lines included) is ROW_TOO_LARGE. Without `maxRowBytes`, records may have any length.
 */
export async function* csvRows(input: CsvInput, options: ColumnOptions, maxRowBytes?: number): AsyncGenerator<InputRow[]> {
  const splitter = new CsvRecordSplitter();
  let header: Header | null = null;
  // csv-parse's line count where the next record begins.
  let line = 1;
  let index = 0;
  // A UTF-16 code unit is at most 3 bytes of UTF-8: a record shorter than this holds fewer bytes than the limit.
  const surelyFits = maxRowBytes === undefined ? Infinity : Math.floor(maxRowBytes / 3);
  // csv-parse counts a record's field bytes, never more than its bytes: a record of at most
  // maxRowBytes bytes is not refused for its size (csv-parse reads a megabyte 20 times slower than csvFields).
  const mayBeTooLarge = (record: string) => record.length > surelyFits && Buffer.byteLength(record) > maxRowBytes!;
  // How long the open record may grow before csv-parse looks at it again.
  let nextOpenCheck = maxRowBytes ?? Infinity;
  const rowsOf = (records: string[], kinds: RecordKind[], emptyBefore: number[], lastEndsInput = false): InputRow[] => {
    const rows: InputRow[] = [];
    for (let r = 0; r < records.length; r++) {
      const record = records[r];
      line += emptyBefore[r];
      const lineEnd = !(lastEndsInput && r === records.length - 1);
      const fields = kinds[r] === RecordKind.MALFORMED || mayBeTooLarge(record) ? csvParseRecord(header, line, record, lineEnd, maxRowBytes) : csvFields(record);
      if (header === null) {
        header = { raw: record, breaks: lineBreaks(record), ...checkHeader(fields, options) };
      } else {
        const { text, id } = header;
        rows.push({ index: index++, id: id < 0 ? null : fields[id], text: text.length === 1 ? fields[text[0]] : (joinedText(text.map((i) => fields[i])) ?? '') });
      }
      line += lineBreaks(record) + 1;
    }
    return rows;
  };
  for await (const text of texts(input)) {
    const records: string[] = [];
    const kinds: RecordKind[] = [];
    const emptyBefore: number[] = [];
    splitter.push(text, records, kinds, emptyBefore);
    const rows = rowsOf(records, kinds, emptyBefore);
    // A record still open past the limit (a quote never closed, say): csv-parse says whether what
    // there is of it is refused yet; past a hard bound it is refused anyway, so memory stays bounded.
    if (maxRowBytes !== undefined) {
      const open = splitter.openLength;
      if (open <= maxRowBytes) nextOpenCheck = maxRowBytes;
      else if (open > nextOpenCheck) {
        checkOpenRecord(header, line, splitter.openRecord(), maxRowBytes, open > openRecordBound(maxRowBytes));
        nextOpenCheck = open + maxRowBytes / 2;
      }
    }
    if (rows.length > 0) yield rows;
  }
  const records: string[] = [];
  const kinds: RecordKind[] = [];
  const emptyBefore: number[] = [];
  splitter.end(records, kinds, emptyBefore);
  const rows = rowsOf(records, kinds, emptyBefore, true);
  if (rows.length > 0) yield rows;
}

/**
 * The fields of one record as csv-parse reads it at `line` after `header` (null: the record is the
 * header), or csv-parse's error for it. csv-parse reads the header and the record alone, with a
 * line end after it unless it ended the input: the same number of fields to expect, and line
 * numbers that differ from the file's by a known offset, put back into the error.
 */
function csvParseRecord(header: Header | null, line: number, record: string, lineEnd: boolean, maxRowBytes: number | undefined): string[] {
  let parsed: string[][];
  try {
    parsed = parse(afterHeader(header, lineEnd ? `${record}\r\n` : record), { ...UPLOAD_CSV_OPTIONS, max_record_size: maxRowBytes ?? 0 }) as string[][];
  } catch (error) {
    throw csvParseFailure(error, line - startLine(header), maxRowBytes);
  }
  return parsed[parsed.length - 1];
}

/**
 * A document of `header` (if any) and `text` after it, for csv-parse to read alone. Line ends are
 * CRLF, not LF: a record may end with a CR that was not part of its line end (`"a"\r\r\n`).
 */
function afterHeader(header: Header | null, text: string): string {
  return header === null ? text : `${header.raw}\r\n${text}`;
}

/** csv-parse's line count at the record after `header`, in a document of `afterHeader`. */
function startLine(header: Header | null): number {
  return header === null ? 1 : 2 + header.breaks;
}

/** csv-parse's errors that reading a record cut short makes by itself: they say nothing of the record. */
const CUT_SHORT = new Set(['CSV_QUOTE_NOT_CLOSED', 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH']);

/**
 * Characters an open record may reach before it is refused whatever csv-parse says: csv-parse
 * counts a record's field bytes, not its separators and quotes, so a record of mostly those could
 * otherwise grow without end.
 */
function openRecordBound(maxRowBytes: number): number {
  return 4 * maxRowBytes + 65_536;
}

/**
 * A record still open, with more than `maxRowBytes` characters so far (`open`, from `line`):
 * throws csv-parse's error for what there is of it (too large by its count, or a stray quote
 * before that), and Sift's own ROW_TOO_LARGE when it is past `openRecordBound` (`beyondBound`).
 */
function checkOpenRecord(header: Header | null, line: number, open: { text: string; emptyBefore: number }, maxRowBytes: number, beyondBound: boolean): void {
  const start = line + open.emptyBefore;
  // A CR last may be the first half of a CRLF line end: csv-parse waits for the next character before it counts it in.
  const text = open.text.endsWith('\r') ? open.text.slice(0, -1) : open.text;
  try {
    parse(afterHeader(header, text), { ...UPLOAD_CSV_OPTIONS, max_record_size: maxRowBytes });
  } catch (error) {
    if (error instanceof CsvError && !CUT_SHORT.has(error.code)) throw csvParseFailure(error, start - startLine(header), maxRowBytes);
  }
  if (beyondBound) throw rowTooLarge(maxRowBytes, start + lineBreaks(open.text));
}

function rowTooLarge(maxRowBytes: number | undefined, line: number | null): unknown {
  return userError(
    ErrorCodes.ROW_TOO_LARGE,
    `A CSV record grows past ${maxRowBytes} bytes at line ${line ?? '?'}, the most SIFT_MAX_ROW_BYTES lets one row have. A quoted field may hold line breaks: check for a quote that is never closed, or split that row.`,
    { line, maxRowBytes },
  );
}

/** csv-parse's error as Sift's, its line numbers moved on by `offset`: ROW_TOO_LARGE or MALFORMED_CSV, naming the line. */
function csvParseFailure(error: unknown, offset: number, maxRowBytes: number | undefined): unknown {
  const cause = error as Error & { code?: string; lines?: number };
  const line = cause.lines === undefined ? null : cause.lines + offset;
  if (cause.code === 'CSV_MAX_RECORD_SIZE') return rowTooLarge(maxRowBytes, line);
  // Every csv-parse error, INVALID_OPENING_QUOTE too (the one code without the CSV_ prefix).
  if (cause instanceof CsvError) {
    // Its message names the line once (" line N"; before it, at most one character of the input).
    const message = cause.message.replace(/^Invalid Record Length: /, '').replace(/ line (\d+)/, (_, n: string) => ` line ${Number(n) + offset}`);
    // csv-parse's message may quote the field it stopped in, which may be long.
    return userError(ErrorCodes.MALFORMED_CSV, `The CSV is malformed at line ${line ?? '?'}: ${shortened(message)}. Check quoting and the number of fields on that line.`);
  }
  return error;
}
