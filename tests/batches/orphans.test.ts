import { Redis } from 'ioredis';
import { BatchDocument, SubmitBatchDocument } from '../../src/client/generated/graphql';
import { jobsKey, waitingKey } from '../../src/batches/chunk-queue';
import { redisKeys } from '../../src/redis/keys';
import { eventually, freePort, startTestApi, type TestApi } from '../support/api';
import { deleteKeys, scanKeys, testRedis, uniquePrefix } from '../support/redis';
import { startRedisServer, type TestRedisServer } from '../support/redis-server';
import { startSiftUp } from '../support/sift-up';
import { tinyModelsDir } from '../support/tiny-models';
import { startTestWorker } from '../support/worker';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };

/** What a prefix holds in Redis: batch records, input chunks, queued jobs, chunks waiting in the schedule. */
async function leftovers(redis: Redis, prefix: string) {
  const keys = redisKeys(prefix);
  const scan = async (pattern: string) => {
    const found: string[] = [];
    for await (const page of scanKeys(redis, pattern)) found.push(...page);
    return found;
  };
  const all = await scan(`${prefix}batch:*`);
  // The schedule's turn counter stays, as the sweeper's lock does, and so do the rings' marks of
  // who was served last (for an hour): they hold no work.
  const scheduled = (await scan(`${keys.schedulePrefix()}*`)).filter((key) => key !== `${keys.schedulePrefix()}turns` && !key.endsWith(':served'));
  return {
    /** Batch records, input chunks and results. */
    batches: all.length,
    /** Schedule entries and rings. */
    scheduled: scheduled.length,
    jobs: await redis.hlen(jobsKey(keys)),
    waiting: await redis.llen(waitingKey(keys)),
    active: await redis.zcard(keys.activeBatches()),
  };
}
const NOTHING = { batches: 0, scheduled: 0, jobs: 0, waiting: 0, active: 0 };

/**
 * A CSV upload that sends `rows` rows in pieces of 500, waiting `pauseMs` between pieces, and
 * stops (with an error, as a client that goes away) after `failAfter` pieces when given.
 */
function slowCsv(rows: number, pauseMs: number, failAfter?: number, stop?: AbortSignal): ReadableStream<Uint8Array> {
  let sent = 0;
  let pieces = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // fetch goes on reading a body it can no longer send (its server gone): stopped by the test.
      if (stop?.aborted) {
        controller.close();
        return;
      }
      if (pieces === 0) controller.enqueue(Buffer.from('text\n'));
      if (failAfter !== undefined && pieces >= failAfter) {
        controller.error(new Error('the client went away'));
        return;
      }
      if (sent >= rows) {
        controller.close();
        return;
      }
      const lines = Array.from({ length: Math.min(500, rows - sent) }, (_, i) => `slow upload row ${sent + i} warm cold`).join('\n') + '\n';
      sent += 500;
      pieces++;
      if (pieces > 1) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      controller.enqueue(Buffer.from(lines));
    },
  });
}

function post(url: string, body: ReadableStream<Uint8Array> | string, signal?: AbortSignal, query = ''): Promise<Response> {
  return fetch(`${url}/batches${query}`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body, duplex: 'half', signal } as RequestInit);
}

