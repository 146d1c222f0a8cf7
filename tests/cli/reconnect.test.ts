import { execFileSync } from 'node:child_process';
import { closeSync, constants as fsConstants, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { Redis } from 'ioredis';
import { BatchDocument, BatchesDocument, SubmitBatchDocument } from '../../src/client/generated/graphql';
import { SiftClient } from '../../src/client/sift-client';
import { redisKeys } from '../../src/redis/keys';
import { eventually, freePort } from '../support/api';
import { startApiProcess, type ApiProcess } from '../support/api-process';
import { startCuttingProxy } from '../support/cutting-proxy';
import { deleteKeys, deletePrefix, testRedis, uniquePrefix } from '../support/redis';
import { startRedisServer } from '../support/redis-server';
import { startSift } from '../support/sift-cli';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };
const ROWS = 30_000;

/** Row i's text: every 1,000th empty (it fails alone), the others labelled, none in the cache yet. */
const textOf = (i: number, tag: string) => (i % 1000 === 999 ? '' : `${tag} review ${i} warm cold hot ${i % 17}`);

/** The server's own result rows (GET results.jsonl), by index. */
async function serverResults(url: string, id: string): Promise<{ index: number; label: string | null; error: string | null }[]> {
  const text = await (await fetch(`${url}/batches/${id}/results.jsonl`)).text();
  return text.trimEnd().split('\n').map((line) => JSON.parse(line) as { index: number; label: string | null; error: string | null });
}

