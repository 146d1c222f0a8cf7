import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { constants, createWriteStream, lstatSync, readlinkSync, realpathSync, statSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { access, open, rename, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { textLines } from '../batches/text-lines';
import { csvCell, csvText, type CsvValue } from '../formats/csv';
import { csvFields, csvRawCells, RecordKind } from '../formats/csv-records';
import { numberTexts } from '../formats/json-number-texts';
import { CliError, ExitCodes } from './cli-errors';
import { count } from './counts';
import type { FileFormat, InputFile, InputRecord } from './input-files';
import { csvInputRecords, inputFields, inputRecords, jsonLines } from './input-files';

/** One row of `GET /batches/{id}/results.jsonl`. */
export type ResultRow = Record<string, CsvValue> & { index: number };

/** The fields a result adds to its input row (everything but the position, id and text it echoes). */
function addedFields(row: ResultRow): string[] {
  return Object.keys(row).filter((key) => key !== 'index' && key !== 'id' && key !== 'text');
}

/** A results download that broke off (the server stopped or restarted mid-answer): download it again. */
export class ResultsInterrupted extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ResultsInterrupted';
  }
}

/**
 * The lines of a results.jsonl download as the server wrote them, several at a time. A body that
 * breaks off, or ends inside a line (every line the server writes ends with a line feed), throws
 * ResultsInterrupted.
 */
async function* resultLines(body: Readable): AsyncGenerator<string[]> {
  const source = { ended: false, endsLine: true };
  async function* pieces(): AsyncGenerator<string> {
    // setEncoding decodes UTF-8 across chunk boundaries.
    for await (const piece of body.setEncoding('utf8') as AsyncIterable<string>) {
      if (piece !== '') source.endsLine = piece.endsWith('\n');
      yield piece;
    }
    source.ended = true;
  }
  const lines = textLines(pieces())[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<string[]>;
    try {
      next = await lines.next();
    } catch (error) {
      throw new ResultsInterrupted(`the download of the results broke off (${(error as Error).message})`, { cause: error });
    }
    if (next.done) return;
    // textLines gives what follows the last line feed once the text ends: part of a line.
    if (source.ended && !source.endsLine) throw new ResultsInterrupted('the download of the results broke off (it ended inside a row)');
    const kept = next.value.filter((line) => line !== '');
    if (kept.length > 0) yield kept;
  }
}

/**
 * Result rows from a results.jsonl download, in input order, several at a time. A body that breaks
 * off (or ends in the middle of a line) throws ResultsInterrupted.
 */
export async function* resultRows(body: Readable): AsyncGenerator<ResultRow[]> {
  for await (const lines of resultLines(body)) yield lines.map(parseResultLine);
}

function parseResultLine(line: string): ResultRow {
  try {
    return JSON.parse(line) as ResultRow;
  } catch (error) {
    throw new ResultsInterrupted(`the download of the results broke off (${(error as Error).message})`, { cause: error });
  }
}

/** A results.jsonl line's index: its first member, a number Sift wrote (`{"index":N,...`). */
function indexOfLine(line: string): number {
  if (!line.startsWith('{"index":')) return parseResultLine(line).index;
  const comma = line.indexOf(',', 9);
  return Number(line.slice(9, comma === -1 ? line.length - 1 : comma));
}

/**
 * A results.jsonl line's members after its index, as the server wrote them (`"label":...,"error":null`);
 * null for a line of another shape than `{"index":N,` members `}`.
 */
function membersAfterIndex(line: string): string | null {
  const comma = line.indexOf(',', 9);
  return comma !== -1 && line.startsWith('{"index":') && line.endsWith('}') ? line.slice(comma + 1, line.length - 1) : null;
}