describe('an upload that fails leaves no batch and no queued work', () => {
  let t: TestApi;
  let redis: Redis;
  beforeAll(async () => {
    // No worker runs: whatever an upload queued stays queued unless it is taken back.
    t = await startTestApi({ ...shared, SIFT_CHUNK_SIZE: '100' });
    redis = testRedis();
  });
  afterAll(async () => {
    redis.disconnect();
    await t.stop();
  });

  it('a client that goes away half way', async () => {
    const failed = await post(t.api.url, slowCsv(20_000, 20, 8)).catch((error: Error) => error);
    expect(failed).not.toBeInstanceOf(Response);
    await eventually(async () => JSON.stringify(await leftovers(redis, t.prefix)) === JSON.stringify(NOTHING), 10_000, 'nothing to be left');
  });

  it('a client that aborts half way', async () => {
    const abort = new AbortController();
    const sending = post(t.api.url, slowCsv(50_000, 50), abort.signal).catch((error: Error) => error);
    await eventually(async () => (await leftovers(redis, t.prefix)).batches >= 10, 10_000, 'some chunks to be stored and scheduled');
    abort.abort();
    expect(await sending).not.toBeInstanceOf(Response);
    await eventually(async () => JSON.stringify(await leftovers(redis, t.prefix)) === JSON.stringify(NOTHING), 10_000, 'nothing to be left');
  });

  it('a bad row after many good ones', async () => {
    const lines = Array.from({ length: 10_000 }, (_, i) => JSON.stringify({ text: `good line ${i}` }));
    const response = await fetch(`${t.api.url}/batches`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: `${lines.join('\n')}\n{"text": oops}\n` });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'MALFORMED_JSON', message: expect.stringContaining('Line 10001') });
    expect(await leftovers(redis, t.prefix)).toEqual(NOTHING);
  });
});

describe('Redis stopped during an upload', () => {
  let server: TestRedisServer;
  let t: TestApi;
  beforeAll(async () => {
    server = await startRedisServer(await freePort(), { appendOnly: true });
    t = await startTestApi({ ...shared, REDIS_URL: server.url, SIFT_CHUNK_SIZE: '100' });
  });
  afterAll(async () => {
    await t.stop();
    await server.kill();
  });

  it('answers 503 REDIS_UNAVAILABLE, and once Redis is back nothing of the upload is left, its idempotency key free again', async () => {
    const own = new Redis(server.url);
    const idempotencyKeys = async () => {
      const found: string[] = [];
      for await (const page of scanKeys(own, `${t.prefix}idem:*`)) found.push(...page);
      return found.length;
    };
    try {
      const sending = post(t.api.url, slowCsv(100_000, 30), undefined, '?idempotencyKey=outage-1');
      await eventually(async () => (await leftovers(own, t.prefix)).batches >= 10, 10_000, 'some chunks to be stored and scheduled');
      await server.shutdown();
      const response = await sending;
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('REDIS_UNAVAILABLE');
      await server.start();
      // The data came back from the append-only file, and the API takes its queued work back.
      await eventually(async () => JSON.stringify(await leftovers(own, t.prefix).catch(() => null)) === JSON.stringify(NOTHING), 20_000, 'nothing to be left');
      expect(t.logs.join('')).toMatch(/cannot be removed yet \(Redis is not answering\); trying again until it does[^]*queued chunks and record are removed/);
      // The key the failed submit had claimed is given up too (it stayed claimed for the batch
      // retention, and each retry waited a minute to be refused): the same request again is a new batch.
      await eventually(async () => (await idempotencyKeys().catch(() => -1)) === 0, 20_000, 'the idempotency key to be given up');
      expect(t.logs.join('')).toMatch(/idempotencyKey \\"outage-1\\" cannot give its key up yet[^]*idempotencyKey \\"outage-1\\" of a failed submit is free again/);
      const again = await post(t.api.url, 'text\na warm day\n', undefined, '?idempotencyKey=outage-1');
      expect(again.status).toBe(202);
    } finally {
      own.disconnect();
    }
  }, 60_000);
});

