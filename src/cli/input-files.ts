import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { parse as parseCsv } from 'csv-parse/sync';
import { readAvailable } from '../batches/read-available';
import { checkHeader, type ColumnOptions } from '../batches/row-sources';
import { textLines } from '../batches/text-lines';
import { csvFields, CsvRecordSplitter, RecordKind } from '../formats/csv-records';
import { isSiftError } from '../errors';
import { CliError, ExitCodes } from './cli-errors';

/** File formats `sift batch` reads and writes. */
export type FileFormat = 'csv' | 'jsonl' | 'json';

const FORMAT_OF_EXTENSION: Record<string, FileFormat> = { '.csv': 'csv', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'json' };

export const FORMATS: readonly FileFormat[] = ['csv', 'jsonl', 'json'];

const FORMAT_NAMES: Record<FileFormat, string> = { csv: 'CSV', jsonl: 'JSON Lines', json: 'a JSON array' };

/** The format a file's name says (.csv, .jsonl or .ndjson, .json), or null when it says none. */
export function formatOfName(file: string): FileFormat | null {
  return FORMAT_OF_EXTENSION[path.extname(file).toLowerCase()] ?? null;
}

function checkedFormat(value: string): FileFormat {
  if (!(FORMATS as readonly string[]).includes(value)) throw new CliError(`--format ${value} is not one of ${FORMATS.join(', ')}.`, ExitCodes.BAD_INPUT, 'BAD_OPTION');
  return value as FileFormat;
}

/** The format `--format` names, else the one the file's extension says (`sift results`). */
export function formatOf(file: string, override?: string): FileFormat {
  if (override !== undefined) return checkedFormat(override);
  const format = formatOfName(file);
  if (!format) throw new CliError(`Cannot tell the format of ${file} from its extension; name it .csv, .jsonl or .json, or pass --format csv|jsonl|json.`, ExitCodes.BAD_INPUT, 'UNKNOWN_FORMAT');
  return format;
}

/** What `sift batch` reads INPUT as and writes OUTPUT as. */
export interface BatchFormats {
  input: FileFormat;
  /** Null without an OUTPUT (--no-wait). */
  output: FileFormat | null;
  /** Set when --format says INPUT is something else than its name says (a hint for a failed read). */
  contradicts: string | null;
}

/**
 * The formats of `sift batch INPUT OUTPUT`, decided before anything is uploaded. Each file's own
 * name says its format (.csv; .jsonl or .ndjson; .json, an array of objects), so a CSV input can
 * give a JSON Lines output and the other way round. `--format` is the input's format when its
 * name says none or says it wrongly (JSON Lines saved as .json), and the output's only when the
 * output's name says none. A name that says nothing, without --format, is bad input.
 */
export function batchFormats(input: string, output: string | undefined, override?: string): BatchFormats {
  const forced = override === undefined ? null : checkedFormat(override);
  const named = formatOfName(input);
  const inputFormat = forced ?? named;
  if (!inputFormat) {
    throw new CliError(`Cannot tell the format of ${input} from its name; name it .csv, .jsonl (or .ndjson) or .json, or say how to read it with --format csv|jsonl|json.`, ExitCodes.BAD_INPUT, 'UNKNOWN_FORMAT');
  }
  let outputFormat: FileFormat | null = null;
  if (output !== undefined) {
    outputFormat = formatOfName(output) ?? forced;
    if (!outputFormat) {
      throw new CliError(
        `Cannot tell which format to write ${output} in from its name; name it .csv, .jsonl (or .ndjson) or .json: the output's format follows its own name, whatever the input's.`,
        ExitCodes.BAD_INPUT,
        'UNKNOWN_FORMAT',
      );
    }
  }
  const contradicts = forced && named && forced !== named ? `--format ${forced} reads ${input} as ${FORMAT_NAMES[forced]} whatever its name says; --format says how to read INPUT, while OUTPUT's format follows OUTPUT's own name` : null;
  return { input: inputFormat, output: outputFormat, contradicts };
}

