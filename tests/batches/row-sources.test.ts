import { quoteInput, quoteList, shortened } from '../../src/batches/quote-input';
import { csvRows } from '../../src/batches/csv-rows';
import { checkHeader, jsonlRows, type ColumnOptions } from '../../src/batches/row-sources';
import type { InputRow } from '../../src/batches/batch-types';
import { ErrorCodes, isSiftError, type SiftError } from '../../src/errors';

const text: ColumnOptions = { textColumns: ['text'] };

async function rows(source: AsyncIterable<InputRow[]>): Promise<InputRow[]> {
  const all: InputRow[] = [];
  for await (const arrived of source) all.push(...arrived);
  return all;
}

async function failure(source: AsyncIterable<InputRow[]>): Promise<SiftError> {
  const error = await rows(source).then(() => null, (e: unknown) => e);
  if (!isSiftError(error)) throw new Error(`expected a SiftError, got ${String(error)}`);
  return error;
}

describe('quoting input in error messages', () => {
  it('quotes short input whole, as JSON does, and long input shortened, saying how long it was', () => {
    expect(quoteInput('body')).toBe('"body"');
    expect(quoteInput('a "b"')).toBe('"a \\"b\\""');
    expect(quoteInput('x'.repeat(200))).toBe(JSON.stringify('x'.repeat(200)));
    expect(quoteInput('x'.repeat(5_000_000))).toBe(`"${'x'.repeat(200)}"… (5000000 characters)`);
    expect(shortened('y'.repeat(201), 10)).toBe('yyyyyyyyyy… (201 characters)');
    expect(shortened('short')).toBe('short');
  });

  it('writes control characters as their escapes, so a quoted CR or escape sequence cannot break the message\'s line or a terminal', () => {
    expect(shortened('got "\r" and \n, \t, \u0000, \u001b[2J, \u007f, \u2028')).toBe('got "\\r" and \\n, \\t, \\u0000, \\u001b[2J, \\u007f, \\u2028');
    expect(shortened('\r'.repeat(300))).toBe(`${'\\r'.repeat(100)}… (300 characters)`);
  });

  it('never cuts a character outside the BMP in two', () => {
    const text = `${'a'.repeat(9)}𝄞${'b'.repeat(50)}`;
    expect(quoteInput(text, 10)).toBe(`"${'a'.repeat(9)}"… (${text.length} characters)`);
    expect(quoteInput(text, 11)).toBe(`"${'a'.repeat(9)}𝄞"… (${text.length} characters)`);
  });

  it('lists as many names as fit in a few hundred characters, then how many more there are', () => {
    expect(quoteList(['id', 'body'])).toBe('"id", "body"');
    const many = Array.from({ length: 100_000 }, (_, i) => `column ${i}`);
    const listed = quoteList(many);
    expect(listed).toMatch(/^"column 0", "column 1", .* and \d+ more$/);
    expect(listed.length).toBeLessThan(500);
    const shown = listed.split(', ').length;
    expect(listed.endsWith(` and ${100_000 - shown} more`)).toBe(true);
    // One name is always shown, itself shortened.
    expect(quoteList(['z'.repeat(1_000_000), 'text'])).toBe(`"${'z'.repeat(200)}"… (1000000 characters), "text"`);
    expect(quoteList(['z'.repeat(1_000_000), 'y'.repeat(1_000_000), 'text'])).toBe(`"${'z'.repeat(200)}"… (1000000 characters) and 2 more`);
  });
});

