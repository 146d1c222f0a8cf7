import { Redis } from 'ioredis';
import { BatchDocument, CancelBatchDocument, SubmitBatchDocument } from '../../src/client/generated/graphql';
import { SiftClient } from '../../src/client/sift-client';
import { redisKeys } from '../../src/redis/keys';
import { eventually, freePort, startTestApi, type TestApi } from '../support/api';
import { COUNTS_ONLY, indicesOf, range, ROW_INDICES, type LeanProgress } from '../support/progress';
import { deleteKeys, startMonitor, testRedis, uniquePrefix } from '../support/redis';
import { startRedisServer } from '../support/redis-server';
import { startSiftUp, type SiftUp } from '../support/sift-up';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };

const textsOf = (n: number, tag: string) => Array.from({ length: n }, (_, i) => (i % 97 === 5 ? '' : `${tag} ${i} warm cold hot ${i % 13}`));

describe('batchProgress: rows in input order, exactly once, resumable', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_CHUNK_SIZE: '50' });
  });
  afterAll(() => t.stop());

  const workerEnv = () => ({ ...shared, SIFT_KEY_PREFIX: t.prefix, SIFT_WORKER_CONCURRENCY: '4' });

  /** Subscriptions Redis holds on a batch's progress channel (one per API process, whatever its subscribers). */
  async function channelSubscribers(id: string): Promise<number> {
    const redis = testRedis();
    try {
      return Number(((await redis.pubsub('NUMSUB', redisKeys(t.prefix).progressChannel(id))) as [string, number])[1]);
    } finally {
      redis.disconnect();
    }
  }

  it('a row subscriber on a queued batch gets its snapshot once, then the final event', async () => {
    // No worker: the batch stays queued until it is cancelled. Before, the QUEUED snapshot came twice.
    const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts: textsOf(20, 'queued') } });
    const events = t.client.collect(ROW_INDICES, { id: submitBatch.id });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await t.client.request(CancelBatchDocument, { id: submitBatch.id });
    expect((await events).map((event) => event.batchProgress.batch.status)).toEqual(['QUEUED', 'CANCELLED']);
  });

  it('a subscriber that leaves mid-batch and resumes with fromRow gets every row once, in order; so does one that stays', async () => {
    const texts = textsOf(5000, 'resume');
    const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts } });
    const id = submitBatch.id;
    const stays = new SiftClient(t.api.url);
    const leaves = new SiftClient(t.api.url);
    const resumes = new SiftClient(t.api.url);
    const worker = await startWorkerProcess(workerEnv());
    try {
      // fromRow 0: every row of the batch, whenever the subscription reaches the server.
      const all = stays.collect(ROW_INDICES, { id, fromRow: 0 });
      const held: number[] = [];
      for await (const event of leaves.subscribe(ROW_INDICES, { id, fromRow: 0 })) {
        held.push(...indicesOf([event]));
        if (held.length >= 1000) break; // the connection drops here
      }
      await leaves.close();
      expect(held.length).toBeLessThan(5000);
      const rest = await resumes.collect(ROW_INDICES, { id, fromRow: held[held.length - 1] + 1 });
      const staying = await all;
      // In input order, every row once, for the subscriber that stayed and for the one that came back.
      expect(indicesOf(staying)).toEqual(range(5000));
      expect([...held, ...indicesOf(rest)]).toEqual(range(5000));
      for (const events of [staying, rest]) {
        expect(events.at(-1)!.batchProgress.batch).toMatchObject({ status: 'COMPLETED', processed: 5000, total: 5000 });
        const processed = events.map((e) => e.batchProgress.batch.processed);
        expect(processed).toEqual([...processed].sort((a, b) => a - b));
      }
    } finally {
      await Promise.all([stays.close(), resumes.close()]);
      await worker.stop();
    }
  }, 60_000);

  it('on a finished batch: fromRow replays the rows from there and completes; without it, one final snapshot', async () => {
    const worker = await startWorkerProcess(workerEnv());
    try {
      const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts: textsOf(1234, 'done') } });
      await eventually(async () => (await t.client.request(BatchDocument, { id: submitBatch.id })).batch?.status === 'COMPLETED', 30_000, 'completion');
      const everything = await t.client.collect(ROW_INDICES, { id: submitBatch.id, fromRow: 0 });
      expect(indicesOf(everything)).toEqual(range(1234));
      expect(everything[0].batchProgress.rows).toEqual([]);
      expect(everything.every((e) => e.batchProgress.batch.status === 'COMPLETED')).toBe(true);
      expect(indicesOf(await t.client.collect(ROW_INDICES, { id: submitBatch.id, fromRow: 1200 }))).toEqual(range(1200, 1234));
      const plain = await t.client.collect(ROW_INDICES, { id: submitBatch.id });
      expect(plain).toHaveLength(1);
      expect(plain[0].batchProgress).toMatchObject({ batch: { status: 'COMPLETED', processed: 1234 }, rows: [] });
    } finally {
      await worker.stop();
    }
  }, 60_000);

  it('a late subscriber gets the rows that finish after it came, once each, in order, up to the last', async () => {
    const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts: textsOf(6000, 'late') } });
    const id = submitBatch.id;
    const worker = await startWorkerProcess(workerEnv());
    const late = new SiftClient(t.api.url);
    try {
      // Frozen under way until the late subscription reaches Redis, so it comes mid-batch however fast the machine.
      await worker.runUntil(async () => ((await t.client.request(BatchDocument, { id })).batch?.processed ?? 0) >= 500, 'the batch to be under way');
      const collected = late.collect(ROW_INDICES, { id });
      await eventually(async () => (await channelSubscribers(id)) === 1, 5000, 'the late subscription to reach Redis');
      worker.resume();
      const events = await collected;
      const indices = indicesOf(events);
      expect(indices.length).toBeGreaterThan(0);
      expect(indices).toEqual(range(indices[0], 6000));
      expect(events.at(-1)!.batchProgress.batch).toMatchObject({ status: 'COMPLETED', processed: 6000 });
    } finally {
      await late.close();
      await worker.stop();
    }
  }, 60_000);

  it('after a cancel, the last event carries the final counts and exactly the rows counted', async () => {
    const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts: textsOf(10_000, 'cancel') } });
    const id = submitBatch.id;
    const watcher = new SiftClient(t.api.url);
    const events = watcher.collect(ROW_INDICES, { id });
    await eventually(async () => (await channelSubscribers(id)) === 1, 5000, 'the subscription to reach Redis');
    const worker = await startWorkerProcess({ ...workerEnv(), SIFT_CHUNK_SIZE: '50' });
    try {
      // Frozen for the cancel, so it lands mid-batch however fast the machine; chunks in hand finish after it.
      await worker.runUntil(async () => ((await t.client.request(BatchDocument, { id })).batch?.processed ?? 0) >= 1500, 'some rows to finish');
      const { cancelBatch } = await t.client.request(CancelBatchDocument, { id });
      worker.resume();
      const received = await events;
      const last = received.at(-1)!.batchProgress.batch;
      expect(last.status).toBe('CANCELLED');
      // Chunks in flight at the cancel finish, but add nothing: the counts stay as the cancel left them.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const { batch } = await t.client.request(BatchDocument, { id });
      for (const final of [last, batch!]) {
        expect(final).toMatchObject({ processed: cancelBatch.processed, succeeded: cancelBatch.succeeded, failed: cancelBatch.failed, cached: cancelBatch.cached });
      }
      expect(cancelBatch.processed).toBeLessThan(10_000);
      const indices = indicesOf(received);
      expect(new Set(indices).size).toBe(indices.length);
      expect(indices.length).toBe(cancelBatch.processed);
      expect(indices).toEqual([...indices].sort((a, b) => a - b));
    } finally {
      await watcher.close();
      await worker.stop();
    }
  }, 60_000);

});