/** One input record, as read for merging with its result: CSV as the header's values, JSON as the object. */
export type InputRecord = string[] | Record<string, unknown>;

/** An input file, checked before anything is uploaded. */
export interface InputFile {
  path: string;
  format: FileFormat;
  /** The CSV header (null for JSON formats). */
  header: string[] | null;
  /** A JSON array's objects, read once (a JSON array cannot be streamed); null for the other formats. */
  items: Record<string, unknown>[] | null;
}

async function csvHeader(file: string): Promise<string[] | null> {
  const parser = createReadStream(file).pipe(parse({ bom: true, skip_empty_lines: true, to_line: 1 }));
  for await (const records of readAvailable<string[]>(parser)) if (records.length > 0) return records[0];
  return null;
}

async function jsonArray(file: string): Promise<Record<string, unknown>[]> {
  let value: unknown;
  try {
    value = JSON.parse((await readFile(file, 'utf8')).replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new CliError(`${file} is not valid JSON (${(error as Error).message}); a .json input is one array of objects (use .jsonl for one object a line).`, ExitCodes.BAD_INPUT, 'MALFORMED_JSON');
  }
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'object' || item === null || Array.isArray(item))) {
    throw new CliError(`${file} is not a JSON array of objects; a .json input looks like [{"text": "..."}, ...].`, ExitCodes.BAD_INPUT, 'MALFORMED_JSON');
  }
  return value as Record<string, unknown>[];
}

/**
 * Checks what can be checked locally before an upload: the file exists; a CSV header has the
 * text (and id) column(s), with the message the server gives (`textOption` is the flag named in
 * it); a JSON Lines file starts with an object; a .json file is an array of objects.
 */
export async function openInput(file: string, format: FileFormat, columns: ColumnOptions, textOption = '--text-column'): Promise<InputFile> {
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) throw new CliError(`No file at ${file}; give the path of a CSV, JSON Lines or JSON file.`, ExitCodes.BAD_INPUT, 'NO_FILE');
  let header: string[] | null = null;
  if (format === 'csv') {
    try {
      header = await csvHeader(file);
    } catch (error) {
      throw new CliError(`${file} is not readable CSV: ${(error as Error).message}`, ExitCodes.BAD_INPUT, 'MALFORMED_CSV');
    }
    if (header === null) throw new CliError(`${file} is empty; it needs a header row and at least one row.`, ExitCodes.BAD_INPUT, 'EMPTY_INPUT');
    try {
      checkHeader(header, columns, textOption);
    } catch (error) {
      if (isSiftError(error)) throw new CliError(error.message, ExitCodes.BAD_INPUT, error.code);
      throw error;
    }
  }
  if (format === 'jsonl') await checkFirstLine(file);
  return { path: file, format, header, items: format === 'json' ? await jsonArray(file) : null };
}

/** A JSON Lines input's first line is a JSON object (the server checks every line as it reads). */
async function checkFirstLine(file: string): Promise<void> {
  let number = 0;
  for await (const lines of textLines(createReadStream(file, 'utf8') as AsyncIterable<string>)) {
    for (const line of lines) {
      number++;
      const trimmed = (number === 1 ? line.replace(/^\uFEFF/, '') : line).trim();
      if (trimmed === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(trimmed);
      } catch {
        value = undefined;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new CliError(`${file} is not JSON Lines: line ${number} is not a JSON object; JSON Lines has one object a line, such as {"text": "..."}.`, ExitCodes.BAD_INPUT, 'MALFORMED_JSON');
      }
      return;
    }
  }
}

