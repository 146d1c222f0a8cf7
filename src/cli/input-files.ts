import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { readAvailable } from '../batches/read-available';
import { checkHeader } from '../batches/row-sources';
import { textLines } from '../batches/text-lines';
import { isSiftError } from '../errors';
import { CliError, ExitCodes } from './cli-errors';

/** File formats `sift batch` reads and writes. */
export type FileFormat = 'csv' | 'jsonl' | 'json';

const FORMAT_OF_EXTENSION: Record<string, FileFormat> = { '.csv': 'csv', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'json' };

export const FORMATS: readonly FileFormat[] = ['csv', 'jsonl', 'json'];

/** The format `--format` names, else the one the file's extension says. */
export function formatOf(file: string, override?: string): FileFormat {
  if (override !== undefined) {
    if (!(FORMATS as readonly string[]).includes(override)) throw new CliError(`--format ${override} is not one of ${FORMATS.join(', ')}.`, ExitCodes.BAD_INPUT, 'BAD_OPTION');
    return override as FileFormat;
  }
  const format = FORMAT_OF_EXTENSION[path.extname(file).toLowerCase()];
  if (!format) throw new CliError(`Cannot tell the format of ${file} from its extension; name it .csv, .jsonl or .json, or pass --format csv|jsonl|json.`, ExitCodes.BAD_INPUT, 'UNKNOWN_FORMAT');
  return format;
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
 * Checks what can be checked locally before an upload: the file exists, and a CSV header has the
 * text (and id) column, with the message the server gives; a .json file is an array of objects.
 */
export async function openInput(file: string, format: FileFormat, columns: { textColumn: string; idColumn?: string }): Promise<InputFile> {
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
      checkHeader(header, { textColumns: [columns.textColumn], idColumn: columns.idColumn }, '--text-column');
    } catch (error) {
      if (isSiftError(error)) throw new CliError(error.message, ExitCodes.BAD_INPUT, error.code);
      throw error;
    }
  }
  return { path: file, format, header, items: format === 'json' ? await jsonArray(file) : null };
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
    let first = true;
    const parser = createReadStream(input.path).pipe(parse({ bom: true, skip_empty_lines: true }));
    for await (const records of readAvailable<string[]>(parser)) {
      if (first) {
        records.shift();
        first = false;
      }
      yield records;
    }
    return;
  }
  let first = true;
  for await (const lines of textLines(createReadStream(input.path, 'utf8') as AsyncIterable<string>)) {
    if (first) lines[0] = lines[0].replace(/^\uFEFF/, '');
    first = false;
    yield lines.filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}