/**
 * Writes text to a file, waiting when the disk is slower than the input (flat memory). A new file
 * or a regular one (also through a symbolic link) is written as `<file>.<pid>-<random>.partial` and renamed onto
 * it when closed, so OUTPUT is never half written: it is written while a batch runs, and a run
 * left, cancelled half way through the download or killed leaves OUTPUT as it was. Anything else
 * (a device, a pipe, `/dev/stdout`) is written in place, and opened only when the first text
 * comes, so a download that fails before any text leaves it untouched.
 */
class FileSink {
  private out: WriteStream | null = null;
  private readonly target: OutputTarget;
  /**
   * Where the text goes until it is whole: a name of this run's own beside OUTPUT, created anew
   * (`wx`). Two runs writing one OUTPUT at once each replace it whole; with one shared
   * `OUTPUT.partial`, the first rename moved the file the other was still writing, and OUTPUT
   * held both runs' rows interleaved while one of them reported success.
   */
  private readonly partial: string;

  constructor(private readonly file: string) {
    this.target = outputTarget(file);
    this.partial = partialPath(this.target.path);
  }

  /** Whether OUTPUT is written in place and has been opened: it cannot be written again from the start. */
  get spoiled(): boolean {
    return this.target.inPlace && this.out !== null;
  }

  private stream(): WriteStream {
    if (!this.out) {
      const out = this.target.inPlace ? createWriteStream(this.target.path) : createWriteStream(this.partial, { flags: 'wx' });
      // Kept for the next write or the close to report: an 'error' with no listener ends the process.
      out.on('error', (error) => (this.failure ??= error));
      this.out = out;
    }
    if (this.failure) throw this.failed();
    return this.out;
  }

  private failure: Error | null = null;

  /** A failure to open or write OUTPUT (no such folder, no permission, a full disk) as the command's error. */
  private failed(): CliError {
    return new CliError(`Cannot write ${this.file}: ${this.failure!.message}.`, ExitCodes.BAD_INPUT, 'OUTPUT_FAILED');
  }

  async write(text: string): Promise<void> {
    if (text === '') return;
    const out = this.stream();
    if (!out.write(text)) await once(out, 'drain').catch(() => Promise.reject(this.failed()));
  }

  async close(): Promise<void> {
    const out = this.stream();
    out.end();
    await once(out, 'finish').catch(() => Promise.reject(this.failed()));
    if (this.target.inPlace) return;
    try {
      await rename(this.partial, this.target.path);
    } catch (error) {
      this.failure = error as Error;
      throw this.failed();
    }
  }

  /** Stops writing (the output is given up, or written again from scratch) and waits for the file to be closed and removed. */
  async abandon(): Promise<void> {
    if (this.out && !this.out.closed) {
      const closed = once(this.out, 'close').catch(() => undefined);
      this.out.destroy();
      await closed;
    }
    if (!this.target.inPlace) await rm(this.partial, { force: true });
  }
}

/** Where OUTPUT's text goes: the file itself (a link resolved), and whether it is written in place. */
interface OutputTarget {
  path: string;
  inPlace: boolean;
}

/**
 * A path under /dev or /proc (`/dev/stdout`, `/dev/fd/3`) is written in place, as is anything
 * that is not a regular file once links are followed, or a link to nothing. A regular file, or a
 * path where nothing is yet, is replaced whole; through a link, its target is (the link stays).
 */
