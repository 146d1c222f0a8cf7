import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { textLines } from '../batches/text-lines';
import { csvText, type CsvValue } from '../formats/csv';
import type { FileFormat, InputFile, InputRecord } from './input-files';
import { inputRecords } from './input-files';

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
 * Result rows from a results.jsonl download, in input order, several at a time. A body that breaks
 * off (or ends in the middle of a line) throws ResultsInterrupted.
 */
export async function* resultRows(body: ReadableStream<Uint8Array>): AsyncGenerator<ResultRow[]> {
  // setEncoding decodes UTF-8 across chunk boundaries.
  const text = Readable.fromWeb(body as never).setEncoding('utf8') as AsyncIterable<string>;
  const lines = textLines(text)[Symbol.asyncIterator]();
  for (;;) {
    let rows: ResultRow[];
    try {
      const next = await lines.next();
      if (next.done) return;
      rows = next.value.filter((line) => line !== '').map((line) => JSON.parse(line) as ResultRow);
    } catch (error) {
      throw new ResultsInterrupted(`the download of the results broke off (${(error as Error).message})`, { cause: error });
    }
    yield rows;
  }
}

/** Writes text to a file, waiting when the disk is slower than the input (flat memory). */
class FileSink {
  private readonly out: WriteStream;

  constructor(file: string) {
    this.out = createWriteStream(file);
  }

  async write(text: string): Promise<void> {
    if (text !== '' && !this.out.write(text)) await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    this.out.end();
    await once(this.out, 'finish');
  }

  /** Stops writing (the output is given up, or written again from scratch) and waits for the file to be closed. */
  async abandon(): Promise<void> {
    if (this.out.closed) return;
    const closed = once(this.out, 'close').catch(() => undefined);
    this.out.destroy();
    await closed;
  }
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
      await this.sink.write(csvText(rows as CsvValue[][]));
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

  async end(): Promise<void> {
    if (this.format === 'json') await this.sink.write(this.wrote === 0 ? ']\n' : '\n]\n');
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
export async function writeMerged(input: InputFile, results: AsyncIterable<ResultRow[]>, output: string, format: FileFormat): Promise<MergedOutput> {
  const names = await inputNames(input);
  const sink = new FileSink(output);
  try {
    return await mergeInto(sink, names, input, results, format);
  } catch (error) {
    // Closed before anything else opens OUTPUT again (a download tried again from scratch).
    await sink.abandon();
    throw error;
  }
}

async function mergeInto(sink: FileSink, names: string[], input: InputFile, results: AsyncIterable<ResultRow[]>, format: FileFormat): Promise<MergedOutput> {
  const taken = new Set(names);
  const writer = new RecordWriter(sink, format);
  const pending: ResultRow[] = [];
  const resultIterator = results[Symbol.asyncIterator]();
  let exhausted = false;
  // The result row for input row `index`, or null when that row has no result (batch not completed).
  const resultAt = async (index: number): Promise<ResultRow | null> => {
    for (;;) {
      while (pending.length > 0 && pending[0].index < index) pending.shift();
      if (pending.length > 0) return pending[0].index === index ? pending.shift()! : null;
      if (exhausted) return null;
      const next = await resultIterator.next();
      if (next.done) exhausted = true;
      else pending.push(...next.value);
    }
  };
  // An input record as the output's cells (CSV) or object (JSON), before the result's fields.
  const header = input.header;
  const cells = (record: InputRecord): CsvValue[] => (Array.isArray(record) ? record : names.map((name) => cellOf(record[name])));
  const object = (record: InputRecord): Record<string, unknown> => (Array.isArray(record) ? Object.fromEntries(header!.map((name, i) => [name, record[i]])) : record);
  let added: string[] | null = null;
  let resultNames: string[] = [];
  let resultPrefix = '';
  let index = 0;
  let withResults = 0;
  for await (const records of inputRecords(input)) {
    const merged: CsvValue[][] | Record<string, unknown>[] = [];
    for (const record of records) {
      const result = await resultAt(index++);
      if (result) withResults++;
      if (added === null) {
        added = result ? addedFields(result) : ['label', 'score', 'cached', 'error'];
        while (added.some((field) => taken.has(resultPrefix + field))) resultPrefix += 'sift_';
        resultNames = added.map((field) => resultPrefix + field);
        await writer.begin([...names, ...resultNames]);
      }
      const values = added.map((field) => result?.[field] ?? null);
      if (format === 'csv') (merged as CsvValue[][]).push([...cells(record), ...values]);
      else (merged as Record<string, unknown>[]).push({ ...object(record), ...Object.fromEntries(resultNames.map((name, i) => [name, values[i]])) });
    }
    await writer.rows(merged);
  }
  if (added === null) await writer.begin(names);
  await writer.end();
  await sink.close();
  const clashes = resultPrefix === '' ? [] : (added ?? []).filter((field) => taken.has(field));
  return { rows: index, withResults, resultPrefix, clashes };
}

/** Writes the server's result rows as they are (`sift results`), in CSV, JSON Lines or a JSON array. */
export async function writeResults(results: AsyncIterable<ResultRow[]>, format: FileFormat, output: string): Promise<number> {
  const sink = new FileSink(output);
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
}
