import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import net from 'node:net';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { BatchDocument, BatchesDocument, PredictManyDocument } from '../../src/client/generated/graphql';
import { eventually, freePort, startTestApi, type TestApi } from '../support/api';
import { PROJECT_ROOT } from '../support/paths';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-transformer' };
const SIFT = path.join(PROJECT_ROOT, 'dist/src/cli/sift.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `sift` executable (no TTY: stdin, stdout and stderr are pipes). */
function sift(args: string[], options: { input?: string; env?: Record<string, string>; onStart?: (kill: (signal: NodeJS.Signals) => void, output: () => string) => void } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SIFT, ...args], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(options.input ?? '');
    options.onStart?.((signal) => child.kill(signal), () => stderr);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the sift command line against a real server and worker', () => {
  let t: TestApi;
  let worker: WorkerProcess;
  let dir: string;
  let url: string;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_CHUNK_SIZE: '20' });
    worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix });
    dir = mkdtempSync(path.join(os.tmpdir(), 'sift-cli-'));
    url = t.api.url;
  });
  afterAll(async () => {
    await worker.stop();
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const file = (name: string, content: string) => {
    const full = path.join(dir, name);
    writeFileSync(full, content);
    return full;
  };

  it('labels a CSV file: every input column kept, results added row by row in input order, a summary, exit 0', async () => {
    const rows = Array.from({ length: 90 }, (_, i) => ({ ref: `r${i}`, stars: String(i % 5), text: i === 40 ? '' : i % 3 === 0 ? `a great, "lovely" film ${i % 7}` : `an awful movie ${i % 11}` }));
    const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
    const input = file('reviews.csv', `ref,stars,text\n${rows.map((r) => `${r.ref},${r.stars},${quote(r.text)}`).join('\n')}\n`);
    const output = path.join(dir, 'labelled.csv');
    const run = await sift(['batch', input, output, '--text-column', 'text', '--id-column', 'ref', '--url', url]);
    expect(run.stderr).toMatch(/Batch \S+: 90 rows queued/);
    expect(run.stderr).toMatch(/progress: 90\/90 100% .* failed 1 +COMPLETED/);
    expect(run.stdout).toMatch(/^89\/90 succeeded, \d+ from cache, 1 failed; 90 rows written to /);
    expect(run.code).toBe(0);
    const written = parse(readFileSync(output, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(written[0])).toEqual(['ref', 'stars', 'text', 'label', 'score', 'score_NEGATIVE', 'score_POSITIVE', 'cached', 'error']);
    expect(written.map((w) => [w.ref, w.stars, w.text])).toEqual(rows.map((r) => [r.ref, r.stars, r.text]));
    written.forEach((w, i) => {
      if (i === 40) return expect([w.label, w.error]).toEqual(['', expect.stringMatching(/empty/)]);
      expect(w.label).toBe(i % 3 === 0 ? 'POSITIVE' : 'NEGATIVE');
      expect(Number(w.score)).toBeGreaterThan(0.5);
      expect(w.error).toBe('');
    });
  }, 60_000);

  it('labels JSON Lines with the text in another field, and writes JSON Lines', async () => {
    const lines = Array.from({ length: 45 }, (_, i) => ({ n: i, body: i % 2 ? 'good good movie' : 'bad bad movie', nested: { keep: true } }));
    const input = file('reviews.jsonl', `${lines.map((l) => JSON.stringify(l)).join('\n')}\n\n`);
    const output = path.join(dir, 'labelled.jsonl');
    const run = await sift(['batch', input, output, '--text-column', 'body', '--url', url]);
    expect(run.code).toBe(0);
    const written = readFileSync(output, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(written).toHaveLength(45);
    written.forEach((w, i) => {
      expect(w).toMatchObject({ ...lines[i], label: i % 2 ? 'POSITIVE' : 'NEGATIVE', cached: expect.any(Boolean), error: null });
      expect(Object.keys(w)).toEqual(['n', 'body', 'nested', 'label', 'score', 'score_NEGATIVE', 'score_POSITIVE', 'cached', 'error']);
    });
  }, 60_000);

  it('copies each JSON Lines line as it stands into JSON Lines OUTPUT: long numbers, 1.0, repeated keys and spacing kept', async () => {
    const lines = ['{"text":"good good film","id":12345678901234567890,"n":1.0,"e":1e5}', '{"text": "bad bad film" , "dup":1,"dup":2}', '{ }'];
    const input = file('verbatim.jsonl', `${lines.join('\r\n')}\r\n`);
    const output = path.join(dir, 'verbatim-out.jsonl');
    expect((await sift(['batch', input, output, '--url', url])).code).toBe(0);
    const written = readFileSync(output, 'utf8').split('\n');
    expect(written).toHaveLength(4);
    expect(written[3]).toBe('');
    lines.forEach((line, i) => {
      // The input line up to its closing brace, then the result fields, then the brace.
      expect(written[i].startsWith(i === 2 ? '{ "label":' : `${line.slice(0, -1)},"label":`)).toBe(true);
      expect(written[i].endsWith('}')).toBe(true);
    });
    const rows = written.slice(0, 3).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.map((row) => row.label)).toEqual(['POSITIVE', 'NEGATIVE', null]);
    expect(rows[2].error).toBe('The text field is missing from this row, or is not a string.');
    expect(Object.keys(rows[0])).toEqual(['text', 'id', 'n', 'e', 'label', 'score', 'score_NEGATIVE', 'score_POSITIVE', 'cached', 'error']);
  }, 60_000);

  it('keeps a labelled input\'s own label column and names the result columns sift_label, sift_score, ...', async () => {
    const gold = ['negative', 'positive', 'negative'];
    const input = file('gold.csv', `text,label\nan awful movie,${gold[0]}\na good movie,${gold[1]}\nterrible,${gold[2]}\n`);
    const output = path.join(dir, 'gold-labelled.csv');
    const run = await sift(['batch', input, output, '--url', url]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('The input already has "label", so the result columns are named with the prefix sift_');
    const written = parse(readFileSync(output, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(written[0])).toEqual(['text', 'label', 'sift_label', 'sift_score', 'sift_score_NEGATIVE', 'sift_score_POSITIVE', 'sift_cached', 'sift_error']);
    expect(written.map((w) => w.label)).toEqual(gold);
    expect(written.map((w) => w.sift_label)).toEqual(['NEGATIVE', 'POSITIVE', 'NEGATIVE']);

    // JSON Lines: a clash in any record, not only the first, renames the result fields of all.
    const lines = [{ text: 'a good movie' }, { text: 'an awful movie', score: 5 }];
    const jsonl = file('gold.jsonl', `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    const jsonlOut = path.join(dir, 'gold-labelled.jsonl');
    expect((await sift(['batch', jsonl, jsonlOut, '--url', url])).code).toBe(0);
    const rows = readFileSync(jsonlOut, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows[1]).toMatchObject({ text: 'an awful movie', score: 5, sift_label: 'NEGATIVE', sift_score: expect.any(Number) });
    expect(rows[0]).not.toHaveProperty('score');
  }, 60_000);

  it('queues with --no-wait, then answers status and results for the id', async () => {
    const input = file('later.csv', `text\n${Array.from({ length: 30 }, (_, i) => `later ${i}`).join('\n')}\n`);
    const queued = await sift(['batch', input, '--no-wait', '--url', url]);
    expect(queued.code).toBe(0);
    const id = queued.stdout.trim();
    expect(queued.stderr).toContain(`sift status ${id}`);
    await eventually(async () => (await t.client.request(BatchDocument, { id })).batch?.status === 'COMPLETED', 30_000, 'the batch to complete');

    const status = await sift(['status', id, '--url', url]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^${id}  COMPLETED  model tiny-transformer\\n30/30 100%`));
    const asJson = JSON.parse((await sift(['status', id, '--json', '--url', url])).stdout) as { processed: number };
    expect(asJson.processed).toBe(30);

    const output = path.join(dir, 'later-results.csv');
    const results = await sift(['results', id, output, '--url', url]);
    expect(results.stdout).toContain(`30 rows of batch ${id} (COMPLETED) written to ${output}`);
    const written = parse(readFileSync(output, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(written.map((w) => w.text)).toEqual(Array.from({ length: 30 }, (_, i) => `later ${i}`));
  }, 60_000);

  it('--priority sets the batch priority (any case), which status names; an unknown one is refused before any upload', async () => {
    const input = file('urgent.csv', 'text\nan urgent text\n');
    const queued = await sift(['batch', input, '--no-wait', '--priority', 'High', '--url', url]);
    expect(queued.code).toBe(0);
    const id = queued.stdout.trim();
    expect((await t.client.request(BatchDocument, { id })).batch?.priority).toBe('HIGH');
    await eventually(async () => (await t.client.request(BatchDocument, { id })).batch?.status === 'COMPLETED', 30_000, 'the batch to complete');
    expect((await sift(['status', id, '--url', url])).stdout).toMatch(new RegExp(`^${id}  COMPLETED  model tiny-transformer  priority HIGH\n`));
    const refused = await sift(['batch', input, '--no-wait', '--priority', 'urgent', '--url', url]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/--priority.*Allowed choices are high, normal, low/);
  }, 60_000);

  it('refuses a CSV header naming a column twice before uploading when OUTPUT is JSON Lines or JSON, and keeps both columns in CSV', async () => {
    const input = file('twice-named.csv', 'id,text,x,x\nd1,a great movie,first,second\n');
    const before = (await t.client.request(BatchesDocument, { first: 100 })).batches.edges.length;
    for (const name of ['twice-named.jsonl', 'twice-named.json']) {
      const run = await sift(['batch', input, path.join(dir, name), '--id-column', 'id', '--url', url]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/header names the column "x" twice, and a JSON( Lines)? record holds each name once, so OUTPUT would lose one of them\. Rename one of the columns, or write OUTPUT as CSV/);
    }
    expect((await t.client.request(BatchesDocument, { first: 100 })).batches.edges.length).toBe(before);
    const csv = path.join(dir, 'twice-named-out.csv');
    expect((await sift(['batch', input, csv, '--id-column', 'id', '--url', url])).code).toBe(0);
    expect(readFileSync(csv, 'utf8').split('\r\n')[1]).toMatch(/^d1,a great movie,first,second,/);
  });

  it('refuses a CSV without the text column before uploading anything, with the server\'s message, exit 2', async () => {
    const before = (await t.client.request(BatchesDocument, { first: 100 })).batches.edges.length;
    const input = file('wrong.csv', 'id,body\n1,hello\n');
    const run = await sift(['batch', input, path.join(dir, 'never.csv'), '--url', url]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('sift: The header has no column "text" for the text; the columns found are "id", "body". Name the text column with --text-column.\n');
    const missing = await sift(['batch', path.join(dir, 'nope.csv'), path.join(dir, 'never.csv'), '--url', url]);
    expect([missing.code, missing.stderr]).toEqual([2, `sift: No file at ${path.join(dir, 'nope.csv')}; give the path of a CSV, JSON Lines or JSON file.\n`]);
    expect((await t.client.request(BatchesDocument, { first: 100 })).batches.edges.length).toBe(before);
  });

  it("reports a refusal on a large file's first rows as the refusal, every time, not as a server it could not reach", async () => {
    // The server answers after the 2 MB second line while sift still sends the other 10 MB: with
    // the connection closed under the upload, 4 of 12 tries said EPIPE, the server unreachable.
    const big = file('first-row-too-long.csv', `text\n${'x'.repeat(2 * 1024 * 1024)}\n${'an ordinary review of a film\n'.repeat(360_000)}`);
    for (let attempt = 1; attempt <= 12; attempt++) {
      const refused = await sift(['batch', big, path.join(dir, 'never.csv'), '--url', url]);
      expect({ attempt, code: refused.code, stderr: refused.stderr.split('\n')[0] }).toEqual({ attempt, code: 2, stderr: expect.stringMatching(/^sift: Line 2 is longer than 1048576 bytes/) });
    }
  });

  it('names the URL it tried and how to start a server when none answers, exit 3', async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const input = file('fine.csv', 'text\nhello\n');
    for (const args of [['batch', input, path.join(dir, 'x.csv')], ['models'], ['status', 'abc'], ['predict', 'hi']]) {
      const run = await sift([...args, '--url', nowhere]);
      expect(run.code).toBe(3);
      expect(run.stderr).toContain(`Could not reach a Sift server at ${nowhere} (ECONNREFUSED). Start one with \`npx sift up\``);
    }
  });

  it('says a URL answering JSON that is no GraphQL is not a Sift server, and passes on Sift\'s own message for a wrong path, exit 4, no stack trace', async () => {
    // A server answering JSON that is no GraphQL result (a worker's metrics port answers so):
    // before, `sift models` died on a TypeError with its stack trace.
    const other = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const otherUrl = `http://127.0.0.1:${(other.address() as net.AddressInfo).port}`;
    try {
      for (const args of [['models'], ['status', 'abc'], ['predict', 'hi'], ['cancel', 'abc']]) {
        const run = await sift([...args, '--url', otherUrl]);
        expect({ args, code: run.code, stderr: run.stderr }).toEqual({ args, code: 4, stderr: expect.stringContaining(`The server at ${otherUrl} did not answer like a Sift server`) });
        expect(run.stderr).not.toMatch(/TypeError|    at /);
      }
    } finally {
      other.close();
    }
    // A real Sift, a wrong path: its 404 says where GraphQL is.
    const run = await sift(['models', '--url', `${url}/web/page`]);
    expect(run.stderr).toMatch(/Nothing here answers POST \/web\/page\/graphql/);
    expect(run.stderr).not.toMatch(/TypeError|    at /);
  });

  it('predicts texts from arguments or stdin, as text or JSON Lines, and lists the models', async () => {
    const plain = await sift(['predict', 'a great movie', 'an awful movie', '--url', url]);
    expect(plain.stdout).toMatch(/^POSITIVE\t0\.\d{4}\t(cached\t)?a great movie\nNEGATIVE\t0\.\d{4}\t(cached\t)?an awful movie\n$/);
    const piped = await sift(['predict', '--json', '--model', 'tiny-hashed', '--url', url], { input: 'hot hot hot\n\ncold day\n' });
    const predictions = piped.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { text: string; model: string });
    expect(predictions.map((p) => [p.text, p.model])).toEqual([['hot hot hot', 'tiny-hashed'], ['cold day', 'tiny-hashed']]);
    const models = await sift(['models', '--url', url]);
    expect(models.stdout).toContain('tiny-transformer (default)  version');
    expect(models.stdout).toContain('labels cold, warm, hot');
  });

  it('takes the server root, the root with a trailing slash, or its /graphql URL, for every command and in SIFT_URL', async () => {
    const input = file('forms.csv', 'text\na great movie\nan awful movie\n');
    for (const form of [url, `${url}/`, `${url}/graphql`, `${url}/graphql/`]) {
      const output = path.join(dir, 'forms-out.csv');
      const batch = await sift(['batch', input, output, '--url', form]);
      expect([form, batch.code, batch.stderr]).toEqual([form, 0, expect.stringMatching(/progress: 2\/2 100% .* COMPLETED/)]);
      const id = /Batch (\S+): 2 rows queued/.exec(batch.stderr)![1];
      expect((parse(readFileSync(output, 'utf8'), { columns: true }) as Record<string, string>[]).map((r) => r.label)).toEqual(['POSITIVE', 'NEGATIVE']);

      const results = await sift(['results', id, path.join(dir, 'forms-results.jsonl'), '--url', form]);
      expect([form, results.code, results.stdout]).toEqual([form, 0, expect.stringContaining(`2 rows of batch ${id} (COMPLETED)`)]);
      const watch = await sift(['watch', id, '--url', form]);
      expect([form, watch.code, watch.stdout]).toEqual([form, 0, expect.stringMatching(/^2\/2 succeeded, \d from cache, 0 failed\n$/)]);
      const status = await sift(['status', id, '--url', form]);
      expect([form, status.code, status.stdout]).toEqual([form, 0, expect.stringMatching(new RegExp(`^${id}  COMPLETED`))]);
      const predict = await sift(['predict', 'a great movie', '--url', form]);
      expect([form, predict.code, predict.stdout]).toEqual([form, 0, expect.stringMatching(/^POSITIVE\t/)]);
      const models = await sift(['models', '--url', form]);
      expect([form, models.code, models.stdout]).toEqual([form, 0, expect.stringContaining('tiny-transformer (default)')]);
    }
    // SIFT_URL is read the same way as --url.
    const fromEnv = await sift(['models'], { env: { SIFT_URL: `${url}/graphql` } });
    expect([fromEnv.code, fromEnv.stdout]).toEqual([0, expect.stringContaining('tiny-transformer (default)')]);
  }, 120_000);

  it('takes an empty SIFT_URL as none: the default URL, not a URL without a scheme', async () => {
    const run = await sift(['models'], { env: { SIFT_URL: '' } });
    expect(run.stderr).not.toMatch(/has no scheme/);
    // Whatever answers at the default (nothing, or another server), the URL tried is the default one.
    if (run.code === 3) expect(run.stderr).toContain('Could not reach a Sift server at http://localhost:4000');
  });

  it('says a URL without a scheme lacks one and suggests the http:// URL, exit 2, before anything else', async () => {
    const input = file('scheme.csv', 'text\nhello\n');
    const hostPort = url.replace(/^http:\/\//, '');
    for (const args of [['batch', input, path.join(dir, 'scheme-out.csv')], ['status', 'abc'], ['watch', 'abc'], ['results', 'abc', path.join(dir, 'scheme.csv')], ['predict', 'hi'], ['models']]) {
      const run = await sift([...args, '--url', hostPort]);
      expect([args[0], run.code, run.stderr]).toEqual([args[0], 2, `sift: The server URL ${hostPort} has no scheme: add http:// or https:// to --url (or SIFT_URL), e.g. --url http://${hostPort}\n`]);
    }
    // localhost:4000 parses as a URL of scheme "localhost:"; it is still a missing scheme.
    const localhost = await sift(['models'], { env: { SIFT_URL: 'localhost:4000' } });
    expect([localhost.code, localhost.stderr]).toEqual([2, expect.stringContaining('e.g. --url http://localhost:4000')]);
    const ftp = await sift(['models', '--url', 'ftp://127.0.0.1:4000']);
    expect([ftp.code, ftp.stderr]).toEqual([2, expect.stringContaining('a Sift server answers http:// or https://')]);
  });

  it('writes OUTPUT in the format its own name says: CSV in, JSON Lines out', async () => {
    const rows = Array.from({ length: 25 }, (_, i) => ({ ref: `r${i}`, text: i % 2 ? `a great, "good" movie ${i}` : 'an awful movie' }));
    const input = file('convert.csv', `ref,text\n${rows.map((r) => `${r.ref},"${r.text.replace(/"/g, '""')}"`).join('\n')}\n`);
    const output = path.join(dir, 'convert.jsonl');
    const run = await sift(['batch', input, output, '--url', url]);
    expect(run.code).toBe(0);
    const written = readFileSync(output, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(written).toHaveLength(25);
    written.forEach((w, i) => {
      expect(Object.keys(w)).toEqual(['ref', 'text', 'label', 'score', 'score_NEGATIVE', 'score_POSITIVE', 'cached', 'error']);
      expect(w).toMatchObject({ ref: rows[i].ref, text: rows[i].text, label: i % 2 ? 'POSITIVE' : 'NEGATIVE', score: expect.any(Number), cached: expect.any(Boolean), error: null });
    });
  }, 60_000);

  it('sends INPUT again when its upload breaks off (the server restarting), and writes OUTPUT whole', async () => {
    // A proxy in front of the API that cuts the first upload after 64 KB, as a server that goes
    // away mid-upload would; everything else (the second upload, GraphQL, WebSocket, downloads) passes.
    const target = new URL(url);
    let cut = 0;
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      let forwarded = 0;
      let first = true;
      client.on('data', (data: Buffer) => {
        if (first && cut === 0 && data.toString('latin1').startsWith('POST /batches')) cut = -1;
        first = false;
        forwarded += data.length;
        if (cut === -1 && forwarded > 64 * 1024) {
          cut = 1;
          client.resetAndDestroy();
          upstream.destroy();
          return;
        }
        upstream.write(data);
      });
      upstream.on('data', (data: Buffer) => client.write(data));
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    try {
      const rows = Array.from({ length: 3000 }, (_, i) => `r${i},${i % 2 === 0 ? 'a great movie' : 'an awful movie'} number ${i}`);
      const input = file('cut.csv', `id,text\n${rows.join('\n')}\n`);
      const output = path.join(dir, 'cut-out.csv');
      const run = await sift(['batch', input, output, '--id-column', 'id', '--url', `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`]);
      expect(cut).toBe(1);
      expect(run.stderr).toMatch(/The upload of .*cut\.csv failed in passing: .* Sending it again \(for up to 2 minutes\)\.\n[^]*Uploaded .*cut\.csv again/);
      expect([run.code, run.stdout]).toEqual([0, expect.stringMatching(/^3,000\/3,000 succeeded, .* 3,000 rows written to /)]);
      const written = parse(readFileSync(output), { columns: true }) as { id: string; label: string }[];
      expect(written.map((row) => row.id)).toEqual(rows.map((row) => row.split(',')[0]));
      expect(written.every((row) => row.label !== '')).toBe(true);
    } finally {
      proxy.close();
    }
  });

  it('two runs writing one OUTPUT at once each replace it whole: never their rows interleaved', async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => `r${i},${i % 2 === 0 ? 'a great movie' : 'an awful movie'} ${i}`);
    const input = file('twice.csv', `id,text\n${rows.join('\n')}\n`);
    const output = path.join(dir, 'twice-out.csv');
    const runs = await Promise.all([1, 2].map(() => sift(['batch', input, output, '--id-column', 'id', '--url', url])));
    expect(runs.map((run) => [run.code, run.stdout.match(/2,000 rows written/)?.[0]])).toEqual([
      [0, '2,000 rows written'],
      [0, '2,000 rows written'],
    ]);
    // One run's OUTPUT, whole: every input row once, in order (with one shared OUTPUT.partial, the
    // first rename moved the file the second run was still writing into).
    const written = parse(readFileSync(output), { columns: true }) as { id: string }[];
    expect(written.map((row) => row.id)).toEqual(rows.map((row) => row.split(',')[0]));
    expect(readdirSync(dir).filter((name) => name.endsWith('.partial'))).toEqual([]);
  });

  it('replaces OUTPUT whole through a .partial file beside it, also through a symbolic link (which stays a link), and writes a named pipe in place', async () => {
    const input = file('linked.csv', 'text\na great movie\nan awful movie\n');
    const output = path.join(dir, 'replaced.csv');
    writeFileSync(output, 'an older OUTPUT\n');
    expect((await sift(['batch', input, output, '--url', url])).code).toBe(0);
    expect(readFileSync(output, 'utf8').split('\r\n')[0]).toBe('text,label,score,score_NEGATIVE,score_POSITIVE,cached,error');
    const target = path.join(dir, 'link-target.csv');
    const link = path.join(dir, 'link.csv');
    writeFileSync(target, '');
    symlinkSync(target, link);
    expect((await sift(['batch', input, link, '--url', url])).code).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8').split('\r\n')).toHaveLength(4);
    expect(readdirSync(dir).filter((name) => name.endsWith('.partial'))).toEqual([]);
    // A named pipe is written in place (once the batch has ended: it cannot be written twice).
    const fifo = path.join(dir, 'pipe.csv');
    execFileSync('mkfifo', [fifo]);
    const reading = readFile(fifo, 'utf8');
    expect((await sift(['batch', input, fifo, '--url', url])).code).toBe(0);
    expect((await reading).split('\r\n').slice(0, 3)).toEqual([
      'text,label,score,score_NEGATIVE,score_POSITIVE,cached,error',
      expect.stringMatching(/^a great movie,POSITIVE,/),
      expect.stringMatching(/^an awful movie,NEGATIVE,/),
    ]);
    // OUTPUT that cannot be written: a clear error, exit 2, no stack trace.
    const nowhere = await sift(['batch', input, path.join(dir, 'no-such-folder', 'out.csv'), '--url', url]);
    expect([nowhere.code, nowhere.stderr]).toEqual([2, expect.stringMatching(/Cannot write .*no-such-folder\/out\.csv: its folder does not exist/)]);
    expect(nowhere.stderr).not.toMatch(/ at /);
  }, 60_000);

  it('writes OUTPUT in the format its own name says: JSON Lines in, CSV out, under every field any record has', async () => {
    const lines = [
      { n: 0, body: 'good good movie', meta: { stars: 5 } },
      { n: 1, body: 'bad bad movie', note: 'second, with "quotes"' },
      { n: 2, body: 'great movie', meta: null },
    ];
    const input = file('convert.jsonl', `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    const output = path.join(dir, 'convert-out.csv');
    const run = await sift(['batch', input, output, '--text-column', 'body', '--url', url]);
    expect(run.code).toBe(0);
    const written = parse(readFileSync(output, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(written[0])).toEqual(['n', 'body', 'meta', 'note', 'label', 'score', 'score_NEGATIVE', 'score_POSITIVE', 'cached', 'error']);
    expect(written.map((w) => [w.n, w.body, w.meta, w.note])).toEqual([
      ['0', 'good good movie', '{"stars":5}', ''],
      ['1', 'bad bad movie', '', 'second, with "quotes"'],
      ['2', 'great movie', '', ''],
    ]);
    expect(written.map((w) => w.label)).toEqual(['POSITIVE', 'NEGATIVE', 'POSITIVE']);
    written.forEach((w) => expect(Number(w.score)).toBeGreaterThan(0.5));
  }, 60_000);

  it('refuses an OUTPUT or INPUT whose name says no format before uploading, and keeps --format for names that say none', async () => {
    const before = (await t.client.request(BatchesDocument, { first: 100 })).batches.edges.length;
    const input = file('formats.csv', 'text\na good movie\n');
    const unknownOutput = await sift(['batch', input, path.join(dir, 'out.txt'), '--url', url]);
    expect([unknownOutput.code, unknownOutput.stderr]).toEqual([
      2,
      `sift: Cannot tell which format to write ${path.join(dir, 'out.txt')} in from its name; name it .csv, .jsonl (or .ndjson) or .json: the output's format follows its own name, whatever the input's.\n`,
    ]);
    const txt = file('formats.txt', 'text\na good movie\n');
    const unknownInput = await sift(['batch', txt, path.join(dir, 'out.csv'), '--url', url]);
    expect([unknownInput.code, unknownInput.stderr]).toEqual([2, expect.stringContaining(`Cannot tell the format of ${txt} from its name`)]);
    // The mistake of issue 10: --format jsonl meant for the output reads the CSV input as JSON Lines.
    const contradicts = await sift(['batch', input, path.join(dir, 'out.jsonl'), '--format', 'jsonl', '--url', url]);
    expect(contradicts.code).toBe(2);
    expect(contradicts.stderr).toContain(`is not JSON Lines: line 1 is not a JSON object`);
    expect(contradicts.stderr).toContain(`(--format jsonl reads ${input} as JSON Lines whatever its name says; --format says how to read INPUT, while OUTPUT's format follows OUTPUT's own name.)`);
    expect((await t.client.request(BatchesDocument, { first: 100 })).batches.edges.length).toBe(before);

    // An old use: files whose names say nothing, --format saying what both are.
    const output = path.join(dir, 'formats-out.txt');
    const old = await sift(['batch', txt, output, '--format', 'csv', '--url', url]);
    expect(old.code).toBe(0);
    expect(parse(readFileSync(output, 'utf8'), { columns: true })).toEqual([expect.objectContaining({ text: 'a good movie', label: 'POSITIVE' })]);
  }, 60_000);

  it('refuses an OUTPUT that cannot be written before uploading: a missing folder, a folder, a folder it may not write in', async () => {
    const before = (await t.client.request(BatchesDocument, { first: 100 })).batches.edges.length;
    const input = file('writable.csv', 'text\na good movie\n');
    const locked = path.join(dir, 'locked');
    mkdirSync(locked);
    const folder = path.join(dir, 'folder.csv');
    mkdirSync(folder);
    chmodSync(locked, 0o500);
    // Root may write anywhere: the permission case says something only for other users.
    const rootUser = process.getuid?.() === 0;
    // A link to nothing is written through: the folder of what it points at must be there.
    const dangling = path.join(dir, 'dangling.csv');
    symlinkSync(path.join(dir, 'no-such-folder-either', 'out.csv'), dangling);
    const cases: [string, RegExp][] = [
      [path.join(dir, 'no-such-folder', 'out.csv'), /its folder does not exist/],
      [dangling, /it is a link to .*no-such-folder-either\/out\.csv, and its folder does not exist/],
      [folder, /it is a folder; name a file in it/],
      ...(rootUser ? [] : ([[path.join(locked, 'out.csv'), /no permission to create files in its folder/]] as [string, RegExp][])),
    ];
    try {
      for (const [output, why] of cases) {
        const run = await sift(['batch', input, output, '--url', url]);
        expect({ output, code: run.code }).toEqual({ output, code: 2 });
        expect(run.stderr).toMatch(why);
        expect(run.stderr).toContain(`Cannot write ${output}`);
        expect(run.stderr).toContain('Nothing was uploaded');
        expect(run.stderr).not.toContain('.partial');
      }
    } finally {
      chmodSync(locked, 0o700);
    }
    expect((await t.client.request(BatchesDocument, { first: 100 })).batches.edges.length).toBe(before);
    // Nothing left behind by the check.
    expect(readdirSync(dir).filter((name) => name.endsWith('.partial'))).toEqual([]);
  });

  it('--json prints one JSON summary on stdout and nothing else there, for a finished batch and with --no-wait', async () => {
    const input = file('summary.csv', `ref,text\n${['a great movie', 'an awful movie', '', 'a great movie'].map((text, i) => `${i},${text}`).join('\n')}\n`);
    const output = path.join(dir, 'summary-out.csv');
    const started = Date.now();
    const run = await sift(['batch', input, output, '--json', '--url', url]);
    const elapsed = (Date.now() - started) / 1000;
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')).toHaveLength(2); // one line, then the final newline
    const summary = JSON.parse(run.stdout) as Record<string, unknown>;
    const { batch } = await t.client.request(BatchDocument, { id: summary.id as string });
    expect(summary).toEqual({
      id: batch!.id,
      status: 'COMPLETED',
      model: 'tiny-transformer',
      priority: 'NORMAL',
      total: 4,
      succeeded: 3,
      failed: 1,
      cached: batch!.cached,
      error: null,
      output,
      seconds: expect.any(Number),
    });
    expect(summary.seconds).toBeGreaterThan(0);
    expect(summary.seconds).toBeLessThan(elapsed);
    expect(run.stderr).toMatch(/progress: 4\/4 100%/);
    expect(parse(readFileSync(output, 'utf8'), { columns: true })).toHaveLength(4);

    const queued = await sift(['batch', input, '--no-wait', '--json', '--priority', 'low', '--url', url]);
    expect(queued.code).toBe(0);
    const queuedSummary = JSON.parse(queued.stdout) as Record<string, unknown>;
    expect(queuedSummary).toEqual(expect.objectContaining({ id: expect.any(String), status: expect.stringMatching(/QUEUED|RUNNING|COMPLETED/), priority: 'LOW', total: 4, output: null }));
    expect(queuedSummary.id).not.toBe(summary.id);
  }, 60_000);

  it('--text-columns labels several columns together: their non-blank cells joined with a line break, one prediction a row', async () => {
    // Titles that outweigh their bodies, so a row labelled by its body alone would get the other label.
    const rows = [
      { id: 'a', title: 'great great great', body: 'bad movie', stars: '5' },
      { id: 'b', title: '', body: 'bad movie', stars: '1' },
      { id: 'c', title: 'awful awful awful', body: 'good movie', stars: '1' },
      { id: 'd', title: '   ', body: 'good movie', stars: '4' },
      { id: 'e', title: '', body: '', stars: '3' },
    ];
    const input = file('columns.csv', `id,title,stars,body\n${rows.map((r) => `${r.id},${r.title},${r.stars},${r.body}`).join('\n')}\n`);
    const output = path.join(dir, 'columns-out.jsonl');
    const run = await sift(['batch', input, output, '--text-columns', 'title, body', '--id-column', 'id', '--url', url]);
    expect(run.code).toBe(0);
    const written = readFileSync(output, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const joined = ['great great great\nbad movie', 'bad movie', 'awful awful awful\ngood movie', 'good movie'];
    const { predictMany } = await t.client.request(PredictManyDocument, { texts: joined, model: null });
    expect(written.map((w) => [w.id, w.title, w.body, w.stars])).toEqual(rows.map((r) => [r.id, r.title, r.body, r.stars]));
    expect(written.map((w) => w.label)).toEqual(['POSITIVE', 'NEGATIVE', 'NEGATIVE', 'POSITIVE', null]);
    written.slice(0, 4).forEach((w, i) => expect([w.label, w.score]).toEqual([predictMany[i].label, predictMany[i].score]));
    expect(written[4].error).toMatch(/empty/);
  }, 60_000);

  it('--text-columns: every missing column named before uploading; not together with --text-column', async () => {
    const input = file('columns-missing.csv', 'id,title,text\n1,a,b\n');
    const missing = await sift(['batch', input, path.join(dir, 'never.csv'), '--text-columns', 'title,summary,body', '--url', url]);
    expect([missing.code, missing.stderr]).toEqual([
      2,
      'sift: The header has no columns "summary", "body" of the text columns "title", "summary", "body"; the columns found are "id", "title", "text". Name the text columns with --text-columns.\n',
    ]);
    const both = await sift(['batch', input, path.join(dir, 'never.csv'), '--text-column', 'text', '--text-columns', 'title,text', '--url', url]);
    expect([both.code, both.stderr]).toEqual([2, expect.stringContaining('Give --text-column or --text-columns, not both')]);
    const twice = await sift(['batch', input, path.join(dir, 'never.csv'), '--text-columns', 'title,title', '--url', url]);
    expect([twice.code, twice.stderr]).toEqual([2, expect.stringContaining('--text-columns names "title" twice')]);
  });

  it('explains itself: --help on every command, and a usage mistake exits 2', async () => {
    for (const command of ['batch', 'status', 'watch', 'results', 'cancel', 'predict', 'models', 'up', 'serve', 'worker', 'train', 'eval']) {
      const help = await sift([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^Usage: sift ${command}`));
    }
    const batchHelp = (await sift(['batch', '--help'])).stdout;
    for (const rule of ['--text-columns <names>', 'joined with a line break', 'in the format its own name says', '--json', 'e.g. JSON Lines saved as .json']) {
      expect(batchHelp).toContain(rule);
    }
    const wrong = await sift(['batch']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/missing required argument 'input'/);
    // A number out of range is refused in the option's own words (it was refused as SIFT_WORKERS, a variable never set).
    for (const [args, words] of [
      [['up', '--workers', '100'], '--workers must be a whole number from 0 to 64'],
      [['up', '--workers', '1e1'], '--workers must be a whole number from 0 to 64'],
      [['worker', '--concurrency', '0'], '--concurrency must be a whole number from 1 to 64'],
      [['worker', '--concurrency', 'abc'], '--concurrency must be a whole number from 1 to 64'],
    ] as const) {
      const refused = await sift([...args]);
      expect({ args, code: refused.code, said: refused.stderr.includes(words), variable: /SIFT_/.test(refused.stderr) }).toEqual({ args, code: 2, said: true, variable: false });
    }
  });
});