function outputTarget(file: string): OutputTarget {
  if (/^\/(dev|proc)\//.test(path.resolve(file))) return { path: file, inPlace: true };
  let resolved: string;
  try {
    resolved = realpathSync(file);
  } catch {
    // Nothing there yet (a new file), or a link to nothing (written through, in place).
    return { path: file, inPlace: isLink(file) };
  }
  return { path: resolved, inPlace: !statSync(resolved).isFile() };
}

function isLink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/** A name of this run's own beside `file`, for writing it whole before it takes `file`'s place. */
function partialPath(file: string): string {
  return `${file}.${process.pid}-${randomBytes(4).toString('hex')}.partial`;
}

/** Words for why a file could not be made, by its error's code. */
function cannotMake(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'its folder does not exist';
  if (code === 'EACCES' || code === 'EPERM') return 'no permission to create files in its folder';
  if (code === 'EROFS') return 'its folder is on a read-only file system';
  if (code === 'ENOSPC') return 'the disk is full';
  return message;
}

/**
 * Checks, before anything is uploaded, that OUTPUT can be written: a file replaced whole needs a
 * file of its own beside it (made and removed here, as the run will make it), and a folder is no
 * OUTPUT. Before, a missing folder or no permission surfaced only once the batch had run (an
 * operator review: 400,000 rows labelled, then ENOENT naming the .partial file).
 */
export async function checkOutputWritable(file: string): Promise<void> {
  const fail = (why: string) => new CliError(`Cannot write ${file}: ${why}. Nothing was uploaded; give an OUTPUT that can be written.`, ExitCodes.BAD_INPUT, 'OUTPUT_FAILED');
  const target = outputTarget(file);
  if (target.inPlace) {
    let folder = false;
    try {
      folder = statSync(target.path).isDirectory();
    } catch {
      // A link to nothing: written through, so the folder of what it points at must be there.
      if (isLink(file)) {
        const pointsAt = path.resolve(path.dirname(file), readlinkSync(file));
        try {
          await access(path.dirname(pointsAt), constants.W_OK);
        } catch (error) {
          throw fail(`it is a link to ${pointsAt}, and ${cannotMake(error)}`);
        }
      }
    }
    if (folder) throw fail('it is a folder; name a file in it');
    return;
  }
  const probe = partialPath(target.path);
  try {
    await (await open(probe, 'wx')).close();
  } catch (error) {
    throw fail(cannotMake(error));
  }
  await rm(probe, { force: true });
}

/** Whether `sift batch` writes OUTPUT in place (see outputTarget): then it cannot write it again from the start. */
export function writtenInPlace(file: string): boolean {
  return outputTarget(file).inPlace;
}

/** Turns records into the text of one output format, header (or opening bracket) first. */
class RecordWriter {
  private wrote = 0;

  constructor(private readonly sink: FileSink, private readonly format: FileFormat) {}

  async begin(header: string[] | null): Promise<void> {
    if (this.format === 'csv' && header) await this.sink.write(csvText([header]));
    if (this.format === 'json') await this.sink.write('[');
  }

  async rows(rows: CsvValue[][] | Record<string, unknown>[]): Promise<void> {
    if (this.format === 'csv') {
      // Cell by cell (csvCell is csvText's text for a cell in a row): csv-stringify's cost per row
      // was half of a JSON Lines to CSV merge.
      let text = '';
      for (const row of rows as CsvValue[][]) {
        for (let i = 0; i < row.length; i++) text += i === 0 ? csvCell(row[i]) : `,${csvCell(row[i])}`;
        text += '\r\n';
      }
      await this.sink.write(text);
      this.wrote += rows.length;
      return;
    }
    let text = '';
    for (const row of rows) {
      text += this.format === 'jsonl' ? `${JSON.stringify(row)}\n` : `${this.wrote === 0 ? '\n' : ',\n'}${JSON.stringify(row)}`;
      this.wrote++;
    }
    await this.sink.write(text);
  }

  /** JSON records already written as text (JSON Lines or the items of a JSON array). */
  async texts(texts: readonly string[]): Promise<void> {
    if (texts.length === 0) return;
    if (this.format === 'jsonl') await this.sink.write(`${texts.join('\n')}\n`);
    else await this.sink.write(`${this.wrote === 0 ? '\n' : ',\n'}${texts.join(',\n')}`);
    this.wrote += texts.length;
  }

  async end(): Promise<void> {
    if (this.format === 'json') await this.sink.write(this.wrote === 0 ? ']\n' : '\n]\n');
  }
}

/** The batch's results download, asked for as results.csv or results.jsonl (without the echoed id and text). */
export type ResultsDownload = (format: 'csv' | 'jsonl') => Promise<Readable>;

/**
 * The records of a results.csv download (its header first), several at a time, as the server
 * wrote them. A body that breaks off, or ends inside a record (every record the server writes
 * ends with CRLF), throws ResultsInterrupted.
 *
 * The server writes well-formed CSV, so a record ends at the first LF after which its quotes are
 * even in number (a quoted cell holds an even number: its two and each doubled one): found with
 * indexOf, which is several times faster than CsvRecordSplitter's look at every character, and
 * that splitter's checks are for a user's file, not for these rows.
 */
async function* csvResultRecords(body: Readable): AsyncGenerator<string[]> {
  const pieces = (body.setEncoding('utf8') as AsyncIterable<string>)[Symbol.asyncIterator]();
  // The start of a record not ended yet, from the previous piece.
  let carry = '';
  for (;;) {
    let next: IteratorResult<string>;
    try {
      next = await pieces.next();
    } catch (error) {
      throw new ResultsInterrupted(`the download of the results broke off (${(error as Error).message})`, { cause: error });
    }
    if (next.done) break;
    const text = carry === '' ? next.value : carry + next.value;
    const records: string[] = [];
    let start = 0;
    let quotes = 0;
    let quote = text.indexOf('"');
    for (let lf = text.indexOf('\n'); lf !== -1; lf = text.indexOf('\n', lf + 1)) {
      while (quote !== -1 && quote < lf) {
        quotes++;
        quote = text.indexOf('"', quote + 1);
      }
      if (quotes % 2 === 1) continue; // a line break inside a quoted cell
      const end = lf > start && text.charCodeAt(lf - 1) === 13 ? lf - 1 : lf;
      if (end > start) records.push(text.slice(start, end));
      start = lf + 1;
      quotes = 0;
    }
    carry = text.slice(start);
    if (records.length > 0) yield records;
  }
  if (carry !== '') throw new ResultsInterrupted('the download of the results broke off (it ended inside a row)');
}

/** A results.csv row's index: its first cell, a number Sift wrote (never quoted). */
function indexOfRow(row: string): number {
  const comma = row.indexOf(',');
  return Number(comma === -1 ? row : row.slice(0, comma));
}

/**
 * The rows of a results.csv download without its header, whose fields (index, the result fields;
 * id and text too from a server that ignores echo) go to `header` once read.
 */
async function* csvResultRows(records: AsyncIterable<string[]>, header: { fields: string[] | null }): AsyncGenerator<string[]> {
  for await (const batch of records) {
    if (header.fields === null) header.fields = csvFields(batch.shift()!);
    yield batch;
  }
}

/** What `writeMerged` wrote. */
export interface MergedOutput {
  rows: number;
  /** Rows that got a result from the download (all of them for a completed batch). */
  withResults: number;
  /** Put before every result field's name because the input already used one of them ('' when not needed). */
  resultPrefix: string;
  /** The input's names that the result fields would have taken. */
  clashes: string[];
}

/** Every name the input uses: the CSV header, or every key of every JSON record in first-seen order. */
async function inputNames(input: InputFile): Promise<string[]> {
  if (input.header) return input.header;
  const names = new Set<string>();
  for await (const records of inputRecords(input)) for (const record of records) for (const key of Object.keys(record)) names.add(key);
  return [...names];
}

/** A JSON value as a CSV cell: strings, numbers and booleans as they are, null or missing empty, objects and arrays as JSON text. */
function cellOf(value: unknown): CsvValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}