describe('the API stopping during an upload', () => {
  it('answers an upload that ends soon after, and takes back one still coming with 503 SERVER_STOPPING, its idempotency key free', async () => {
    const prefix = uniquePrefix('stop-upload');
    const own = testRedis();
    const port = await freePort();
    const api = startSiftUp({ ...shared, PORT: String(port), SIFT_WORKERS: '0', SIFT_KEY_PREFIX: prefix, SIFT_CHUNK_SIZE: '100' });
    const stop = new AbortController();
    try {
      await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200, 30_000, 'the API to be ready');
      // 2,000 rows, sent in about 2 s, and 100,000 rows in about 20.
      const short = post(`http://127.0.0.1:${port}`, slowCsv(2_000, 500, undefined, stop.signal));
      const sending = post(`http://127.0.0.1:${port}`, slowCsv(100_000, 100, undefined, stop.signal), undefined, '?idempotencyKey=stop-1');
      await eventually(async () => (await leftovers(own, prefix)).batches >= 10, 10_000, 'some chunks to be stored and scheduled');
      const stopped = api.stop();
      const shortAnswer = await short;
      expect(shortAnswer.status).toBe(202);
      const shortId = ((await shortAnswer.json()) as { id: string }).id;
      const response = await sending;
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('SERVER_STOPPING');
      // Before, the drain waited for the upload, cut it off after 10 s with Redis already closed,
      // and left its chunks queued for the sweeper, the client with no answer.
      expect((await stopped).code).toBe(0);
      // The short upload's batch stays (no worker ran it); nothing of the other is left.
      const batchIds = new Set<string>();
      for await (const page of scanKeys(own, `${prefix}batch:*`)) for (const key of page) batchIds.add(key.slice(`${prefix}batch:`.length).split(':')[0]);
      expect([...batchIds]).toEqual([shortId]);
      expect((await leftovers(own, prefix)).active).toBe(1);
      const idempotencyKeys: string[] = [];
      for await (const page of scanKeys(own, `${prefix}idem:*`)) idempotencyKeys.push(...page);
      expect(idempotencyKeys).toEqual([]);
    } finally {
      stop.abort();
      await api.kill();
      await deleteKeys(own, prefix);
      own.disconnect();
    }
  }, 60_000);
});

