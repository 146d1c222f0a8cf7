import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { ErrorCodes, isSiftError, userError } from '../errors';
import type { InputRow } from './batch-types';
import { readAvailable } from './read-available';
import { textLines } from './text-lines';

/** Which columns (CSV) or fields (JSON Lines) hold the text and the row id. */
export interface ColumnOptions {
  textColumn: string;
  idColumn?: string | null;
}

/** A whole document, or one streamed as decoded text. */
export type TextInput = string | AsyncIterable<string>;

/** A whole CSV document, or one streamed as text or as UTF-8 bytes (checked, see utf8-text.ts). */
export type CsvInput = TextInput | AsyncIterable<Buffer>;

/**
 * Every source yields rows as they become available, several at a time (see
 * read-available.ts). Inline texts: one row each, a thousand at a time.
 */
export async function* textRows(texts: readonly string[]): AsyncGenerator<InputRow[]> {
  for (let start = 0; start < texts.length; start += 1000) {
    yield texts.slice(start, start + 1000).map((text, i) => ({ index: start + i, id: null, text }));
  }
}

/**
 * Where the text and id are in a record, once the header is checked. `textOption` is what the
 * caller calls the option naming the text column (a query parameter, a CLI flag).
 */
export function checkHeader(header: string[], { textColumn, idColumn }: ColumnOptions, textOption = 'textColumn'): { text: number; id: number } {
  const found = header.map((h) => JSON.stringify(h)).join(', ');
  if (!header.includes(textColumn)) {
    throw userError(ErrorCodes.MISSING_COLUMN, `The header has no column ${JSON.stringify(textColumn)} for the text; the columns found are ${found}. Name the text column with ${textOption}.`);
  }
  if (idColumn && !header.includes(idColumn)) {
    throw userError(ErrorCodes.MISSING_COLUMN, `The header has no id column ${JSON.stringify(idColumn)}; the columns found are ${found}.`);
  }
  return { text: header.indexOf(textColumn), id: idColumn ? header.indexOf(idColumn) : -1 };
}

/**
 * Rows of a CSV document with a header row, streamed: a byte-order mark and CRLF line ends are
 * accepted; a header without the text column, or a malformed record, is the caller's error,
 * naming what was found or the line.
 */
export async function* csvRows(input: CsvInput, options: ColumnOptions): AsyncGenerator<InputRow[]> {
  const source = Readable.from(typeof input === 'string' ? [input] : input);
  // Records as arrays, the header handled here: csv-parse's `columns` builds an object per row,
  // a large share of parsing time on a million-row upload. Field counts are still checked.
  const parser = source.pipe(parse({ bom: true, skip_empty_lines: true }));
  source.once('error', (error) => parser.destroy(error));
  let at: { text: number; id: number } | null = null;
  let index = 0;
  try {
    for await (const records of readAvailable<string[]>(parser)) {
      if (at === null) at = checkHeader(records.shift()!, options);
      const { text, id } = at;
      yield records.map((record) => ({ index: index++, id: id < 0 ? null : record[id], text: record[text] }));
    }
  } catch (error) {
    if (isSiftError(error)) throw error;
    const cause = error as Error & { code?: string; lines?: number };
    if (cause.code?.startsWith('CSV_')) {
      throw userError(ErrorCodes.MALFORMED_CSV, `The CSV is malformed at line ${cause.lines ?? '?'}: ${cause.message.replace(/^Invalid Record Length: /, '')}. Check quoting and the number of fields on that line.`);
    }
    throw error;
  }
}

/**
 * Rows of JSON Lines (one JSON object a line), streamed. A row whose object lacks the text field
 * is kept, with a null text, and fails alone; a line that is not a JSON object is the caller's
 * error, naming the line.
 */
export async function* jsonlRows(input: TextInput, options: ColumnOptions): AsyncGenerator<InputRow[]> {
  let line = 0;
  let index = 0;
  const toRow = (raw: string): InputRow | null => {
    line++;
    const trimmed = line === 1 ? raw.replace(/^\uFEFF/, '').trim() : raw.trim();
    if (trimmed === '') return null;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      throw userError(ErrorCodes.MALFORMED_JSON, `Line ${line} is not valid JSON (${(error as Error).message}); JSON Lines needs one JSON object a line.`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw userError(ErrorCodes.MALFORMED_JSON, `Line ${line} is not a JSON object; JSON Lines needs one object a line, such as {"${options.textColumn}": "..."}.`);
    }
    const record = value as Record<string, unknown>;
    const text = record[options.textColumn];
    const id = options.idColumn ? record[options.idColumn] : undefined;
    return { index: index++, id: id === undefined || id === null ? null : String(id), text: typeof text === 'string' ? text : null };
  };
  for await (const lines of textLines(typeof input === 'string' ? [input] : input)) {
    const rows = lines.map(toRow).filter((row): row is InputRow => row !== null);
    if (rows.length > 0) yield rows;
  }
}
