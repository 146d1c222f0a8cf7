import { CsvError, parse } from 'csv-parse/sync';
import { csvRows } from '../../src/batches/csv-rows';
import type { InputRow } from '../../src/batches/batch-types';
import { shortened } from '../../src/batches/quote-input';
import { ErrorCodes, isSiftError } from '../../src/errors';

/**
 * csvRows splits records itself and hands csv-parse only the records it might refuse. Held here to
 * what csv-parse alone makes of the whole document (what Sift did before): the same rows, or the
 * same error with the same code, line and message, on random documents full of quotes, stray
 * quotes, line breaks of every kind, empty lines, wrong field counts and unicode, cut into pieces
 * anywhere (bytes split inside a character included), with and without a limit on row bytes.
 */

type Outcome = { rows: InputRow[] } | { error: { code: string; message: string } };

const OPTIONS = { textColumns: ['text'], idColumn: 'id' };

/**
 * csv-parse over the whole document, with the options and the error wording Sift had; a header
 * without the columns is refused first, before any record after it is read.
 */
function reference(document: string, maxRowBytes: number | undefined): Outcome {
  const options = { bom: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n'], max_record_size: maxRowBytes ?? 0 };
  let records: string[][];
  try {
    const [first] = parse(document, { ...options, to: 1 }) as string[][];
    if (first && !(first.includes('text') && first.includes('id'))) return { error: { code: ErrorCodes.MISSING_COLUMN, message: '' } };
    records = parse(document, options) as string[][];
  } catch (error) {
    const cause = error as Error & { code?: string; lines?: number };
    if (cause.code === 'CSV_MAX_RECORD_SIZE') {
      return { error: { code: ErrorCodes.ROW_TOO_LARGE, message: `A CSV record grows past ${maxRowBytes} bytes at line ${cause.lines ?? '?'}, the most SIFT_MAX_ROW_BYTES lets one row have. A quoted field may hold line breaks: check for a quote that is never closed, or split that row.` } };
    }
    if (!(cause instanceof CsvError)) throw error;
    return { error: { code: ErrorCodes.MALFORMED_CSV, message: `The CSV is malformed at line ${cause.lines ?? '?'}: ${shortened(cause.message.replace(/^Invalid Record Length: /, ''))}. Check quoting and the number of fields on that line.` } };
  }
  if (records.length === 0) return { rows: [] };
  const [header, ...rest] = records;
  const text = header.indexOf('text');
  const id = header.indexOf('id');
  if (text < 0 || id < 0) return { error: { code: ErrorCodes.MISSING_COLUMN, message: '' } };
  return { rows: rest.map((record, index) => ({ index, id: record[id], text: record[text] })) };
}

async function outcome(pieces: AsyncIterable<string | Buffer> | string, maxRowBytes: number | undefined): Promise<Outcome> {
  const rows: InputRow[] = [];
  try {
    for await (const page of csvRows(pieces as never, OPTIONS, maxRowBytes)) rows.push(...page);
  } catch (error) {
    if (!isSiftError(error)) throw error;
    return { error: { code: error.code, message: error.code === ErrorCodes.MISSING_COLUMN ? '' : error.message } };
  }
  return { rows };
}

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const pick = <T>(next: () => number, items: readonly T[]): T => items[Math.floor(next() * items.length)];

/** A field: usually fine, sometimes quoted with line breaks and doubled quotes, sometimes broken. */
function field(next: () => number): string {
  const bits = ['a', 'b c', 'é', '𝄞', '=1', ' ', '', '-3', 'x'.repeat(30)];
  const value = Array.from({ length: 1 + Math.floor(next() * 3) }, () => pick(next, bits)).join('');
  const roll = next();
  if (roll < 0.55) return value;
  if (roll < 0.8) return `"${value}${pick(next, ['', ',', '\n', '\r\n', '\r', '""'])}${value}"`;
  if (roll < 0.86) return `${value}"${value}`; // a stray quote
  if (roll < 0.9) return `"${value}"${pick(next, ['x', ' ', '\r'])}`; // text after a closing quote
  if (roll < 0.93) return `"${value}`; // a quote never closed
  return `${value}\r${value}`; // a bare CR
}

function documentOf(next: () => number): string {
  const lineEnd = () => pick(next, ['\n', '\n', '\r\n']);
  const header = pick(next, [['id', 'text'], ['text', 'id', 'note'], ['"id"', '"te""xt"', 'text'], ['id', 'text']]);
  let document = `${next() < 0.2 ? '\uFEFF' : ''}${next() < 0.1 ? lineEnd() : ''}${header.join(',')}${lineEnd()}`;
  const rows = Math.floor(next() * 12);
  for (let r = 0; r < rows; r++) {
    if (next() < 0.1) document += lineEnd(); // an empty line
    const count = next() < 0.08 ? header.length + pick(next, [-1, 1]) : header.length;
    document += Array.from({ length: count }, () => field(next)).join(',');
    if (r < rows - 1 || next() < 0.7) document += lineEnd();
  }
  return document;
}

/** `text` as pieces of at most `size` characters, or as UTF-8 bytes cut every `size` bytes. */
async function* cut(text: string, size: number, asBytes: boolean): AsyncGenerator<string | Buffer> {
  if (asBytes) {
    const bytes = Buffer.from(text);
    for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
    return;
  }
  for (let at = 0; at < text.length; at += size) yield text.slice(at, at + size);
}

describe('csvRows against csv-parse reading the whole document', () => {
  it('gives the same rows or the same error on 600 random documents, cut anywhere', async () => {
    let errors = 0;
    for (let seed = 1; seed <= 600; seed++) {
      const next = random(seed);
      const document = documentOf(next);
      const limit = pick(next, [undefined, undefined, 40, 90]);
      const expected = reference(document, limit);
      if ('error' in expected) errors++;
      const size = 1 + Math.floor(next() * 40);
      expect({ seed, got: await outcome(cut(document, size, seed % 2 === 0), limit) }).toEqual({ seed, got: expected });
      expect({ seed, whole: await outcome(document, limit) }).toEqual({ seed, whole: expected });
    }
    // Both kinds were tried: the documents are not all refused, nor all accepted.
    expect(errors).toBeGreaterThan(100);
    expect(errors).toBeLessThan(500);
  });

  it('refuses a record that stays open past its bound even where csv-parse would not yet (separators and quotes are not field bytes to it)', async () => {
    // One line of 100,000 commas: no field bytes at all, so csv-parse would read on to the line's end.
    const document = `id,text\n${','.repeat(100_000)}\n`;
    const got = await outcome(cut(document, 4096, false), 1024);
    expect(got).toEqual({ error: { code: ErrorCodes.ROW_TOO_LARGE, message: expect.stringMatching(/^A CSV record grows past 1024 bytes at line 2,/) } });
  });

  it('numbers lines as csv-parse does after quoted line breaks, bare CRs and empty lines', async () => {
    const document = 'id,"te\r\nxt",text\r\n\r\n1,"a\nb\r\nc",t\n\n2,x\ry,t\n3,"q"z,t\n';
    const expected = reference(document, undefined);
    expect(expected).toEqual({ error: expect.objectContaining({ code: ErrorCodes.MALFORMED_CSV, message: expect.stringMatching(/^The CSV is malformed at line 12: Invalid Closing Quote: got "z" at line 12/) }) });
    expect(await outcome(document, undefined)).toEqual(expected);
  });
});