/** The body to upload and its content type: CSV and JSON Lines as they are, a JSON array as JSON Lines. */
export function uploadBody(input: InputFile): { body: Readable; contentType: string } {
  if (input.format === 'csv') return { body: createReadStream(input.path), contentType: 'text/csv' };
  if (input.format === 'jsonl') return { body: createReadStream(input.path), contentType: 'application/x-ndjson' };
  return { body: Readable.from(input.items!.map((item) => `${JSON.stringify(item)}\n`)), contentType: 'application/x-ndjson' };
}

/** The input's records in order, as the server numbered them (blank lines skipped), several at a time. */
export async function* inputRecords(input: InputFile): AsyncGenerator<InputRecord[]> {
  if (input.format === 'json') {
    yield input.items!;
    return;
  }
  if (input.format === 'csv') {
    let index = 0;
    for await (const { records, kinds } of csvInputRecords(input.path)) {
      const rows = records.map((record, r) => inputFields(record, kinds[r], input.header!.length, index++));
      if (rows.length > 0) yield rows;
    }
    return;
  }
  for await (const lines of jsonLines(input)) yield lines.map((line) => line.record);
}

/** A JSON Lines record and its line's text (without white space around it or its line end). */
export interface JsonLine {
  text: string;
  record: Record<string, unknown>;
}

/** A JSON Lines input's records with their lines' text, in order, as the server numbered them (blank lines skipped). */
export async function* jsonLines(input: InputFile): AsyncGenerator<JsonLine[]> {
  let first = true;
  for await (const lines of textLines(createReadStream(input.path, 'utf8') as AsyncIterable<string>)) {
    if (first) lines[0] = lines[0].replace(/^\uFEFF/, '');
    first = false;
    const texts = lines.map((line) => line.trim()).filter((text) => text !== '');
    yield texts.map((text) => ({ text, record: JSON.parse(text) as Record<string, unknown> }));
  }
}

/**
 * A CSV input's records after its header, each with its kind, as many at a time as a piece of the
 * file holds: split as the server splits an upload (LF or CRLF, a bare CR is no line end), by the
 * splitter the upload uses (csv-parse took most of a merge's time).
 */
export async function* csvInputRecords(file: string): AsyncGenerator<{ records: string[]; kinds: RecordKind[] }> {
  const splitter = new CsvRecordSplitter();
  let headerSeen = false;
  // The header, already read and checked by openInput, is the first record of all.
  const afterHeader = (records: string[], kinds: RecordKind[]) => {
    if (!headerSeen && records.length > 0) {
      records.shift();
      kinds.shift();
      headerSeen = true;
    }
    return { records, kinds };
  };
  // Pieces of 64 kB: one of 256 kB, decoded, is a string V8 allocates in fresh old-generation
  // memory, and those page faults cost a merge more than four times the reads (the command line's
  // CPU for the file bench's file: 0.78 s against 0.91, see docs/performance.md).
  for await (const piece of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 16 }) as AsyncIterable<string>) {
    const records: string[] = [];
    const kinds: RecordKind[] = [];
    splitter.push(piece, records, kinds);
    yield afterHeader(records, kinds);
  }
  const records: string[] = [];
  const kinds: RecordKind[] = [];
  splitter.end(records, kinds);
  yield afterHeader(records, kinds);
}

/** The fields of input row `index` (`kind` as the splitter found it); a malformed one is refused with csv-parse's reason. */
export function inputFields(record: string, kind: RecordKind, count: number, index: number): string[] {
  if (kind !== RecordKind.MALFORMED) return csvFields(record);
  let reason = `it has another number of fields than the header's ${count}`;
  try {
    const parsed = parseCsv(record, { record_delimiter: ['\r\n', '\n'] }) as string[][];
    if (parsed.length === 1 && parsed[0].length === count) return parsed[0];
  } catch (error) {
    reason = (error as Error).message;
  }
  throw new CliError(`Cannot read row ${index + 1} of the input again to write OUTPUT (${reason}); was the file changed while the batch ran?`, ExitCodes.BAD_INPUT, 'MALFORMED_CSV');
}