describe('batchProgress from an API in a process of its own', () => {
  /** `sift up` with no workers: the API alone, on `port`, under `prefix`. */
  async function startApiProcess(port: number, prefix: string): Promise<SiftUp> {
    // No rate limit on operations: one client opening 1,000 subscriptions at once is what the default would stop.
    const api = startSiftUp({ ...shared, PORT: String(port), SIFT_WORKERS: '0', SIFT_KEY_PREFIX: prefix, SIFT_CHUNK_SIZE: '50', SIFT_LOG_LEVEL: 'warn', SIFT_RATE_REQUESTS_PER_SECOND: '0' });
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200, 30_000, 'the API to be ready');
    return api;
  }

  it('1,000 subscribers (one process of clients) on one API process: each gets every row once, in order, and the final event; Redis holds one subscription', async () => {
    const port = await freePort();
    const prefix = uniquePrefix('fanout');
    const api = await startApiProcess(port, prefix);
    const client = new SiftClient(`http://127.0.0.1:${port}`);
    const clients = Array.from({ length: 1000 }, () => new SiftClient(`http://127.0.0.1:${port}`));
    const redis = testRedis();
    let worker: WorkerProcess | undefined;
    try {
      const { submitBatch } = await client.request(SubmitBatchDocument, { input: { texts: textsOf(2000, 'fan') } });
      const id = submitBatch.id;
      const snapshots = clients.map(() => 0);
      const all = clients.map((c, i) =>
        (async () => {
          const events: LeanProgress[] = [];
          for await (const event of c.subscribe(ROW_INDICES, { id })) {
            events.push(event);
            snapshots[i] = 1;
          }
          return events;
        })(),
      );
      // Every subscriber has its first event (the snapshot) before any row finishes.
      await eventually(async () => snapshots.every((got) => got === 1), 60_000, 'every subscriber to get its snapshot');
      expect(Number(((await redis.pubsub('NUMSUB', redisKeys(prefix).progressChannel(id))) as [string, number])[1])).toBe(1);
      worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: prefix });
      const results = await Promise.all(all);
      const expected = range(2000);
      const wrong = results.filter((events) => {
        const indices = indicesOf(events);
        return indices.length !== 2000 || indices.some((index, i) => index !== expected[i]) || events.at(-1)!.batchProgress.batch.status !== 'COMPLETED';
      });
      expect(results).toHaveLength(1000);
      expect(wrong).toHaveLength(0);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await client.close();
      await worker?.stop();
      await api.stop();
      await deleteKeys(redis, prefix);
      redis.disconnect();
    }
  }, 150_000);

  it('the API killed and started again mid-batch: a client resuming from its last row ends with every row once', async () => {
    const port = await freePort();
    const prefix = uniquePrefix('api-restart');
    let api = await startApiProcess(port, prefix);
    const url = `http://127.0.0.1:${port}`;
    const client = new SiftClient(url);
    const redis = testRedis();
    let worker: WorkerProcess | undefined;
    try {
      const { submitBatch } = await client.request(SubmitBatchDocument, { input: { texts: textsOf(10_000, 'crash') } });
      const id = submitBatch.id;
      worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: prefix, SIFT_WORKER_CONCURRENCY: '1' });
      const held: number[] = [];
      let last: LeanProgress['batchProgress']['batch'] | undefined;
      let killed = false;
      // A client as the CLI is one: on a dropped connection, subscribe again from the row after the last it holds.
      for (let attempt = 0; attempt < 100 && last?.status !== 'COMPLETED'; attempt++) {
        const watcher = new SiftClient(url);
        try {
          for await (const event of watcher.subscribe(ROW_INDICES, { id, fromRow: held.length === 0 ? 0 : held[held.length - 1] + 1 })) {
            held.push(...indicesOf([event]));
            last = event.batchProgress.batch;
            if (!killed && held.length >= 2000) {
              killed = true;
              await api.kill();
              api = await startApiProcess(port, prefix);
            }
          }
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 200));
        } finally {
          await watcher.close();
        }
      }
      expect(killed).toBe(true);
      expect(held).toEqual(range(10_000));
      expect(last).toMatchObject({ status: 'COMPLETED', processed: 10_000 });
    } finally {
      await client.close();
      await worker?.stop();
      await api.stop();
      await deleteKeys(redis, prefix);
      redis.disconnect();
    }
  }, 120_000);
});

