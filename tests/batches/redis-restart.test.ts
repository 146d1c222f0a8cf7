import { Redis } from 'ioredis';
import { BatchDocument, BatchesDocument, SubmitBatchDocument } from '../../src/client/generated/graphql';
import { eventually, freePort, startTestApi, type TestApi } from '../support/api';
import { startRedisServer, type TestRedisServer } from '../support/redis-server';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };
const ROWS = 40_000;

/** POST /batches with a CSV of `rows` texts. */
function upload(t: TestApi, rows: number, tag: string): Promise<Response> {
  const csv = ['text', ...Array.from({ length: rows }, (_, i) => `${tag} row ${i} warm cold ${i % 101}`)].join('\n');
  return fetch(`${t.api.url}/batches`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
}

/** What `read` gives once it stops failing (the API reconnecting), within `timeoutMs`. */
async function answered<T>(read: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await read();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function batchOf(t: TestApi, id: string) {
  return (await t.client.request(BatchDocument, { id })).batch;
}

describe('Redis restarted mid-batch (AOF on)', () => {
  let redis: TestRedisServer;
  let t: TestApi;
  let worker: WorkerProcess;
  beforeAll(async () => {
    redis = await startRedisServer(await freePort(), { appendOnly: true });
    t = await startTestApi({ ...shared, REDIS_URL: redis.url, SIFT_CHUNK_SIZE: '50' });
    worker = await startWorkerProcess({ ...shared, REDIS_URL: redis.url, SIFT_KEY_PREFIX: t.prefix, SIFT_STALL_INTERVAL_MS: '1000', SIFT_LOG_LEVEL: 'info' });
  });
  afterAll(async () => {
    await worker.stop();
    await t.stop();
    await redis.kill();
  });

  it('costs time only: intake says 503 REDIS_UNAVAILABLE while it is down, then the batch completes with every row once, with no process restarted', async () => {
    const submitted = await upload(t, ROWS, 'before');
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    // Frozen for the shutdown, so the restart cuts into the batch however fast the machine; it lives through the outage running.
    await worker.runUntil(async () => ((await batchOf(t, id))?.processed ?? 0) >= 1000, 'the worker to be well into the batch');
    await redis.shutdown();
    worker.resume();
    // While Redis is down, batch intake says so, with a code and when to try again, over HTTP and GraphQL.
    const refused = await upload(t, 10, 'during');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('REDIS_UNAVAILABLE');
    const viaGraphQL = await fetch(`${t.api.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation { submitBatch(input: { texts: ["a"] }) { id } }' }),
    });
    const answer = (await viaGraphQL.json()) as { errors: { extensions: { code: string; retryAfterSeconds: number } }[] };
    expect(answer.errors[0].extensions).toMatchObject({ code: 'REDIS_UNAVAILABLE', retryAfterSeconds: expect.any(Number) });
    await new Promise((resolve) => setTimeout(resolve, 1500));

    await redis.start();
    // Redis has the batch back from its append-only file, part done: the restart really cut into it.
    const atRestart = await answered(() => batchOf(t, id));
    expect(atRestart?.status).toBe('RUNNING');
    expect(atRestart!.processed).toBeLessThan(ROWS);
    // Intake works again within seconds: Redis forgot every loaded script, and the queue loads them again.
    await eventually(async () => (await upload(t, 10, 'after')).status === 202, 10_000, 'an upload to be taken again');

    await eventually(async () => (await batchOf(t, id))?.status === 'COMPLETED', 90_000, 'the batch to complete');
    expect(await batchOf(t, id)).toMatchObject({ total: ROWS, processed: ROWS, succeeded: ROWS, failed: 0 });
    const download = await fetch(`${t.api.url}/batches/${id}/results.csv`);
    const indexes = (await download.text()).trimEnd().split('\r\n').slice(1).map((line) => Number(line.split(',')[0]));
    expect(indexes).toEqual(Array.from({ length: ROWS }, (_, i) => i));
    // The worker process lived through it: it is the same process, and it stops cleanly.
    expect(worker.output()).not.toMatch(/NOSCRIPT|Unhandled|exited/);
    expect(worker.exitCode()).toBeNull();
  }, 150_000);
});

describe('Redis restarted without its data while an upload is read (no persistence)', () => {
  let redis: TestRedisServer;
  let t: TestApi;
  beforeAll(async () => {
    redis = await startRedisServer(await freePort());
    t = await startTestApi({ ...shared, REDIS_URL: redis.url, SIFT_CHUNK_SIZE: '2' });
  });
  afterAll(async () => {
    await t.stop();
    await redis.kill();
  });

  it('answers the upload 503 REDIS_UNAVAILABLE, saying its batch was lost (before: 500 from a script), and the next upload makes its batch', async () => {
    let resume: () => void = () => undefined;
    const restarted = new Promise<void>((resolve) => (resume = resolve));
    let piece = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (piece === 0) controller.enqueue(Buffer.from('text\na\nb\nc\n'));
        else if (piece === 1) await restarted;
        else if (piece < 6) controller.enqueue(Buffer.from(`after ${piece}\nmore ${piece}\n`));
        else return controller.close();
        piece++;
      },
    });
    const answer = fetch(`${t.api.url}/batches`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body, duplex: 'half' } as RequestInit);
    // The first chunk is stored; then Redis restarts empty, and the API is back on it before more rows come.
    const probe = new Redis(redis.url);
    try {
      await eventually(async () => (await probe.keys(`${t.prefix}batch:*:chunk:0`)).length > 0, 10_000, 'the upload\'s first chunk to be stored');
    } finally {
      probe.disconnect();
    }
    await redis.shutdown();
    await redis.start();
    await answered(() => t.client.request(BatchesDocument, { first: 1 }));
    resume();
    const response = await answer;
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('2');
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error).toMatchObject({ code: 'REDIS_UNAVAILABLE', message: expect.stringMatching(/^Redis lost batch \S+ while its input was read .* Send it again\.$/) });
    const again = await upload(t, 10, 'again');
    expect(again.status).toBe(202);
    const { id } = (await again.json()) as { id: string };
    expect((await batchOf(t, id))?.total).toBe(10);
  }, 60_000);
});