/**
 * Writes OUTPUT in `format` (OUTPUT's own, whatever the input's): every input column or field as
 * it was, then the fields the result adds (label, score, score_<label> for each label, cached,
 * error), row by row in input order. Both sides stream, so memory stays flat for CSV and JSON
 * Lines. Across formats: a CSV row becomes an object of its header's names (every value a
 * string); JSON records become CSV rows under every field name any record has, in first-seen
 * order (a missing or null field is an empty cell, an object or array its JSON text). A labelled
 * dataset often has a `label` column already: then every result field is named with a `sift_`
 * prefix, so no input value is overwritten and no header has a name twice.
 */
export async function writeMerged(input: InputFile, download: ResultsDownload, output: string, format: FileFormat, uploadedRows?: number): Promise<MergedOutput> {
  const names = await inputNames(input);
  const sink = new FileSink(output);
  try {
    const merged =
      input.format === 'csv' && format === 'csv'
        ? await mergeCsvInto(sink, names, input, csvResultRecords(await download('csv')))
        : await mergeInto(sink, names, input, resultLines(await download('jsonl')), format);
    // Checked before OUTPUT takes the place of what was there: INPUT read again must have the rows
    // the server counted at the upload, or rows would be added or lost without a word.
    if (uploadedRows !== undefined && merged.rows !== uploadedRows) {
      throw new CliError(
        `${input.path} has ${count(merged.rows)} rows now, but ${count(uploadedRows)} were uploaded: was the file changed while the batch ran? OUTPUT was not written; run the command again, or fetch the batch's results with \`sift results\`.`,
        ExitCodes.BAD_INPUT,
        'INPUT_CHANGED',
      );
    }
    await sink.close();
    return merged;
  } catch (error) {
    // Closed before anything else opens OUTPUT again (a download tried again from scratch).
    const spoiled = sink.spoiled;
    await sink.abandon();
    if (spoiled && !(error instanceof CliError)) {
      throw new CliError(
        `Writing ${output} failed part way (${(error as Error).message}); it is written in place (not a regular file), so it cannot be written again from the start. Fetch the results into a file with \`sift results\`.`,
        ExitCodes.SERVER_ERROR,
        'DOWNLOAD_FAILED',
      );
    }
    throw error;
  }
}