describe('batchProgress costs and faults', () => {
  it('a subscriber that selects no rows costs no row reads', async () => {
    const server = await startRedisServer(await freePort());
    const t = await startTestApi({ ...shared, REDIS_URL: server.url, SIFT_CHUNK_SIZE: '50' });
    const monitor = new Redis(server.url);
    const watchers = Array.from({ length: 10 }, () => new SiftClient(t.api.url));
    const resultsKeyReads: string[] = [];
    let worker: WorkerProcess | undefined;
    try {
      const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts: textsOf(3000, 'counts') } });
      const resultsKey = redisKeys(t.prefix).batchResults(submitBatch.id);
      const feed = await startMonitor(monitor);
      feed.on('monitor', (_time: string, args: string[]) => {
        if (args.includes(resultsKey) && /^(hmget|hkeys|hget|hgetall)$/i.test(args[0])) resultsKeyReads.push(args[0]);
      });
      const all = watchers.map((w) => w.collect(COUNTS_ONLY, { id: submitBatch.id }));
      worker = await startWorkerProcess({ ...shared, REDIS_URL: server.url, SIFT_KEY_PREFIX: t.prefix });
      const results = await Promise.all(all);
      for (const events of results) expect(events.at(-1)!.batchProgress.batch).toMatchObject({ status: 'COMPLETED', processed: 3000 });
      expect(resultsKeyReads).toEqual([]);
      // The same batch watched with rows does read them: the monitor sees it.
      await t.client.collect(ROW_INDICES, { id: submitBatch.id, fromRow: 0 });
      await eventually(async () => resultsKeyReads.length > 0, 5000, 'the row reads to show');
      feed.disconnect();
    } finally {
      monitor.disconnect();
      await Promise.all(watchers.map((w) => w.close()));
      await worker?.stop();
      await t.stop();
      await server.kill();
    }
  }, 60_000);

  it('a subscriber open while Redis restarts carries on when it is back, with no gap and no duplicate', async () => {
    const server = await startRedisServer(await freePort(), { appendOnly: true });
    const t = await startTestApi({ ...shared, REDIS_URL: server.url, SIFT_CHUNK_SIZE: '50' });
    const watcher = new SiftClient(t.api.url);
    let worker: WorkerProcess | undefined;
    try {
      const csv = ['text', ...textsOf(20_000, 'outage').map((text) => text || 'x')].join('\n');
      const uploaded = await fetch(`${t.api.url}/batches`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
      const { id } = (await uploaded.json()) as { id: string };
      const events = watcher.collect(ROW_INDICES, { id });
      worker = await startWorkerProcess({ ...shared, REDIS_URL: server.url, SIFT_KEY_PREFIX: t.prefix, SIFT_STALL_INTERVAL_MS: '1000' });
      // Frozen for the shutdown, so the outage lands mid-batch however fast the machine; it lives through the outage running.
      await worker.runUntil(async () => ((await t.client.request(BatchDocument, { id })).batch?.processed ?? 0) >= 2000, 'the batch to be under way');
      await server.shutdown();
      worker.resume();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await server.start();
      const received = await events;
      expect(indicesOf(received)).toEqual(range(20_000));
      expect(received.at(-1)!.batchProgress.batch).toMatchObject({ status: 'COMPLETED', processed: 20_000 });
    } finally {
      await watcher.close();
      await worker?.stop();
      await t.stop();
      await server.kill();
    }
  }, 90_000);
});