describe('sift batch and sift watch when the API is killed and started again mid-batch', () => {
  let api: ApiProcess;
  let worker: WorkerProcess;
  let client: SiftClient;
  let dir: string;
  let prefix: string;
  beforeAll(async () => {
    prefix = uniquePrefix('cli-reconnect');
    // Small chunks and one chunk at a time: the batch is still running when the API goes.
    api = await startApiProcess(await freePort(), { ...shared, SIFT_KEY_PREFIX: prefix, SIFT_CHUNK_SIZE: '50', SIFT_LOG_LEVEL: 'warn' });
    worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: prefix, SIFT_WORKER_CONCURRENCY: '1', SIFT_LOG_LEVEL: 'info' });
    // Given as the /graphql URL the server prints: the client reads it as the server's root.
    client = new SiftClient(`${api.url}/graphql`);
    dir = mkdtempSync(path.join(os.tmpdir(), 'sift-cli-reconnect-'));
  }, 60_000);
  afterAll(async () => {
    await client.close();
    worker.resume();
    await worker.stop();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
    await deletePrefix(prefix);
  });

  /** Rows of the batch recorded, read from Redis itself (the API may be down). */
  async function processedInRedis(id: string): Promise<number> {
    const redis = testRedis();
    try {
      return Number(await redis.hget(redisKeys(prefix).batch(id), 'processed'));
    } finally {
      redis.disconnect();
    }
  }

  /**
   * With the command following the batch (its worker held until then): rows finish; the API is
   * killed (SIGKILL); rows go on finishing while it is down; it starts again on the same port
   * while the batch still runs (the worker is held meanwhile, so the command comes back to a
   * running batch whatever the machine's speed).
   */
  async function crashAndRestart(id: string): Promise<void> {
    // The worker runs in short slices and is frozen at each step, so the batch is still running at each.
    await worker.runUntil(async () => (await processedInRedis(id)) >= 1000, 'rows to finish', { timeoutMs: 60_000 });
    await api.kill();
    const before = await processedInRedis(id);
    await worker.runUntil(async () => (await processedInRedis(id)) >= before + 1000, 'rows to finish while the API is down', { timeoutMs: 60_000 });
    try {
      await api.restart();
      const { batch } = await client.request(BatchDocument, { id });
      expect(batch).toMatchObject({ status: 'RUNNING' });
      expect(batch!.processed).toBeLessThan(ROWS);
    } finally {
      worker.resume();
    }
  }

  it('sift batch: rides out the restart, says so once, exits 0 with every row once in input order, labelled as the server labelled it', async () => {
    const input = path.join(dir, 'big.csv');
    writeFileSync(input, `ref,text\n${Array.from({ length: ROWS }, (_, i) => `r${i},${textOf(i, 'batch')}`).join('\n')}\n`);
    const output = path.join(dir, 'big-labelled.csv');
    worker.pause();
    const run = startSift(['batch', input, output, '--id-column', 'ref', '--json', '--url', api.url]);
    await run.waitForStderr(/progress: /);
    const id = /Batch (\S+): 30,000 rows queued/.exec(run.stderr())![1];
    await crashAndRestart(id);
    const { code, stdout, stderr } = await run.exited;
    expect([code, stderr]).toEqual([0, expect.stringContaining(`Connection to ${api.url} lost; reconnecting (for up to 2 minutes).`)]);
    expect(stderr.match(/lost; reconnecting/g)).toHaveLength(1);
    expect(stderr.match(new RegExp(`Reconnected to ${api.url.replace(/\./g, '\\.')}; following batch ${id} again\\.`, 'g'))).toHaveLength(1);
    expect(stderr).toMatch(/progress: 30,000\/30,000 100% .* COMPLETED/);

    const { batch } = await client.request(BatchDocument, { id });
    expect(batch).toMatchObject({ status: 'COMPLETED', total: ROWS, processed: ROWS, failed: 30 });
    const summary = JSON.parse(stdout) as Record<string, unknown>;
    expect(summary).toEqual({ id, status: 'COMPLETED', model: 'tiny-hashed', priority: 'NORMAL', total: ROWS, succeeded: batch!.succeeded, failed: batch!.failed, cached: batch!.cached, error: null, output, seconds: expect.any(Number) });

    const written = parse(readFileSync(output, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(written).toHaveLength(ROWS);
    expect(written.map((w) => w.ref)).toEqual(Array.from({ length: ROWS }, (_, i) => `r${i}`));
    const results = await serverResults(api.url, id);
    expect(results.map((r) => r.index)).toEqual(Array.from({ length: ROWS }, (_, i) => i));
    const mismatched = written.filter((w, i) => w.label !== (results[i].label ?? '') || (w.error === '') !== (results[i].error === null));
    expect(mismatched).toEqual([]);
    expect(written.filter((w) => w.label === '')).toHaveLength(30);
  }, 180_000);

  it('sift watch ID: rides out the restart and ends with the batch\'s final counts, exit 0', async () => {
    const csv = `ref,text\n${Array.from({ length: ROWS }, (_, i) => `w${i},${textOf(i, 'watch')}`).join('\n')}\n`;
    worker.pause();
    const response = await fetch(`${api.url}/batches?idColumn=ref`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
    const { id } = (await response.json()) as { id: string };
    const run = startSift(['watch', id, '--url', `${api.url}/graphql`]);
    await run.waitForStderr(/progress: /);
    await crashAndRestart(id);
    const { code, stdout, stderr } = await run.exited;
    expect([code, stderr]).toEqual([0, expect.stringContaining(`Connection to ${api.url} lost; reconnecting`)]);
    expect(stderr.match(/lost; reconnecting/g)).toHaveLength(1);
    expect(stderr.match(/Reconnected to /g)).toHaveLength(1);
    const { batch } = await client.request(BatchDocument, { id });
    expect(batch).toMatchObject({ status: 'COMPLETED', processed: ROWS, failed: 30 });
    const count = (n: number) => n.toLocaleString('en-US');
    expect(stdout).toBe(`${count(batch!.succeeded)}/${count(ROWS)} succeeded, ${count(batch!.cached)} from cache, ${count(batch!.failed)} failed\n`);
  }, 180_000);

  it('sift batch: an upload whose 202 was lost is sent again and answered with the batch it made, not run twice', async () => {
    const rows = 3000;
    const input = path.join(dir, 'lost.csv');
    writeFileSync(input, `ref,text\n${Array.from({ length: rows }, (_, i) => `r${i},${textOf(i, 'lost')}`).join('\n')}\n`);
    const output = path.join(dir, 'lost-labelled.csv');
    const batchIds = async () => new Set((await client.request(BatchesDocument, { first: 100 })).batches.edges.map((edge) => edge.node.id));
    const before = await batchIds();
    // The server takes the whole upload and makes its batch; its answer never reaches the command.
    const proxy = await startCuttingProxy(Number(new URL(api.url).port), /^POST \/batches[? ]/m, { afterBytes: 0 });
    try {
      const { code, stdout, stderr } = await startSift(['batch', input, output, '--json', '--url', proxy.url]).exited;
      expect([code, proxy.cuts(), stderr]).toEqual([0, 1, expect.stringContaining(`The upload of ${input} failed in passing`)]);
      const { id, total } = JSON.parse(stdout) as { id: string; total: number };
      // Before, the second try made a second batch, and the first ran unseen.
      expect([...(await batchIds())].filter((known) => !before.has(known))).toEqual([id]);
      expect(total).toBe(rows);
      const written = parse(readFileSync(output, 'utf8'), { columns: true }) as { ref: string; text: string }[];
      expect(written.map((row) => `${row.ref},${row.text}`)).toEqual(Array.from({ length: rows }, (_, i) => `r${i},${textOf(i, 'lost')}`));
    } finally {
      await proxy.close();
    }
  }, 120_000);

  it.each(['SIGTERM', 'SIGINT'] as const)('sift results: stopped by %s mid-download, exits 130 with OUTPUT as it was and no partial file left', async (signal) => {
    const texts = Array.from({ length: 10_000 }, (_, i) => textOf(i, `results-${signal}`));
    const { submitBatch } = await client.request(SubmitBatchDocument, { input: { texts } });
    await eventually(async () => (await client.request(BatchDocument, { id: submitBatch.id })).batch?.status === 'COMPLETED', 60_000, 'the batch to complete');
    const output = path.join(dir, `results-${signal}.csv`);
    writeFileSync(output, 'what was there\n');
    const partials = () => readdirSync(dir).filter((name) => name.startsWith(`results-${signal}.csv.`) && name.endsWith('.partial'));
    // The download stalls after its first 20 kB: the command is mid-way, its partial file open.
    const proxy = await startCuttingProxy(Number(new URL(api.url).port), /^GET \/batches\/[^/ ]+\/results\.jsonl[? ]/m, { afterBytes: 20_000, hold: true });
    try {
      const run = startSift(['results', submitBatch.id, output, '--url', proxy.url]);
      await eventually(async () => proxy.cuts() === 1 && partials().length === 1, 30_000, 'the download to stall with its partial file written');
      run.kill(signal);
      const { code, stderr } = await run.exited;
      expect([code, stderr]).toEqual([130, `sift: Stopped (${signal}) during the download; ${output} was left as it was.\n`]);
      // Before, Node's default exit left the partial file beside OUTPUT.
      expect(partials()).toEqual([]);
      expect(readFileSync(output, 'utf8')).toBe('what was there\n');
    } finally {
      await proxy.close();
    }
  }, 120_000);

  it('sift results into a FIFO nobody reads: Ctrl-C still stops it', async () => {
    const texts = Array.from({ length: 10_000 }, (_, i) => textOf(i, 'fifo'));
    const { submitBatch } = await client.request(SubmitBatchDocument, { input: { texts } });
    await eventually(async () => (await client.request(BatchDocument, { id: submitBatch.id })).batch?.status === 'COMPLETED', 60_000, 'the batch to complete');
    const fifo = path.join(dir, 'nobody-reads.csv');
    execFileSync('mkfifo', [fifo]);
    // Opened for reading and never read: the command's writes wait on it for ever.
    const reader = openSync(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    try {
      const run = startSift(['results', submitBatch.id, fifo, '--url', api.url]);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      run.kill('SIGINT');
      // With only a handler that broke the download off, it waited on the FIFO for ever: now it ends by the signal, as before it handled signals.
      const ended = await Promise.race([run.exited.then(() => 'ended'), new Promise((resolve) => setTimeout(() => resolve('still running'), 10_000))]);
      expect(ended).toBe('ended');
    } finally {
      closeSync(reader);
    }
  }, 60_000);

  it('sift batch: a results download that breaks off midway is downloaded again from the start, once', async () => {
    const rows = 5000;
    const input = path.join(dir, 'cut.jsonl');
    writeFileSync(input, Array.from({ length: rows }, (_, i) => `${JSON.stringify({ n: i, text: textOf(i, 'cut') })}\n`).join(''));
    const output = path.join(dir, 'cut-labelled.jsonl');
    const proxy = await startCuttingProxy(Number(new URL(api.url).port), /^GET \/batches\/[^/ ]+\/results\.jsonl[? ]/m);
    try {
      const { code, stdout, stderr } = await startSift(['batch', input, output, '--json', '--url', proxy.url]).exited;
      expect([code, proxy.cuts()]).toEqual([0, 1]);
      // Node's fetch reports the cut either as an error or, at times, as an answer that simply ends
      // early: sift tells both from a whole download by the batch's row count.
      const noticed = stderr.match(/The download of the results (broke off \([^)]+\)|held [\d,]+ of the batch's 5,000 rows); downloading them again from the start\./g);
      expect([noticed, stderr]).toEqual([[expect.any(String)], stderr]);
      const { id } = JSON.parse(stdout) as { id: string };
      expect(stderr).toContain(`Downloaded the results of batch ${id} again.`);
      const written = readFileSync(output, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as { n: number; label: string | null });
      expect(written.map((w) => w.n)).toEqual(Array.from({ length: rows }, (_, i) => i));
      const results = await serverResults(api.url, id);
      expect(written.map((w) => w.label)).toEqual(results.map((r) => r.label));
      expect(written.filter((w) => w.label === null)).toHaveLength(5);
    } finally {
      await proxy.close();
    }
  }, 120_000);
});

describe('sift watch when the API does not come back', () => {
  it('keeps trying for SIFT_RECONNECT_SECONDS, then exits 3 saying how to follow the batch later', async () => {
    const prefix = uniquePrefix('cli-gone');
    // No worker: the batch stays queued, so the watch is still following it when the API goes.
    const api = await startApiProcess(await freePort(), { ...shared, SIFT_KEY_PREFIX: prefix, SIFT_LOG_LEVEL: 'warn' });
    try {
      const response = await fetch(`${api.url}/batches`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'text\nwarm\n' });
      const { id } = (await response.json()) as { id: string };
      const run = startSift(['watch', id, '--url', api.url], { SIFT_RECONNECT_SECONDS: '3' });
      await run.waitForStderr(/progress: 0\/1 0% .* QUEUED/);
      await api.kill();
      const { code, stdout, stderr } = await run.exited;
      expect(code).toBe(3);
      expect(stdout).toBe('');
      expect(stderr).toContain(`Connection to ${api.url} lost; reconnecting (for up to 3 s).`);
      expect(stderr).toContain(`sift: Could not reach the Sift server at ${api.url} again for 3 s; batch ${id} may still be running there. Follow it with \`sift watch ${id}\``);
      expect(stderr).not.toContain('Reconnected');
    } finally {
      await api.stop();
      await deletePrefix(prefix);
    }
  }, 60_000);

  it('refuses a bad SIFT_RECONNECT_SECONDS before doing anything, exit 2', async () => {
    // Digits only: Number() read 0x3 and 1e0 as 3 and 1.
    for (const value of ['soon', '0x3', '1e0']) {
      const { code, stderr } = await startSift(['watch', 'abc', '--url', 'http://127.0.0.1:1'], { SIFT_RECONNECT_SECONDS: value }).exited;
      expect([code, stderr]).toEqual([2, `sift: SIFT_RECONNECT_SECONDS must be a whole number of seconds (0 or more), not ${JSON.stringify(value)}.\n`]);
    }
  });
});

describe('sift watch while Redis is away for longer than the server waits for it', () => {
  it('says the server stopped sending progress (REDIS_UNAVAILABLE), subscribes again until it flows, and ends with the final counts', async () => {
    const redisServer = await startRedisServer(await freePort(), { appendOnly: true });
    const prefix = uniquePrefix('cli-redis-away');
    const env = { ...shared, REDIS_URL: redisServer.url, SIFT_KEY_PREFIX: prefix, SIFT_LOG_LEVEL: 'warn' };
    const api = await startApiProcess(await freePort(), env);
    let worker: WorkerProcess | undefined;
    try {
      // No worker yet: the batch waits, queued, while Redis is away.
      const csv = `text\n${Array.from({ length: 2000 }, (_, i) => `away ${i} warm cold hot`).join('\n')}\n`;
      const response = await fetch(`${api.url}/batches`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
      const { id } = (await response.json()) as { id: string };
      const run = startSift(['watch', id, '--url', api.url]);
      await run.waitForStderr(/progress: 0\/2,000 0% .* QUEUED/);
      await redisServer.shutdown();
      // The server ends the subscription with REDIS_UNAVAILABLE once Redis has been away 30 s.
      await run.waitForStderr(/The server stopped sending progress: Redis is not answering right now[^\n]*Subscribing again \(for up to 2 minutes\)\.\n/, 90_000);
      await redisServer.start();
      await run.waitForStderr(new RegExp(`Progress of batch ${id} flows again\\.`), 60_000);
      worker = await startWorkerProcess({ ...env, SIFT_LOG_LEVEL: 'info' });
      const { code, stdout, stderr } = await run.exited;
      expect(code).toBe(0);
      expect(stderr.match(/stopped sending progress/g)).toHaveLength(1);
      expect(stderr).not.toContain('Connection to');
      const { batch } = await new SiftClient(api.url).request(BatchDocument, { id });
      expect(batch).toMatchObject({ status: 'COMPLETED', processed: 2000 });
      expect(stdout).toBe(`${batch!.succeeded.toLocaleString('en-US')}/2,000 succeeded, ${batch!.cached} from cache, ${batch!.failed} failed\n`);
    } finally {
      await worker?.stop();
      await api.stop();
      const redis = new Redis(redisServer.url);
      await deleteKeys(redis, prefix).catch(() => undefined);
      redis.disconnect();
      await redisServer.kill();
    }
  }, 240_000);
});

describe('sift watch when the batch is gone from the server while followed', () => {
  it('says the batch is gone (its Redis lost it), not that the id is unknown, and exits 4', async () => {
    const prefix = uniquePrefix('cli-batch-gone');
    const api = await startApiProcess(await freePort(), { ...shared, SIFT_KEY_PREFIX: prefix, SIFT_LOG_LEVEL: 'warn' });
    const redis = testRedis();
    try {
      // No worker: the batch waits, queued, while it is followed.
      const csv = `text\n${Array.from({ length: 500 }, (_, i) => `gone ${i} warm cold`).join('\n')}\n`;
      const { id } = (await (await fetch(`${api.url}/batches`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv })).json()) as { id: string };
      const run = startSift(['watch', id, '--url', api.url]);
      await run.waitForStderr(/progress: 0\/500 0% .* QUEUED/);
      // What a Redis restarted without persistence (or emptied) leaves: nothing of the batch.
      await deleteKeys(redis, prefix);
      const { code, stderr } = await run.exited;
      // Before: "No batch has the id ... (or it expired)." and exit 2, the code for a mistake in the command.
      expect([code, stderr]).toEqual([4, expect.stringContaining(`sift: Batch ${id} is gone from the server while it was followed: its Redis lost its data`)]);
    } finally {
      await api.stop();
      await deleteKeys(redis, prefix);
      redis.disconnect();
    }
  }, 60_000);

  it('a mistyped id is still the caller\'s mistake: exit 2, the id is unknown', async () => {
    const prefix = uniquePrefix('cli-batch-unknown');
    const api = await startApiProcess(await freePort(), { ...shared, SIFT_KEY_PREFIX: prefix, SIFT_LOG_LEVEL: 'warn' });
    try {
      const { code, stderr } = await startSift(['watch', 'no-such-batch', '--url', api.url]).exited;
      expect([code, stderr]).toEqual([2, expect.stringContaining('No batch has the id "no-such-batch"')]);
    } finally {
      await api.stop();
    }
  }, 60_000);
});