/**
 * The rows of a results download, looked up in input order (each input row once, in increasing
 * order): result objects from results.jsonl, or results.csv rows as text. `indexOf` reads a row's
 * input index.
 */
class ResultCursor<Row> {
  private rows: Row[] = [];
  private at = 0;
  private exhausted = false;
  private readonly source: AsyncIterator<Row[]>;

  constructor(results: AsyncIterable<Row[]>, private readonly indexOf: (row: Row) => number) {
    this.source = results[Symbol.asyncIterator]();
  }

  /** The row of input row `index`, null when it has none (a batch not completed), or undefined when the next rows must be read first. */
  now(index: number): Row | null | undefined {
    // Each row's index read once (a results.csv row's or results.jsonl line's text is scanned for it).
    for (; this.at < this.rows.length; this.at++) {
      const at = this.indexOf(this.rows[this.at]);
      if (at >= index) return at === index ? this.rows[this.at++] : null;
    }
    return this.exhausted ? null : undefined;
  }

  async resultAt(index: number): Promise<Row | null> {
    for (;;) {
      const row = this.now(index);
      if (row !== undefined) return row;
      const next = await this.source.next();
      if (next.done) this.exhausted = true;
      else {
        this.rows = next.value;
        this.at = 0;
      }
    }
  }
}

/** The result fields OUTPUT gets when the first input row has no result. */
const DEFAULT_ADDED = ['label', 'score', 'cached', 'error'];

/**
 * The `error` of an OUTPUT row the batch has no result for: a batch that ended CANCELLED or FAILED
 * before the row ran (or, fetched while it runs, had not reached it). Blank, such a row looked
 * like one labelled with nothing, and a script counting rows without an error counted it as a
 * success (an operator review: a cancelled run's 491,000 unlabelled rows).
 */
export const NOT_LABELLED = 'Not labelled: the batch ended (cancelled or failed) before this row ran, or had not reached it yet.';