describe('error messages of the row sources quote a few hundred characters of the input at most', () => {
  it('MISSING_COLUMN: a header of a 5 MB column name, and one of 100,000 columns', () => {
    const huge = 'h'.repeat(5 * 1024 * 1024);
    const error = (() => {
      try {
        checkHeader([huge, 'id'], text);
      } catch (e) {
        return e as SiftError;
      }
      throw new Error('expected MISSING_COLUMN');
    })();
    expect(error.code).toBe(ErrorCodes.MISSING_COLUMN);
    expect(error.message).toBe(`The header has no column "text" for the text; the columns found are "${'h'.repeat(200)}"… (5242880 characters), "id". Name the text column with textColumn.`);
    expect(() => checkHeader(Array.from({ length: 100_000 }, (_, i) => `c${i}`), { textColumns: ['text'], idColumn: null })).toThrow(/the columns found are "c0", "c1", .* and \d+ more\. Name/);
  });

  it('MISSING_COLUMN through csvRows, for a CSV whose header is 5 MB', async () => {
    const error = await failure(csvRows(`${'n'.repeat(5 * 1024 * 1024)},id\nhello,1\n`, text));
    expect(error.code).toBe(ErrorCodes.MISSING_COLUMN);
    expect(error.message.length).toBeLessThan(500);
    expect(JSON.stringify({ ...error.details, message: error.message }).length).toBeLessThan(1000);
  });

  it('MALFORMED_CSV: csv-parse quoting a long field', async () => {
    const error = await failure(csvRows(`text,id\nfine,1\n${'q'.repeat(1_000_000)}"abc",2\n`, text));
    expect(error.code).toBe(ErrorCodes.MALFORMED_CSV);
    expect(error.message).toMatch(/^The CSV is malformed at line 3: Invalid Opening Quote: .*… \(\d+ characters\)\. Check quoting/);
    expect(error.message.length).toBeLessThan(500);
  });

  it('MALFORMED_CSV: a stray CR that csv-parse quotes comes out as \\r', async () => {
    const failure = await csvRows('id,text\n1,a\n2,"b"\r\r\n', { textColumns: ['text'], idColumn: 'id' })
      .next()
      .then(() => null, (error: Error) => error);
    expect(failure?.message).toMatch(/^The CSV is malformed at line \d+: .*\\r/);
    expect(failure?.message).not.toMatch(/\r/);
  });

  it('MALFORMED_JSON: a long line that is not JSON', async () => {
    const error = await failure(jsonlRows(`{"text": "a"}\n{"text": "${'j'.repeat(1_000_000)}" oops}\n`, text));
    expect(error.code).toBe(ErrorCodes.MALFORMED_JSON);
    expect(error.message).toMatch(/^Line 2 is not valid JSON \(.*\); JSON Lines needs one JSON object a line\.$/);
    expect(error.message.length).toBeLessThan(500);
  });
});

describe('csvRows with maxRowBytes', () => {
  // Each physical line is short; the record is long because a quoted field holds line breaks.
  const record = `"${Array.from({ length: 200 }, (_, i) => `line ${i} of one field`).join('\n')}"`;

  it('refuses a record whose quoted field spans lines past the limit with ROW_TOO_LARGE, naming the line it reached', async () => {
    const error = await failure(csvRows(`text,id\nfine,1\n${record},2\n`, text, 1024));
    expect(error.code).toBe(ErrorCodes.ROW_TOO_LARGE);
    expect(error.message).toMatch(/^A CSV record grows past 1024 bytes at line \d+, the most SIFT_MAX_ROW_BYTES lets one row have\. A quoted field may hold line breaks: check for a quote that is never closed/);
    const line = error.details.line as number;
    // The record starts on line 3 and its field passes 1024 bytes some 45 lines in (23 bytes a line).
    expect(line).toBeGreaterThan(40);
    expect(line).toBeLessThan(60);
    expect(error.details.maxRowBytes).toBe(1024);
  });

  it('refuses a quote that is never closed, as one long record, from bytes', async () => {
    async function* bytes() {
      yield Buffer.from('text,id\n"never closed,1\n');
      for (let i = 0; i < 1000; i++) yield Buffer.from(`more,${i}\n`);
    }
    expect((await failure(csvRows(bytes(), text, 2048))).code).toBe(ErrorCodes.ROW_TOO_LARGE);
  });

  it('takes records up to the limit, and any record without one', async () => {
    expect((await rows(csvRows(`text,id\n${record},2\n`, text, record.length + 10))).map((row) => row.text?.length)).toEqual([record.length - 2]);
    expect(await rows(csvRows(`text,id\n${record},2\n`, text))).toHaveLength(1);
  });
});

describe('csvRows line ends', () => {
  it('ends lines at LF and at CRLF, mixed in one file, and keeps both inside quoted fields', async () => {
    const read = await rows(csvRows('text,id\nfirst,1\r\n"two\r\nlines",2\nthird,3\r\n', { textColumns: ['text'], idColumn: 'id' }));
    expect(read.map((row) => [row.id, row.text])).toEqual([
      ['1', 'first'],
      ['2', 'two\r\nlines'],
      ['3', 'third'],
    ]);
  });
});