describe('sift batch interrupted without a terminal, then cancel and watch', () => {
  it('leaves the batch running, says how to follow it, and exits 130; cancel ends it; watch reports it, exit 1', async () => {
    // No worker: the batch stays queued until the interrupt.
    const t = await startTestApi({ ...shared });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sift-cli-'));
    try {
      const input = path.join(dir, 'wait.csv');
      writeFileSync(input, 'text\nwaiting\n');
      const run = await sift(['batch', input, path.join(dir, 'out.csv'), '--url', t.api.url], {
        onStart: (kill, output) => {
          void eventually(async () => /rows queued/.test(output()), 20_000, 'the upload').then(() => kill('SIGINT'));
        },
      });
      expect(run.code).toBe(130);
      const id = /Batch (\S+): 1 rows queued/.exec(run.stderr)![1];
      expect(run.stderr).toContain(`Left batch ${id} running. Follow it with \`sift watch ${id}\``);
      expect((await t.client.request(BatchDocument, { id })).batch?.status).toBe('QUEUED');
      // OUTPUT is written while the batch runs, as out.csv.partial: left running, neither is there.
      expect(readdirSync(dir).sort()).toEqual(['wait.csv']);

      // With --json, the summary of the batch left running: scripts still learn its id.
      const json = await sift(['batch', input, path.join(dir, 'out.csv'), '--json', '--url', t.api.url], {
        onStart: (kill, output) => {
          void eventually(async () => /rows queued/.test(output()), 20_000, 'the upload').then(() => kill('SIGINT'));
        },
      });
      expect(json.code).toBe(130);
      expect(JSON.parse(json.stdout)).toEqual(expect.objectContaining({ id: expect.any(String), status: 'QUEUED', total: 1, output: null }));

      const cancel = await sift(['cancel', id, '--url', t.api.url]);
      expect([cancel.code, cancel.stdout]).toEqual([0, expect.stringMatching(new RegExp(`^${id}  CANCELLED  0/1 0%`))]);
      const watch = await sift(['watch', id, '--url', t.api.url]);
      expect(watch.code).toBe(1);
      expect(watch.stdout).toBe(`Batch ${id} ended CANCELLED (0/1 succeeded, 0 from cache, 0 failed)\n`);
      expect(watch.stderr).toMatch(/progress: 0\/1 0% .* CANCELLED/);
    } finally {
      await t.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