/** An added field's value on a row without a result: NOT_LABELLED for `error`, else nothing. */
const unlabelled = (field: string) => (field === 'error' ? NOT_LABELLED : null);

/** The fields the results add and the names they take in OUTPUT. */
interface ResultColumns {
  added: string[];
  names: string[];
  prefix: string;
}

/**
 * The result fields are those of the first input row's result (every one has the same), or the
 * usual four when it has none (DEFAULT_ADDED); each is named with a `sift_` prefix as many times as it takes for
 * no name to be one the input has.
 */
function resultColumns(added: string[], taken: Set<string>): ResultColumns {
  let prefix = '';
  while (added.some((field) => taken.has(prefix + field))) prefix += 'sift_';
  return { added, names: added.map((field) => prefix + field), prefix };
}

function mergedOutput(rows: number, withResults: number, columns: ResultColumns | null, taken: Set<string>): MergedOutput {
  const prefix = columns?.prefix ?? '';
  const clashes = prefix === '' ? [] : columns!.added.filter((field) => taken.has(field));
  return { rows, withResults, resultPrefix: prefix, clashes };
}

/** The input's records, each with its line's text for JSON Lines (to copy it, or read its numbers as written), else null. */
async function* inputEntries(input: InputFile): AsyncGenerator<{ record: InputRecord; text: string | null }[]> {
  if (input.format === 'jsonl') {
    for await (const lines of jsonLines(input)) yield lines;
    return;
  }
  for await (const records of inputRecords(input)) yield records.map((record) => ({ record, text: null }));
}

/**
 * A JSON Lines input line as it stands with the result fields (`members`, JSON object members)
 * added before its closing brace: parsing it and writing it again would round a number of more
 * than 17 digits (a 64-bit id) to a double's, rewrite `1.0` as `1`, and keep one of keys written
 * twice.
 */
function withResultFields(text: string, record: Record<string, unknown>, members: string): string {
  const close = text.lastIndexOf('}');
  // An object with no fields ({} or { }) takes no comma before the first result field.
  return `${text.slice(0, close)}${Object.keys(record).length > 0 && members !== '' ? ',' : ''}${members}}`;
}

/** JSON object members, `"name":value` joined by commas (each of `keys` its name JSON-encoded, with the colon). */
function membersText(keys: readonly string[], values: readonly unknown[]): string {
  let fields = '';
  for (let i = 0; i < keys.length; i++) fields += `${i === 0 ? '' : ','}${keys[i]}${JSON.stringify(values[i] ?? null)}`;
  return fields;
}

