import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { csvCell, csvText, type CsvValue } from '../../src/formats/csv';
import { csvFields, CsvRecordSplitter, RecordKind } from '../../src/formats/csv-records';
import type { InputFile } from '../../src/cli/input-files';
import { NOT_LABELLED, ResultsInterrupted, writeMerged, type ResultRow, type ResultsDownload } from '../../src/cli/result-files';

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const PIECES = ['a', 'word', ' ', ',', '"', '""', '\n', '\r\n', '\r', '=', '+', '-', '@', '\t', '3', '-3', '.5', 'é', '😀', "'", ''];

/** A random cell, often plain, sometimes everything a CSV writer must take care of. */
function cell(next: () => number): string {
  if (next() < 0.6) return `w${Math.floor(next() * 1000)}`;
  let text = '';
  const length = Math.floor(next() * 5);
  for (let i = 0; i < length; i++) text += PIECES[Math.floor(next() * PIECES.length)];
  return text;
}

/** A cell as a file may hold it: quoted when it must be, and sometimes when it need not be. */
function written(value: string, next: () => number): string {
  const must = /[",\r\n]/.test(value);
  return must || next() < 0.15 ? `"${value.replace(/"/g, '""')}"` : value;
}

interface Case {
  text: string;
  rows: number;
}

/** A CSV file of `rows` rows under `header`, with mixed line ends, empty lines, perhaps a BOM and no final line end. */
function csvFile(header: string[], rows: number, next: () => number): Case {
  const end = () => (next() < 0.5 ? '\n' : '\r\n');
  let text = next() < 0.3 ? '\uFEFF' : '';
  text += header.map((name) => written(name, next)).join(',') + end();
  for (let i = 0; i < rows; i++) {
    if (next() < 0.05) text += end(); // an empty line: no row
    text += header.map(() => written(cell(next), next)).join(',');
    if (i < rows - 1 || next() < 0.7) text += end();
  }
  return { text, rows };
}

/** Results for `rows` rows, some missing (a cancelled batch), with labels and errors that need care in CSV. */
function resultsFor(rows: number, next: () => number, firstMissing = false): ResultRow[] {
  const labels = ['NEG', '=POS', 'a,b'];
  const results: ResultRow[] = [];
  for (let index = 0; index < rows; index++) {
    if ((index === 0 && firstMissing) || next() < 0.1) continue;
    const failed = next() < 0.1;
    const scores = [next(), next() * 1e-7, next()];
    results.push({
      index,
      label: failed ? null : labels[Math.floor(next() * labels.length)],
      score: failed ? null : scores[0],
      score_NEG: failed ? null : scores[0],
      score_POS: failed ? null : scores[1],
      'score_a,b': failed ? null : scores[2],
      cached: failed ? null : next() < 0.5,
      error: failed ? (next() < 0.5 ? 'The text is empty; "send" some words,\nplease' : '-x') : null,
    });
  }
  return results;
}

/** An added field's value in OUTPUT for input row `i`: its result's, or, for a row without one, NOT_LABELLED as its error. */
function valueOf(byIndex: Map<number, ResultRow>, i: number, field: string): unknown {
  const row = byIndex.get(i);
  if (row) return row[field] ?? null;
  return field === 'error' ? NOT_LABELLED : null;
}

/**
 * What `sift batch` wrote for a CSV OUTPUT before it copied records: the input parsed into fields
 * as the server numbers its rows, each row's fields and result values through csvText.
 */
function reference(input: string, results: ResultRow[]): string {
  const records = parse(input, { bom: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n'] }) as string[][];
  const header = records.shift()!;
  const byIndex = new Map(results.map((row) => [row.index, row]));
  if (records.length === 0) return csvText([header]);
  const first = byIndex.get(0);
  const added = first ? Object.keys(first).filter((key) => key !== 'index' && key !== 'id' && key !== 'text') : ['label', 'score', 'cached', 'error'];
  let prefix = '';
  while (added.some((field) => header.includes(prefix + field))) prefix += 'sift_';
  const rows = records.map((record, i) => [...record, ...added.map((field) => valueOf(byIndex, i, field) as CsvValue)]);
  return csvText([[...header, ...added.map((field) => prefix + field)]]) + csvText(rows);
}

const RESULT_FIELDS = ['label', 'score', 'score_NEG', 'score_POS', 'score_a,b', 'cached', 'error'];

/** The results as the server's download sends them (header first, csvText), cut into pieces of `size` bytes. */
function download(results: ResultRow[], size: number): ResultsDownload {
  return async (format) => {
    const text =
      format === 'csv'
        ? csvText([['index', ...RESULT_FIELDS]]) + csvText(results.map((row) => [row.index, ...RESULT_FIELDS.map((field) => row[field] ?? null)]))
        : results.map((row) => `${JSON.stringify(row)}\n`).join('');
    const bytes = Buffer.from(text);
    const pieces: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += size) pieces.push(bytes.subarray(at, at + size));
    return Readable.from(pieces);
  };
}

describe('the CSV to CSV merge, which copies records as they stand', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'sift-csv-merge-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function merged(text: string, results: ResultRow[], pieceSize = 97, from = download(results, pieceSize)): Promise<{ output: string; rows: number; withResults: number }> {
    const file = path.join(dir, 'in.csv');
    writeFileSync(file, text);
    const header = (parse(text, { bom: true, skip_empty_lines: true, to_line: 1 }) as string[][])[0] ?? [];
    const input: InputFile = { path: file, format: 'csv', header, items: null };
    const out = path.join(dir, 'out.csv');
    const { rows, withResults } = await writeMerged(input, from, out, 'csv');
    return { output: readFileSync(out, 'utf8'), rows, withResults };
  }

  it('writes byte for byte what parsing every record and writing it through csvText writes, on random files full of quotes, line breaks, formulas and unicode', async () => {
    for (let seed = 1; seed <= 60; seed++) {
      const next = random(seed);
      const header = seed % 5 === 0 ? ['text', 'label'] : ['id', 'text', 'note'];
      const { text, rows } = csvFile(header, 1 + Math.floor(next() * 40), next);
      const results = resultsFor(rows, next, seed % 7 === 0);
      const got = await merged(text, results);
      expect({ seed, output: got.output }).toEqual({ seed, output: reference(text, results) });
      expect(got.rows).toBe(rows);
      expect(got.withResults).toBe(results.length);
    }
  });

  it('does so across the pieces a large file is read in', async () => {
    const next = random(99);
    const { text, rows } = csvFile(['id', 'text'], 80_000, next);
    expect(text.length).toBeGreaterThan(3 * 256 * 1024);
    const results = resultsFor(rows, next);
    expect((await merged(text, results, 65536)).output).toBe(reference(text, results));
  });

  it('on hand-picked records: a bare CR, quoted empty fields, CRLF and LF, a quoted header, only a header, a last line without a line end', async () => {
    const cases = [
      'id,text\r\nr1,a\rb\r\nr2,"x"\r\n',
      '\uFEFF"id","text"\n"",""\n,\n"r3","a ""b"", c"',
      'id,text\n\n\nr1,"=1+1"\nr2,"line\none"\n\r\nr3,-3\nr4,+x\nr5,@x\nr6,"\tx"\nr7,\t\n',
      'id,text\n',
      'id,text',
      'id,text\nr1,x\r',
    ];
    for (const text of cases) {
      const count = (parse(text, { bom: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n'] }) as string[][]).length - 1;
      for (const firstMissing of [false, true]) {
        const results = resultsFor(count, random(count), firstMissing);
        expect({ text, output: (await merged(text, results)).output }).toEqual({ text, output: reference(text, results) });
      }
    }
  });

  it('takes the result cells from a download that echoes the id and text (a server without ?echo) as from one without', async () => {
    const text = 'id,text\nr1,a\nr2,b\nr3,c\n';
    const results = resultsFor(3, random(3));
    const body = csvText([['index', 'id', 'text', ...RESULT_FIELDS]]) + csvText(results.map((row) => [row.index, 'x', 'y,"z"\n', ...RESULT_FIELDS.map((field) => row[field] ?? null)]));
    const echoing: ResultsDownload = async () => Readable.from([Buffer.from(body)]);
    expect((await merged(text, results, 0, echoing)).output).toBe(reference(text, results));
  });

  it('says a download that ends inside a row broke off (ResultsInterrupted), to be made again', async () => {
    const body = `${csvText([['index', ...RESULT_FIELDS]])}0,NEG,0.5,0.5,0.1,0.4,true,\r\n1,"NEG`;
    const cut: ResultsDownload = async () => Readable.from([Buffer.from(body)]);
    await expect(merged('id,text\nr1,a\nr2,b\n', [], 0, cut)).rejects.toThrow(ResultsInterrupted);
  });

  it('refuses a record that is not CSV as the server read it (the file changed since), naming the row', async () => {
    await expect(merged('id,text\nr1,x\nr2,a"b\n', [])).rejects.toThrow(/row 2 of the input/);
    await expect(merged('id,text\nr1,x,extra\n', [])).rejects.toThrow(/row 1 of the input.*number of fields/);
  });
});

describe('CsvRecordSplitter', () => {
  it('finds the same records, of the same kinds, however the text is cut into pieces', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const next = random(seed);
      const { text } = csvFile(['a', 'b', 'c'], 50, next);
      const whole = { records: [] as string[], kinds: [] as RecordKind[] };
      const splitter = new CsvRecordSplitter();
      splitter.push(text, whole.records, whole.kinds);
      splitter.end(whole.records, whole.kinds);
      const cut = { records: [] as string[], kinds: [] as RecordKind[] };
      const pieces = new CsvRecordSplitter();
      for (let at = 0; at < text.length; ) {
        const size = 1 + Math.floor(next() * 12);
        pieces.push(text.slice(at, at + size), cut.records, cut.kinds);
        at += size;
      }
      pieces.end(cut.records, cut.kinds);
      expect(cut).toEqual(whole);
      // Each record's fields are what csv-parse reads; a verbatim record is what csvText writes for them.
      const parsed = parse(text, { bom: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n'] }) as string[][];
      expect(whole.records.map(csvFields)).toEqual(parsed);
      whole.records.forEach((record, i) => {
        if (whole.kinds[i] === RecordKind.VERBATIM) expect(`${record}\r\n`).toBe(csvText([parsed[i]]));
      });
    }
  });
});

describe('csvCell', () => {
  it('writes each cell as csvText writes it in a row', () => {
    const next = random(7);
    const values: CsvValue[] = [null, true, false, 0, -0, 1e-7, 1e21, 0.1 + 0.2, -3, '', '-3', '=x', '\rx', 'a"b', 'a,b', 'a\nb', "'"];
    for (let i = 0; i < 500; i++) values.push(cell(next));
    for (const value of values) expect([value, `${csvCell(value)},x\r\n`]).toEqual([value, csvText([[value, 'x']])]);
  });
});

describe('a CSV input merged into JSON Lines or a JSON array, each record written key by key', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'sift-json-merge-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** What the merge wrote before it wrote records key by key: each record's object, the result's fields after its own, through JSON.stringify. */
  function referenceObjects(input: string, results: ResultRow[]): Record<string, unknown>[] {
    const records = parse(input, { bom: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n'] }) as string[][];
    const header = records.shift()!;
    const byIndex = new Map(results.map((row) => [row.index, row]));
    const first = byIndex.get(0);
    const added = first ? Object.keys(first).filter((key) => key !== 'index' && key !== 'id' && key !== 'text') : ['label', 'score', 'cached', 'error'];
    let prefix = '';
    while (added.some((field) => header.includes(prefix + field))) prefix += 'sift_';
    return records.map((record, i) => ({
      ...Object.fromEntries(header.map((name, j) => [name, record[j]])),
      ...Object.fromEntries(added.map((field) => [prefix + field, valueOf(byIndex, i, field)])),
    }));
  }

  // Plain headers take the key-by-key path; a name twice or an array index ('2') the objects' path.
  const headers = [['id', 'text', 'note'], ['text', 'label'], ['__proto__', 'text', 'é ü', ''], ['a', 'text', 'a'], ['id', 'text', '2'], ['text', '4294967295']];

  it.each(['jsonl', 'json'] as const)('writes byte for byte what JSON.stringify of each merged object writes (%s)', async (format) => {
    for (let seed = 1; seed <= 36; seed++) {
      const next = random(seed);
      const header = headers[seed % headers.length];
      const { text, rows } = csvFile(header, 1 + Math.floor(next() * 30), next);
      const results = resultsFor(rows, next, seed % 7 === 0);
      const file = path.join(dir, 'in.csv');
      writeFileSync(file, text);
      const parsedHeader = (parse(text, { bom: true, skip_empty_lines: true, to_line: 1 }) as string[][])[0];
      const out = path.join(dir, `out.${format}`);
      const got = await writeMerged({ path: file, format: 'csv', header: parsedHeader, items: null }, download(results, 89), out, format);
      const objects = referenceObjects(text, results);
      const expected = format === 'jsonl' ? objects.map((object) => `${JSON.stringify(object)}\n`).join('') : `[${objects.map((object) => `\n${JSON.stringify(object)}`).join(',')}\n]\n`;
      expect({ seed, output: readFileSync(out, 'utf8') }).toEqual({ seed, output: expected });
      expect(got.rows).toBe(rows);
    }
  });

  it('says a results.jsonl download that ends inside a line broke off (ResultsInterrupted), even where the line could parse', async () => {
    const file = path.join(dir, 'cut.csv');
    writeFileSync(file, 'id,text\nr1,a\nr2,b\n');
    const input: InputFile = { path: file, format: 'csv', header: ['id', 'text'], items: null };
    const results = resultsFor(2, random(11)).map((row) => JSON.stringify(row));
    for (const body of [`${results[0]}\n${results[1].slice(0, 20)}`, `${results[0]}\n${results[1]}`]) {
      const cut: ResultsDownload = async () => Readable.from([Buffer.from(body)]);
      await expect(writeMerged(input, cut, path.join(dir, 'cut.jsonl'), 'jsonl')).rejects.toThrow(ResultsInterrupted);
    }
  });

  it('takes the result fields from a download that echoes the id and text (a server without ?echo) as from one without', async () => {
    const text = 'id,text\nr1,a\nr2,b\nr3,c\n';
    const file = path.join(dir, 'echo.csv');
    writeFileSync(file, text);
    const results = resultsFor(3, random(3));
    const body = results.map(({ index, ...fields }) => `${JSON.stringify({ index, id: 'x', text: 'y,"z"\n', ...fields })}\n`).join('');
    const echoing: ResultsDownload = async () => Readable.from([Buffer.from(body)]);
    const out = path.join(dir, 'echo.jsonl');
    await writeMerged({ path: file, format: 'csv', header: ['id', 'text'], items: null }, echoing, out, 'jsonl');
    expect(readFileSync(out, 'utf8')).toBe(referenceObjects(text, results).map((object) => `${JSON.stringify(object)}\n`).join(''));
  });

  it('reads a results line of another shape than the server writes rather than cutting it', async () => {
    const text = 'id,text\nr1,a\nr2,b\nr3,c\n';
    const file = path.join(dir, 'shapes.csv');
    writeFileSync(file, text);
    const results = resultsFor(3, random(4));
    expect(results.map((row) => row.index)).toEqual([0, 1, 2]);
    // Row 1's index last: its members are not what follows `{"index":N,`.
    const body = results.map(({ index, ...fields }) => `${JSON.stringify(index === 1 ? { ...fields, index } : { index, ...fields })}\n`).join('');
    const shaped: ResultsDownload = async () => Readable.from([Buffer.from(body)]);
    const out = path.join(dir, 'shapes.jsonl');
    await writeMerged({ path: file, format: 'csv', header: ['id', 'text'], items: null }, shaped, out, 'jsonl');
    expect(readFileSync(out, 'utf8')).toBe(referenceObjects(text, results).map((object) => `${JSON.stringify(object)}\n`).join(''));
  });

  it('keeps JSON Lines input lines as they stand and adds the result fields as JSON.stringify writes them, byte for byte', async () => {
    const lines = ['{"id":"r0","text":"a"}', '{ "text" : "b\\"q", "n": 1.0 }', '{"text":"c","big":12345678901234567890}', '{}', '{"text":"é 😀"}'];
    for (const [suffix, keyName] of [['plain', 'note'], ['clash', 'label']] as const) {
      const next = random(suffix.length);
      const input = path.join(dir, `in-${suffix}.jsonl`);
      const inputLines = lines.map((line, i) => (i === 2 ? line.replace('"big"', JSON.stringify(keyName)) : line));
      writeFileSync(input, `${inputLines.join('\n')}\n`);
      const results = resultsFor(inputLines.length, next);
      const out = path.join(dir, `out-${suffix}.jsonl`);
      await writeMerged({ path: input, format: 'jsonl', header: null, items: null }, download(results, 37), out, 'jsonl');
      const byIndex = new Map(results.map((row) => [row.index, row]));
      const added = Object.keys(results.find((row) => row.index === 0) ?? { label: 0, score: 0, cached: 0, error: 0 }).filter((key) => key !== 'index');
      const prefix = keyName === 'label' && byIndex.has(0) ? 'sift_' : '';
      const expected = inputLines.map((line, i) => {
        const members = added.map((field) => `${JSON.stringify(prefix + field)}:${JSON.stringify(valueOf(byIndex, i, field))}`).join(',');
        const close = line.lastIndexOf('}');
        return `${line.slice(0, close)}${line.startsWith('{}') ? '' : ','}${members}}\n`;
      });
      expect({ suffix, output: readFileSync(out, 'utf8') }).toEqual({ suffix, output: expected.join('') });
    }
  });

  it('keeps JSON Lines numbers as written into a JSON array or CSV: 64-bit ids, 1.0, 1e5, -0.5', async () => {
    const lines = ['{"id":12345678901234567890,"text":"a","n":1.0}', '{ "text" : "b", "id": 9007199254740993, "e": 1e5, "neg": -0.5 }', '{"text":"c","id":"s1","nested":{"id":12345678901234567890}}', '{}'];
    const input = path.join(dir, 'numbers.jsonl');
    writeFileSync(input, `${lines.join('\n')}\n`);
    const results = resultsFor(lines.length, random(7));
    const source: InputFile = { path: input, format: 'jsonl', header: null, items: null };

    const json = path.join(dir, 'numbers.json');
    await writeMerged(source, download(results, 41), json, 'json');
    const written = readFileSync(json, 'utf8');
    // Each line as it stands, its result fields added before its closing brace.
    lines.forEach((line, i) => expect(written).toContain(i === 3 ? '{' : line.slice(0, line.lastIndexOf('}'))));
    const parsed = JSON.parse(written) as Record<string, unknown>[];
    expect(parsed).toHaveLength(4);
    expect(parsed.map((row) => row.text)).toEqual(['a', 'b', 'c', undefined]);

    const csv = path.join(dir, 'numbers.csv');
    await writeMerged(source, download(results, 43), csv, 'csv');
    const rows = parse(readFileSync(csv, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.map((row) => row.id)).toEqual(['12345678901234567890', '9007199254740993', 's1', '']);
    expect(rows.map((row) => [row.n, row.e, row.neg])).toEqual([
      ['1.0', '', ''],
      ['', '1e5', '-0.5'],
      ['', '', ''],
      ['', '', ''],
    ]);
    // A nested object is written as JSON.stringify writes it, its numbers doubles: only an object's own members are kept as written.
    expect(rows[2].nested).toBe('{"id":12345678901234567000}');
  });

  it('refuses an input with more or fewer rows than were uploaded, and leaves OUTPUT as it was', async () => {
    const file = path.join(dir, 'counted.csv');
    writeFileSync(file, 'id,text\nr1,x\nr2,y\n');
    const input: InputFile = { path: file, format: 'csv', header: ['id', 'text'], items: null };
    for (const format of ['csv', 'jsonl'] as const) {
      const out = path.join(dir, `counted-out.${format}`);
      writeFileSync(out, 'before');
      for (const uploaded of [1, 3]) {
        await expect(writeMerged(input, download([], 89), out, format, uploaded)).rejects.toThrow(new RegExp(`has 2 rows now, but ${uploaded} were uploaded: was the file changed`));
        expect(readFileSync(out, 'utf8')).toBe('before');
      }
      await writeMerged(input, download([], 89), out, format, 2);
      expect(readFileSync(out, 'utf8')).not.toBe('before');
    }
  });

  it('refuses a record that is not CSV as the server read it (the file changed since), naming the row', async () => {
    const file = path.join(dir, 'changed.csv');
    for (const [text, problem] of [['id,text\nr1,x\nr2,a"b\n', /row 2 of the input/], ['id,text\nr1,x,extra\n', /row 1 of the input.*number of fields/]] as const) {
      writeFileSync(file, text);
      const input: InputFile = { path: file, format: 'csv', header: ['id', 'text'], items: null };
      await expect(writeMerged(input, download([], 89), path.join(dir, 'changed.jsonl'), 'jsonl')).rejects.toThrow(problem);
    }
  });
});

describe('a JSON Lines input merged into CSV, each row written cell by cell', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'sift-jsonl-csv-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A JSON value as the merge writes it in a cell: null or missing empty, objects and arrays as JSON text. */
  const cellOf = (value: unknown): CsvValue => (value === undefined || value === null ? null : typeof value === 'object' ? JSON.stringify(value) : (value as CsvValue));

  it('writes byte for byte what csvText writes for the same rows', async () => {
    const next = random(5);
    const values = (): unknown => {
      const pick = Math.floor(next() * 8);
      return [cell(next), -3.5, 1e21, true, null, { a: [1, '"'] }, '=SUM(A1)', 'a,b\nc'][pick];
    };
    const records = Array.from({ length: 300 }, (_, i) => {
      const record: Record<string, unknown> = { id: `r${i}`, text: cell(next) || 'x' };
      if (next() < 0.7) record.note = values();
      if (next() < 0.3) record['x,"y"'] = values();
      return record;
    });
    const file = path.join(dir, 'in.jsonl');
    writeFileSync(file, records.map((record) => JSON.stringify(record)).join('\n') + '\n');
    const results = resultsFor(records.length, next);
    const out = path.join(dir, 'out.csv');
    await writeMerged({ path: file, format: 'jsonl', header: null, items: null }, download(results, 89), out, 'csv', records.length);
    const names = [...new Set(records.flatMap((record) => Object.keys(record)))];
    const byIndex = new Map(results.map((row) => [row.index, row]));
    const added = Object.keys(byIndex.get(0) ?? { label: 0, score: 0, cached: 0, error: 0 }).filter((key) => key !== 'index');
    const expected = csvText([[...names, ...added]]) + csvText(records.map((record, i) => [...names.map((name) => cellOf(record[name])), ...added.map((field) => valueOf(byIndex, i, field) as CsvValue)]));
    expect(readFileSync(out, 'utf8')).toBe(expected);
  });
});
