import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { SubmitBatchDocument } from '../../src/client/generated/graphql';
import { csvText, neutralizeFormula } from '../../src/formats/csv';
import { startTestApi, type TestApi } from '../support/api';
import { finished } from '../support/batches';
import { PROJECT_ROOT } from '../support/paths';
import { tinyModelsDir } from '../support/tiny-models';
import { startTestWorker, type TestWorker } from '../support/worker';

/** Texts a spreadsheet would run as formulas (OWASP's list), and one it would not. */
const FORMULAS = ['=1+1', '+x', '-x', '@x', '\tx', '\rx'];
const TEXTS = [...FORMULAS, 'a fine film'];
const NEUTRALIZED = [...FORMULAS.map((text) => `'${text}`), 'a fine film'];

describe('the CSV writer', () => {
  it('puts a single quote before a string cell that begins with =, +, -, @, a tab or a carriage return', () => {
    expect(FORMULAS.map(neutralizeFormula)).toEqual(FORMULAS.map((text) => `'${text}`));
    expect(['a fine film', 'x=1', ' =1', "'=1", ''].map(neutralizeFormula)).toEqual(['a fine film', 'x=1', ' =1', "'=1", '']);
  });

  it('leaves numbers as they are, and strings that are one plain number, which cannot hold a formula', () => {
    expect(csvText([[0.25, 0, -1, 1e-7, true, null]])).toBe('0.25,0,-1,1e-7,true,\r\n');
    expect(['-3', '+2', '-0.5', '-.5', '+1e3', '-2E-4'].map(neutralizeFormula)).toEqual(['-3', '+2', '-0.5', '-.5', '+1e3', '-2E-4']);
    expect(['-1+2', '-3 ', '+1 555 0100', '-2+3+cmd|\' /C calc\'!A0', '--1', '-', '+'].map(neutralizeFormula)).toEqual(["'-1+2", "'-3 ", "'+1 555 0100", "'-2+3+cmd|' /C calc'!A0", "'--1", "'-", "'+"]);
  });

  it('quotes a cell holding any line break, so a text of several lines stays one cell', () => {
    const text = csvText([['a\nb', '\rx', 'c\r\nd', 'plain']]);
    expect(text).toBe('"a\nb","\'\rx","c\r\nd",plain\r\n');
    expect(parse(text)).toEqual([['a\nb', "'\rx", 'c\r\nd', 'plain']]);
  });
});

describe('results with texts a spreadsheet would run', () => {
  let t: TestApi;
  let worker: TestWorker;
  let dir: string;
  const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };
  beforeAll(async () => {
    t = await startTestApi(shared);
    worker = await startTestWorker({ ...shared, SIFT_KEY_PREFIX: t.prefix });
    dir = mkdtempSync(path.join(os.tmpdir(), 'sift-csv-injection-'));
  });
  afterAll(async () => {
    await worker.stop();
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('come back neutralized in results.csv and unchanged in results.jsonl', async () => {
    const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts: TEXTS } });
    expect((await finished(t.client, submitBatch.id)).status).toBe('COMPLETED');
    const csv = await (await fetch(`${t.api.url}/batches/${submitBatch.id}/results.csv`)).text();
    const rows = parse(csv, { columns: true }) as Record<string, string>[];
    expect(rows.map((row) => row.text)).toEqual(NEUTRALIZED);
    // The numbers Sift writes itself are plain numbers still.
    for (const row of rows) expect(Number(row.score)).toBeGreaterThan(0);
    expect(rows.map((row) => row.index)).toEqual(TEXTS.map((_, i) => String(i)));
    const jsonl = await (await fetch(`${t.api.url}/batches/${submitBatch.id}/results.jsonl`)).text();
    const records = jsonl.trim().split('\n').map((line) => JSON.parse(line) as { text: string; score: number });
    expect(records.map((record) => record.text)).toEqual(TEXTS);
    expect(records.every((record) => typeof record.score === 'number')).toBe(true);
  });

  it('leave out the echoed id and text with ?echo=false, and refuse any other echo than true or false', async () => {
    const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts: TEXTS } });
    expect((await finished(t.client, submitBatch.id)).status).toBe('COMPLETED');
    const url = `${t.api.url}/batches/${submitBatch.id}`;
    const full = (await (await fetch(`${url}/results.jsonl?echo=true`)).text()).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const compact = (await (await fetch(`${url}/results.jsonl?echo=false`)).text()).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(compact).toEqual(full.map(({ id: _id, text: _text, ...rest }) => rest));
    expect((await (await fetch(`${url}/results.csv?echo=false`)).text()).split('\r\n')[0]).toMatch(/^index,label,score,/);
    const refused = await fetch(`${url}/results.jsonl?echo=no`);
    expect([refused.status, ((await refused.json()) as { error: { code: string } }).error.code]).toEqual([400, 'BAD_REQUEST']);
  });

  /** Runs the real `sift batch` executable against the test server. */
  function siftBatch(input: string, output: string): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/src/cli/sift.js'), 'batch', input, output, '--id-column', 'ref', '--url', t.api.url], {
        cwd: PROJECT_ROOT,
        env: { PATH: process.env.PATH },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
  }

  it("come back neutralized in `sift batch`'s CSV output, input columns included, and unchanged in its JSON Lines output", async () => {
    const quote = (cell: string) => `"${cell.replace(/"/g, '""')}"`;
    const input = path.join(dir, 'formulas.csv');
    // A `note` column of the user's own, with a formula and a negative number in it.
    writeFileSync(input, `ref,note,text\n${TEXTS.map((text, i) => `r${i},${quote(i === 0 ? '=HYPERLINK("http://x")' : String(-i))},${quote(text)}`).join('\n')}\n`);

    const csvOutput = path.join(dir, 'labelled.csv');
    const csvRun = await siftBatch(input, csvOutput);
    expect(csvRun.stderr).toMatch(/COMPLETED/);
    expect(csvRun.code).toBe(0);
    const rows = parse(readFileSync(csvOutput, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.map((row) => row.text)).toEqual(NEUTRALIZED);
    expect(rows.map((row) => row.note)).toEqual(['\'=HYPERLINK("http://x")', ...TEXTS.slice(1).map((_, i) => String(-(i + 1)))]);
    expect(rows.map((row) => row.ref)).toEqual(TEXTS.map((_, i) => `r${i}`));
    for (const row of rows) expect(Number(row.score)).toBeGreaterThan(0);

    const jsonlOutput = path.join(dir, 'labelled.jsonl');
    const jsonlRun = await siftBatch(input, jsonlOutput);
    expect(jsonlRun.code).toBe(0);
    const records = readFileSync(jsonlOutput, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { text: string; note: string });
    expect(records.map((record) => record.text)).toEqual(TEXTS);
    expect(records[0].note).toBe('=HYPERLINK("http://x")');
  }, 60_000);
});