async function mergeInto(sink: FileSink, names: string[], input: InputFile, results: AsyncIterable<string[]>, format: FileFormat): Promise<MergedOutput> {
  const taken = new Set(names);
  const writer = new RecordWriter(sink, format);
  const cursor = new ResultCursor(results, indexOfLine);
  // An input record as the output's cells (CSV) or object (JSON), before the result's fields.
  const header = input.header;
  // A JSON Lines number as the user wrote it (`text`, its line), not as a double writes it again
  // (a 64-bit id, `1.10`): see json-number-texts.ts.
  const cells = (record: InputRecord, text: string | null): CsvValue[] => {
    if (Array.isArray(record)) return record;
    let written: Map<string, string> | null = null;
    return names.map((name) => {
      const value = record[name];
      if (typeof value !== 'number' || text === null) return cellOf(value);
      written ??= numberTexts(text);
      return written.get(name) ?? value;
    });
  };
  const object = (record: InputRecord): Record<string, unknown> => (Array.isArray(record) ? Object.fromEntries(header!.map((name, i) => [name, record[i]])) : record);
  // A CSV record as JSON text, field by field (objectText), when that is what JSON.stringify
  // writes for the object: no column named twice, and none an array index (JS objects put those first).
  const inputKeys = input.format === 'csv' && header && plainKeys(header) ? header.map((name) => `${JSON.stringify(name)}:`) : null;
  // JSON Lines go to JSON Lines or a JSON array as they stand, the result's fields added.
  const keepLines = input.format === 'jsonl' && format !== 'csv';
  // Whether each output record is written as text (JSON Lines copied as they stand, or objectText).
  const asText = keepLines || (format !== 'csv' && inputKeys !== null);
  let columns: ResultColumns | null = null;
  // `"name":` of each result field, JSON-encoded once (JSON Lines copied as they stand).
  let keys: string[] = [];
  // Whether a result line's members after its index are OUTPUT's result fields as they stand (no
  // parse of the line, nor JSON.stringify of its values: two thirds of a CSV to JSON Lines merge).
  let copyMembers = false;
  let noResultMembers = '';
  let index = 0;
  let withResults = 0;
  for await (const entries of inputEntries(input)) {
    const merged: CsvValue[][] | Record<string, unknown>[] = [];
    const lines: string[] = [];
    for (const { record, text: inputLine } of entries) {
      // The input line to copy, when lines are copied.
      const text = keepLines ? inputLine : null;
      // Most rows' results are in hand: an await for each row was a third of a merge's time.
      let line = cursor.now(index);
      if (line === undefined) line = await cursor.resultAt(index);
      index++;
      if (line) withResults++;
      let result: ResultRow | null = null;
      if (columns === null) {
        result = line ? parseResultLine(line) : null;
        columns = resultColumns(result ? addedFields(result) : DEFAULT_ADDED, taken);
        keys = columns.names.map((name) => `${JSON.stringify(name)}:`);
        // columns.added is this line's fields but its index (and an echoed id and text): the line
        // is its index then OUTPUT's result fields, in order, when it echoes neither.
        const fields = result ? Object.keys(result) : [];
        copyMembers = asText && columns.prefix === '' && fields[0] === 'index' && fields.length === columns.added.length + 1;
        noResultMembers = membersText(keys, columns.added.map(unlabelled));
        await writer.begin([...names, ...columns.names]);
      }
      const members = !copyMembers ? null : line ? membersAfterIndex(line) : noResultMembers;
      if (members !== null) {
        lines.push(text !== null ? withResultFields(text, record as Record<string, unknown>, members) : objectText(record as string[], inputKeys!, members));
        continue;
      }
      if (line && !result) result = parseResultLine(line);
      const values = line ? columns.added.map((field) => result?.[field] ?? null) : columns.added.map(unlabelled);
      if (text !== null) lines.push(withResultFields(text, record as Record<string, unknown>, membersText(keys, values)));
      else if (format === 'csv') (merged as CsvValue[][]).push([...cells(record, inputLine), ...values]);
      else if (inputKeys) lines.push(objectText(record as string[], inputKeys, membersText(keys, values)));
      else (merged as Record<string, unknown>[]).push({ ...object(record), ...Object.fromEntries(columns.names.map((name, i) => [name, values[i]])) });
    }
    if (lines.length > 0) await writer.texts(lines);
    if (merged.length > 0) await writer.rows(merged);
  }
  if (columns === null) await writer.begin(names);
  await writer.end();
  return mergedOutput(index, withResults, columns, taken);
}

/** Whether an object of these keys, in this order, is written by JSON.stringify in this order: none twice, none an array index. */
function plainKeys(names: readonly string[]): boolean {
  return new Set(names).size === names.length && !names.some((name) => /^(?:0|[1-9]\d*)$/.test(name) && Number(name) < 2 ** 32 - 1);
}

/** JSON.stringify of a CSV record's object with the result's fields (`members`, JSON object members) after its own, written key by key. */
function objectText(fields: readonly string[], inputKeys: readonly string[], members: string): string {
  const own = membersText(inputKeys, fields);
  return `{${own}${own !== '' && members !== '' ? ',' : ''}${members}}`;
}