describe('the sweeper', () => {
  const quick = { SIFT_STUCK_AFTER_MS: '1500', SIFT_SWEEP_INTERVAL_MS: '300' };

  it('removes an upload whose API process died half way, with its queued chunks', async () => {
    const prefix = uniquePrefix('sweep-abandoned');
    const port = await freePort();
    const api = startSiftUp({ ...shared, ...quick, PORT: String(port), SIFT_WORKERS: '0', SIFT_KEY_PREFIX: prefix, SIFT_CHUNK_SIZE: '100', SIFT_LOG_LEVEL: 'warn' });
    const redis = testRedis();
    try {
      await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200, 30_000, 'the API to be ready');
      const stop = new AbortController();
      const sending = post(`http://127.0.0.1:${port}`, slowCsv(100_000, 50, undefined, stop.signal)).catch((error: Error) => error);
      await eventually(async () => (await leftovers(redis, prefix)).batches >= 10, 10_000, 'some chunks to be stored and scheduled');
      await api.kill();
      await sending;
      stop.abort();
      const left = await leftovers(redis, prefix);
      expect(left.batches).toBeGreaterThan(1);
      // The queue's window holds a few chunks; the rest wait in the schedule.
      expect(left.jobs).toBeGreaterThanOrEqual(1);
      expect(left.scheduled).toBeGreaterThanOrEqual(1);
      const worker = await startTestWorker({ ...shared, ...quick, SIFT_KEY_PREFIX: prefix });
      try {
        await eventually(async () => JSON.stringify(await leftovers(redis, prefix)) === JSON.stringify(NOTHING), 20_000, 'nothing to be left');
        expect(worker.logs.join('')).toMatch(/sweeper: batch \S+: its upload stopped .* removed it and its \d+ queued chunk\(s\)/);
      } finally {
        await worker.stop();
      }
    } finally {
      await api.stop();
      await deleteKeys(redis, prefix);
      redis.disconnect();
    }
  }, 60_000);

  it('frees the idempotency key of an upload whose API process died half way: the same request then makes the batch', async () => {
    const prefix = uniquePrefix('sweep-idempotent');
    const port = await freePort();
    const env = { ...shared, ...quick, SIFT_WORKERS: '0', SIFT_KEY_PREFIX: prefix, SIFT_CHUNK_SIZE: '100', SIFT_LOG_LEVEL: 'warn' };
    const api = startSiftUp({ ...env, PORT: String(port) });
    const redis = testRedis();
    const claim = redisKeys(prefix).idempotency('local:died-1');
    let again: ReturnType<typeof startSiftUp> | undefined;
    try {
      await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200, 30_000, 'the API to be ready');
      const stop = new AbortController();
      const sending = post(`http://127.0.0.1:${port}`, slowCsv(100_000, 50, undefined, stop.signal), undefined, '?idempotencyKey=died-1').catch((error: Error) => error);
      await eventually(async () => (await leftovers(redis, prefix)).batches >= 10, 10_000, 'some chunks to be stored and scheduled');
      // Claimed for as long as the upload may be silent, not for the batch retention (7 days).
      expect(await redis.get(claim)).toMatch(/^pending:/);
      expect(await redis.pttl(claim)).toBeLessThanOrEqual(1500);
      await api.kill();
      await sending;
      stop.abort();
      // The client's retry, to an API started again: before, it waited a minute, then was refused for 7 days.
      const port2 = await freePort();
      again = startSiftUp({ ...env, PORT: String(port2) });
      await eventually(async () => (await fetch(`http://127.0.0.1:${port2}/readyz`).catch(() => null))?.status === 200, 30_000, 'the API to be ready again');
      const started = Date.now();
      const response = await post(`http://127.0.0.1:${port2}`, 'text\na warm day\n', undefined, '?idempotencyKey=died-1');
      const answer = (await response.json()) as { id?: string; error?: { code: string } };
      // Within the claim's life, the retry is told to come back (409 FIRST_SUBMIT_PENDING, Retry-After);
      // once it lapsed, it makes the batch.
      if (response.status === 409) {
        expect([answer.error?.code, response.headers.get('retry-after')]).toEqual(['FIRST_SUBMIT_PENDING', '1']);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const retried = await post(`http://127.0.0.1:${port2}`, 'text\na warm day\n', undefined, '?idempotencyKey=died-1');
        expect(retried.status).toBe(202);
      } else {
        expect([response.status, answer.error]).toEqual([202, undefined]);
      }
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(JSON.parse((await redis.get(claim))!)).toMatchObject({ batch: expect.any(String) });
      expect(await redis.ttl(claim)).toBeGreaterThan(3600);
    } finally {
      await again?.stop();
      await api.stop();
      await deleteKeys(redis, prefix);
      redis.disconnect();
    }
  }, 90_000);

  it('a request sent again while a dead submit\'s claim lingers waits for it to lapse, then makes the batch: one upload, not two', async () => {
    const t = await startTestApi({ ...shared, ...quick, SIFT_CHUNK_SIZE: '100' });
    const redis = testRedis();
    try {
      // What an API process killed mid-upload leaves: its claim, renewed by no one.
      await redis.set(redisKeys(t.prefix).idempotency('local:dead-1'), 'pending:of-a-dead-submit', 'PX', 1500);
      const started = Date.now();
      const response = await post(t.api.url, 'text\na warm day\n', undefined, '?idempotencyKey=dead-1');
      // Before: its input read, then 409 FIRST_SUBMIT_PENDING once the claim lapsed, to be sent again whole.
      expect(response.status).toBe(202);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      const { id } = (await response.json()) as { id: string };
      expect(JSON.parse((await redis.get(redisKeys(t.prefix).idempotency('local:dead-1')))!)).toMatchObject({ batch: id });
    } finally {
      redis.disconnect();
      await t.stop();
    }
  }, 60_000);

  it('keeps the idempotency key of an upload slower than SIFT_STUCK_AFTER_MS claimed while it reads', async () => {
    const t = await startTestApi({ ...shared, ...quick, SIFT_CHUNK_SIZE: '100' });
    const redis = testRedis();
    const claim = redisKeys(t.prefix).idempotency('local:slow-1');
    try {
      // 6,000 rows in pieces of 500, 400 ms apart: about 4.4 s, three times the claim's life.
      const sending = post(t.api.url, slowCsv(6_000, 400), undefined, '?idempotencyKey=slow-1');
      const started = Date.now();
      const seen: { ms: number; value: string | null }[] = [];
      const watching = (async () => {
        while (Date.now() - started < 20_000) {
          const value = await redis.get(claim);
          seen.push({ ms: Date.now() - started, value });
          if (value?.startsWith('{')) return;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      const response = await sending;
      expect(response.status).toBe(202);
      const { id } = (await response.json()) as { id: string };
      await watching;
      // Claimed at every look until the batch was recorded there, past twice the claim's life:
      // never free for another submit to take.
      // (Looks before the submit made its claim find nothing: the record is the first look after a claim that is not one.)
      const pending = (value: string | null) => value?.startsWith('pending:') === true;
      const claimed = seen.findIndex(({ value }) => pending(value));
      expect(claimed).toBeGreaterThanOrEqual(0);
      const recorded = seen.findIndex(({ value }, i) => i > claimed && !pending(value));
      expect(seen[recorded].value).toMatch(/^\{/);
      expect(JSON.parse(seen[recorded].value!)).toMatchObject({ batch: id });
      expect(seen[recorded - 1].ms).toBeGreaterThan(3000);
      // The same request again answers that batch.
      const again = await post(t.api.url, slowCsv(6_000, 0), undefined, '?idempotencyKey=slow-1');
      expect([again.status, ((await again.json()) as { id: string }).id]).toEqual([202, id]);
    } finally {
      redis.disconnect();
      await t.stop();
    }
  }, 60_000);

  it('queues again a chunk that lost its job, and ends FAILED a batch whose chunk was lost', async () => {
    const t = await startTestApi({ ...shared, ...quick, SIFT_CHUNK_SIZE: '10' });
    const redis = testRedis();
    const keys = redisKeys(t.prefix);
    try {
      const requeue = (await t.client.request(SubmitBatchDocument, { input: { texts: Array.from({ length: 50 }, (_, i) => `requeue ${i}`) } })).submitBatch.id;
      const lose = (await t.client.request(SubmitBatchDocument, { input: { texts: Array.from({ length: 50 }, (_, i) => `lose ${i}`) } })).submitBatch.id;
      // The faults, as Redis losing data would leave them: chunk 2's job gone (input kept) in one
      // batch; chunk 3's job and input gone in the other.
      for (const [id, chunk] of [[requeue, 2], [lose, 3]] as const) {
        await redis.hdel(jobsKey(keys), `${id}:${chunk}`);
        await redis.lrem(waitingKey(keys), 0, `${id}:${chunk}`);
      }
      await redis.del(keys.batchChunk(lose, 3));
      const worker = await startTestWorker({ ...shared, ...quick, SIFT_KEY_PREFIX: t.prefix, SIFT_SWEEP_INTERVAL_MS: '3600000' });
      try {
        // The other chunks run; the batches cannot finish on their own.
        await eventually(async () => (await t.client.request(BatchDocument, { id: requeue })).batch?.processed === 40, 20_000, 'the other chunks');
        await new Promise((resolve) => setTimeout(resolve, 1600));
        expect((await t.client.request(BatchDocument, { id: requeue })).batch?.status).toBe('RUNNING');
        const report = await worker.worker.sweeper.sweep();
        expect(report).toMatchObject({ swept: true, requeued: { [requeue]: [2] }, failed: [lose] });
        await eventually(async () => (await t.client.request(BatchDocument, { id: requeue })).batch?.status === 'COMPLETED', 20_000, 'the requeued chunk to complete the batch');
        expect((await t.client.request(BatchDocument, { id: requeue })).batch).toMatchObject({ processed: 50, succeeded: 50 });
        const failed = (await t.client.request(BatchDocument, { id: lose })).batch!;
        expect(failed).toMatchObject({ status: 'FAILED', processed: 40, error: expect.stringMatching(/Chunk\(s\) 3 were lost/) });
        expect(worker.logs.join('')).toMatch(/queued 1 chunk\(s\) again/);
        expect(await redis.zcard(keys.activeBatches())).toBe(0);
      } finally {
        await worker.stop();
      }
    } finally {
      redis.disconnect();
      await t.stop();
    }
  }, 60_000);
});
