import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { createTestKey, startTestApi, type TestApi } from '../support/api';
import { startSift, type SiftRun } from '../support/sift-cli';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-transformer' };

const NEEDS_KEY = 'sift: This server needs an API key: pass --api-key or set SIFT_API_KEY (an operator makes one with sift keys create).\n';
const REFUSED_OPTION = 'sift: The API key given with --api-key was refused (mistyped or revoked); check it, or ask an operator for a new one (sift keys create).\n';
const REFUSED_ENV = 'sift: The API key in SIFT_API_KEY was refused (mistyped or revoked); check it, or ask an operator for a new one (sift keys create).\n';
const NO_BATCHES_SCOPE = 'sift: The API key "predict only" does not have the batches scope this needs; ask an operator for a key with it (sift keys create --scopes batches).\n';

describe('sift against a server that needs API keys (SIFT_AUTH=keys)', () => {
  let t: TestApi;
  let worker: WorkerProcess;
  let dir: string;
  let key: string;
  let predictOnly: string;
  let input: string;
  /** A key in the right shape that no server made. */
  const wrong = `sift_0123456789abcdef_${'A'.repeat(43)}`;
  /** Everything every run printed, to look for the keys in. */
  const printed: string[] = [];

  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_AUTH: 'keys', SIFT_CHUNK_SIZE: '20' });
    worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix });
    key = t.apiKey!;
    predictOnly = await createTestKey(t.prefix, 'predict only', ['predict']);
    dir = mkdtempSync(path.join(os.tmpdir(), 'sift-cli-keys-'));
    input = path.join(dir, 'reviews.csv');
    writeFileSync(input, `ref,text\n${Array.from({ length: 50 }, (_, i) => `r${i},${i % 2 ? 'a great movie' : 'an awful film'} ${i}`).join('\n')}\n`);
  });
  afterAll(async () => {
    await worker.stop();
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the real sift against the test API, with `env` (SIFT_API_KEY, ...) and nothing else of this process's. */
  async function sift(args: string[], env: Record<string, string> = {}): Promise<SiftRun> {
    const run = await startSift([...args, '--url', t.api.url], env).exited;
    printed.push(run.stdout, run.stderr);
    return run;
  }

  /** The rows `sift batch` wrote, and checks they are the input's 50, labelled. */
  function checkOutput(file: string): void {
    const rows = parse(readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => [r.ref, r.label])).toEqual(Array.from({ length: 50 }, (_, i) => [`r${i}`, i % 2 ? 'POSITIVE' : 'NEGATIVE']));
  }

  it('without a key: every command that talks to the server exits 2 and says how to give one', async () => {
    const output = path.join(dir, 'never.csv');
    for (const args of [['models'], ['predict', 'a great movie'], ['batch', input, output], ['status', 'some-id'], ['watch', 'some-id'], ['results', 'some-id', output], ['cancel', 'some-id']]) {
      const run = await sift(args);
      expect({ args, code: run.code, stderr: run.stderr, stdout: run.stdout }).toEqual({ args, code: 2, stderr: NEEDS_KEY, stdout: '' });
    }
    // An exported but empty SIFT_API_KEY (a CI secret that is not set) is no key either.
    const blank = await sift(['models'], { SIFT_API_KEY: '' });
    expect([blank.code, blank.stderr]).toEqual([2, NEEDS_KEY]);
  }, 60_000);

  it('a wrong key is refused with where it came from, over HTTP and over the WebSocket (watch), exit 2', async () => {
    for (const args of [['models'], ['batch', input, path.join(dir, 'never.csv')], ['watch', 'some-id']]) {
      const option = await sift([...args, '--api-key', wrong]);
      expect({ args, code: option.code, stderr: option.stderr }).toEqual({ args, code: 2, stderr: REFUSED_OPTION });
      const env = await sift(args, { SIFT_API_KEY: wrong });
      expect({ args, code: env.code, stderr: env.stderr }).toEqual({ args, code: 2, stderr: REFUSED_ENV });
    }
    // A key that cannot be one (spaces inside) is bad input, said without the key.
    const spaced = await sift(['models', '--api-key', 'sift_ab cd']);
    expect([spaced.code, spaced.stderr]).toEqual([2, 'sift: The API key in --api-key has spaces or other characters a key does not have; give it as sift keys create printed it (sift_...).\n']);
  }, 60_000);

  it('--api-key: batch uploads, follows the progress over the WebSocket and downloads the results; predict, status, watch, results and cancel work', async () => {
    const output = path.join(dir, 'option.csv');
    const batch = await sift(['batch', input, output, '--id-column', 'ref', '--api-key', key]);
    expect(batch.stderr).toMatch(/Batch \S+: 50 rows queued/);
    // The final event comes only from the subscription.
    expect(batch.stderr).toMatch(/progress: 50\/50 100% .* COMPLETED/);
    expect(batch.stdout).toMatch(/^50\/50 succeeded, \d+ from cache, 0 failed; 50 rows written to /);
    expect(batch.code).toBe(0);
    checkOutput(output);

    const predict = await sift(['predict', 'a great movie', '--api-key', key]);
    expect([predict.code, predict.stdout]).toEqual([0, expect.stringMatching(/^POSITIVE\t0\.\d{4}(\tcached)?\ta great movie\n$/)]);

    const json = await sift(['batch', input, path.join(dir, 'option.jsonl'), '--json', '--api-key', key]);
    expect(json.code).toBe(0);
    const { id } = JSON.parse(json.stdout) as { id: string };
    const status = await sift(['status', id, '--json', '--api-key', key]);
    expect([status.code, JSON.parse(status.stdout).status]).toEqual([0, 'COMPLETED']);
    const watch = await sift(['watch', id, '--api-key', key]);
    expect([watch.code, watch.stdout]).toEqual([0, '50/50 succeeded, 50 from cache, 0 failed\n']);
    const results = await sift(['results', id, path.join(dir, 'results.csv'), '--api-key', key]);
    expect([results.code, results.stdout]).toEqual([0, `50 rows of batch ${id} (COMPLETED) written to ${path.join(dir, 'results.csv')}\n`]);
    const cancel = await sift(['cancel', id, '--api-key', key]);
    expect([cancel.code, cancel.stdout]).toMatchObject([0, expect.stringContaining(`${id}  COMPLETED`)]);
    const models = await sift(['models', '--json', '--api-key', key]);
    expect(models.code).toBe(0);
  }, 60_000);

  it('SIFT_API_KEY works the same, and --api-key wins over it', async () => {
    const output = path.join(dir, 'env.csv');
    const batch = await sift(['batch', input, output, '--id-column', 'ref'], { SIFT_API_KEY: key });
    expect(batch.stderr).toMatch(/progress: 50\/50 100% .* COMPLETED/);
    expect(batch.code).toBe(0);
    checkOutput(output);
    const predict = await sift(['predict', 'an awful film'], { SIFT_API_KEY: key });
    expect([predict.code, predict.stdout]).toEqual([0, expect.stringMatching(/^NEGATIVE\t/)]);
    const wins = await sift(['predict', 'an awful film', '--api-key', key], { SIFT_API_KEY: wrong });
    expect([wins.code, wins.stderr]).toEqual([0, '']);
  }, 60_000);

  it('a key without the batches scope: predict works, batch and watch say which scope is missing, exit 2', async () => {
    const predict = await sift(['predict', 'a great movie', '--api-key', predictOnly]);
    expect(predict.code).toBe(0);
    const batch = await sift(['batch', input, path.join(dir, 'never.csv'), '--api-key', predictOnly]);
    expect([batch.code, batch.stderr]).toEqual([2, NO_BATCHES_SCOPE]);
    const watch = await sift(['watch', 'some-id'], { SIFT_API_KEY: predictOnly });
    expect([watch.code, watch.stderr]).toEqual([2, NO_BATCHES_SCOPE]);
  }, 30_000);

  it('never prints a key: not in messages, --json output or progress, nor in a mistyped option commander quotes', async () => {
    const typo = await sift(['models', `--apikey=${key}`]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(`error: unknown option '--apikey=${key.slice(0, 22)}…'`);
    // Every run of this file so far, the failed ones included.
    expect(printed.length).toBeGreaterThan(40);
    const all = printed.join('\n');
    for (const secret of [key, predictOnly, wrong]) expect(all).not.toContain(secret.slice(22));
  });
});