/**
 * CSV to CSV, the common case, without parsing the input into fields: each record is copied as it
 * stands when that is what csvText would write for it (CsvRecordSplitter says so: no cell to
 * neutralize, quotes only where needed; nearly every record of a typical file), else read into
 * fields and written through csvCell; the result's cells are appended. The bytes are those the
 * general path writes (tests/cli/csv-merge.test.ts compares them); a CPU profile had parsing the
 * input and writing it again through csv-stringify as two thirds of the merge.
 */
/**
 * Characters of OUTPUT written at a time at most: the write copies its text whole (flattened, then
 * encoded), and text past 128 kB is copied into fresh memory each time rather than the young
 * generation's, which page faults cost the command line more than the copy.
 */
const WRITE_CHARS = 1 << 16;

async function mergeCsvInto(sink: FileSink, names: string[], input: InputFile, results: AsyncIterable<string[]>): Promise<MergedOutput> {
  const taken = new Set(names);
  const header: { fields: string[] | null } = { fields: null };
  const cursor = new ResultCursor(csvResultRows(results, header), indexOfRow);
  let columns: ResultColumns | null = null;
  let noResult = '';
  // Where each result field is among a download row's cells; null when a row's cells after its index are OUTPUT's result cells as they are.
  let picks: number[] | null = null;
  let index = 0;
  let withResults = 0;
  for await (const { records, kinds } of csvInputRecords(input.path)) {
    let text = '';
    for (let r = 0; r < records.length; r++) {
      const record = records[r];
      const kind = kinds[r];
      let result = cursor.now(index);
      if (result === undefined) result = await cursor.resultAt(index);
      if (columns === null) {
        const fields = header.fields ?? ['index', ...DEFAULT_ADDED];
        const downloaded = fields.filter((field) => field !== 'index' && field !== 'id' && field !== 'text');
        columns = resultColumns(result ? downloaded : DEFAULT_ADDED, taken);
        const added = columns.added;
        picks = fields.length === added.length + 1 && added.every((field, i) => fields[i + 1] === field) ? null : added.map((field) => fields.indexOf(field));
        noResult = added.map((field) => `,${csvCell(unlabelled(field))}`).join('');
        await sink.write(csvText([[...names, ...columns.names]]));
      }
      if (kind === RecordKind.VERBATIM) text += record;
      else text += inputFields(record, kind, names.length, index).map(csvCell).join(',');
      if (result === null) {
        text += noResult;
      } else {
        withResults++;
        // The server wrote these cells with csvText, as csvCell would here: copied as they are.
        if (picks === null) text += result.slice(result.indexOf(','));
        else {
          const cells = csvRawCells(result);
          for (const at of picks) text += `,${at === -1 ? '' : cells[at]}`;
        }
      }
      text += '\r\n';
      index++;
      if (text.length >= WRITE_CHARS) {
        await sink.write(text);
        text = '';
      }
    }
    await sink.write(text);
  }
  if (columns === null) await sink.write(csvText([names]));
  return mergedOutput(index, withResults, columns, taken);
}

/** Writes the server's result rows as they are (`sift results`), in CSV, JSON Lines or a JSON array. */
export async function writeResults(results: AsyncIterable<ResultRow[]>, format: FileFormat, output: string): Promise<number> {
  const sink = new FileSink(output);
  try {
    const writer = new RecordWriter(sink, format);
    let fields: string[] | null = null;
    let count = 0;
    for await (const rows of results) {
      if (rows.length === 0) continue;
      if (fields === null) {
        fields = Object.keys(rows[0]);
        await writer.begin(fields);
      }
      await writer.rows(format === 'csv' ? rows.map((row) => fields!.map((field) => row[field] ?? null)) : rows);
      count += rows.length;
    }
    if (fields === null) await writer.begin(null);
    await writer.end();
    await sink.close();
    return count;
  } catch (error) {
    await sink.abandon();
    throw error;
  }
}
