import { BatchDocument, BatchResultsDocument, SubmitBatchDocument } from '../../src/client/generated/graphql';
import type { SiftClient } from '../../src/client/sift-client';
import { Redis } from 'ioredis';
import { redisKeys } from '../../src/redis/keys';
import { eventually, freePort, startTestApi, type TestApi } from '../support/api';
import { testRedis } from '../support/redis';
import { startRedisServer } from '../support/redis-server';
import { tinyModelsDir } from '../support/tiny-models';
import { startTestWorker } from '../support/worker';
import { startWorkerProcess } from '../support/worker-process';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };

/** Rows of a batch counted so far (from its record, as any client reads it). */
async function processed(client: SiftClient, id: string): Promise<number> {
  return (await client.request(BatchDocument, { id })).batch?.processed ?? 0;
}

describe('worker faults cost time, never rows', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_CHUNK_SIZE: '25' });
  });
  afterAll(() => t.stop());

  const workerEnv = () => ({ ...shared, SIFT_KEY_PREFIX: t.prefix, SIFT_WORKER_CONCURRENCY: '2', SIFT_STALL_INTERVAL_MS: '500' });

  it('a worker killed with SIGKILL mid-batch: its chunks run elsewhere and every row lands exactly once', async () => {
    const victim = await startWorkerProcess(workerEnv());
    const texts = Array.from({ length: 8000 }, (_, i) => `row ${i} is warm or cold or hot, who knows ${i % 97}`);
    const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts } });
    // Frozen once a few chunks are done, so the kill lands mid-batch however fast the machine.
    await victim.runUntil(async () => (await processed(t.client, submitBatch.id)) >= 75, 'the first worker to finish a few chunks');
    const atKill = await processed(t.client, submitBatch.id);
    expect(await victim.stop('SIGKILL')).toBeNull();
    // The victim was mid-batch: whatever is left, only the survivor can do.
    expect(atKill).toBeLessThan(8000);
    const survivor = await startWorkerProcess(workerEnv());
    try {
      await eventually(async () => (await t.client.request(BatchDocument, { id: submitBatch.id })).batch?.status === 'COMPLETED', 60_000, 'the batch to complete');
      const { batch } = await t.client.request(BatchDocument, { id: submitBatch.id });
      expect(batch).toMatchObject({ total: 8000, processed: 8000, succeeded: 8000, failed: 0 });
      const seen: number[] = [];
      for (let offset = 0; offset < 8000; offset += 1000) {
        const page = (await t.client.request(BatchResultsDocument, { id: submitBatch.id, offset, limit: 1000 })).batch!.results;
        seen.push(...page.map((r) => r.index));
      }
      expect(seen).toEqual(texts.map((_, i) => i));
    } finally {
      await survivor.stop();
    }
  }, 110_000);

  it('a worker sent SIGTERM finishes the chunks in hand and exits cleanly', async () => {
    const worker = await startWorkerProcess(workerEnv());
    const texts = Array.from({ length: 4000 }, (_, i) => `graceful ${i}`);
    const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts } });
    await eventually(async () => (await processed(t.client, submitBatch.id)) >= 50, 30_000, 'the worker to start on the batch');
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(worker.output()).toMatch(/SIGTERM: finishing the chunks in hand/);
    // Whatever it had started, it finished: a second worker completes the rest with every row once.
    const second = await startWorkerProcess(workerEnv());
    try {
      await eventually(async () => (await t.client.request(BatchDocument, { id: submitBatch.id })).batch?.status === 'COMPLETED', 60_000, 'the batch to complete');
      const { batch } = await t.client.request(BatchDocument, { id: submitBatch.id });
      expect(batch).toMatchObject({ processed: 4000, succeeded: 4000 });
    } finally {
      await second.stop();
    }
  }, 110_000);

  it('SIGINT and SIGTERM together (Ctrl-C in sift up\'s terminal, then sift up\'s own stop) are one stop: it drains and exits 0', async () => {
    const worker = await startWorkerProcess(workerEnv());
    const texts = Array.from({ length: 4000 }, (_, i) => `twice told ${i}`);
    const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts } });
    await eventually(async () => (await processed(t.client, submitBatch.id)) >= 50, 30_000, 'the worker to start on the batch');
    // Frozen, the worker gets both signals at once when it resumes: the closest a test comes to the
    // terminal's SIGINT and the supervisor's SIGTERM arriving a few milliseconds apart.
    worker.pause();
    worker.signal('SIGINT');
    worker.signal('SIGTERM');
    worker.resume();
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toMatch(/(SIGINT|SIGTERM): finishing the chunks in hand/);
    expect(worker.output()).not.toMatch(/again: exiting without waiting/);
    const second = await startWorkerProcess(workerEnv());
    try {
      await eventually(async () => (await t.client.request(BatchDocument, { id: submitBatch.id })).batch?.status === 'COMPLETED', 60_000, 'the batch to complete');
      expect((await t.client.request(BatchDocument, { id: submitBatch.id })).batch).toMatchObject({ processed: 4000, succeeded: 4000 });
    } finally {
      await second.stop();
    }
  }, 110_000);

  it('a chunk that keeps failing is retried with backoff, then ends the batch FAILED with the reason; finished rows stay downloadable', async () => {
    const texts = Array.from({ length: 100 }, (_, i) => `doomed or not ${i}`);
    const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts } });
    // The fault: chunk 1's stored rows are corrupt, so every run of it throws (no worker runs yet).
    const redis = testRedis();
    await redis.set(redisKeys(t.prefix).batchChunk(submitBatch.id, 1), '{corrupt');
    redis.disconnect();
    // In this process, so the test reads the consumer's own events rather than its log.
    const worker = await startTestWorker(workerEnv());
    try {
      await eventually(async () => (await t.client.request(BatchDocument, { id: submitBatch.id })).batch?.status === 'FAILED', 30_000, 'the batch to fail');
      const { batch } = await t.client.request(BatchDocument, { id: submitBatch.id });
      expect(batch?.error).toMatch(/^Chunk 1 kept failing: .*JSON/);
      // Its three retries ran (each after a backoff) before it was given up, and only chunk 1 failed.
      const chunk1 = { batchId: submitBatch.id, chunk: 1 };
      expect(worker.retried).toEqual([chunk1, chunk1, chunk1]);
      // Each run after a failure waited out its backoff first (0.5, then 1, then 2 s before the last failure).
      const gaps = worker.retriedAt.slice(1).map((at, i) => at - worker.retriedAt[i]);
      expect(gaps[0]).toBeGreaterThanOrEqual(950);
      expect(gaps[1]).toBeGreaterThanOrEqual(1900);
      await eventually(async () => worker.failed.length === 1, 5000, 'the final failure event');
      expect(worker.failed).toEqual([chunk1]);
      const download = await fetch(`${t.api.url}/batches/${submitBatch.id}/results.csv`);
      const indexes = (await download.text()).trimEnd().split('\r\n').slice(1).map((line) => Number(line.split(',')[0]));
      expect(indexes.length).toBe(batch!.processed);
      expect(indexes).toEqual(texts.map((_, i) => i).filter((i) => i < 25 || i >= 50).slice(0, indexes.length));
      expect(indexes).toContain(0);
    } finally {
      await worker.stop();
    }
  }, 60_000);
});

describe('a Redis hiccup mid-batch', () => {
  it('costs time, never rows: every connection is cut twice, and the batch still completes with every row once', async () => {
    // A redis-server of the test's own, so cutting every client's connection touches no other test.
    const server = await startRedisServer(await freePort());
    const t = await startTestApi({ ...shared, REDIS_URL: server.url, SIFT_CHUNK_SIZE: '25' });
    const worker = await startWorkerProcess({ ...shared, REDIS_URL: server.url, SIFT_KEY_PREFIX: t.prefix, SIFT_STALL_INTERVAL_MS: '500' });
    const admin = new Redis(server.url);
    try {
      const texts = Array.from({ length: 10_000 }, (_, i) => `hiccup ${i} warm cold ${i % 89}`);
      const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts } });
      // The worker runs in short slices and is frozen at each cut, so both cuts land mid-batch however fast the machine.
      await worker.runUntil(async () => (await processed(t.client, submitBatch.id)) >= 75, 'a few chunks done');
      for (let cut = 0; cut < 2; cut++) {
        // Cut once the API's and the worker's own connections are up (again), mid-batch.
        await worker.runUntil(async () => {
          const clients = (await admin.client('LIST')) as string;
          return clients.includes('name=sift:api:batches ') && clients.includes('name=sift:worker:batches ');
        }, 'the connections to be up');
        if (cut === 0) {
          // Every connection names its process and purpose, bee-queue's included (only this test's is unnamed),
          // and the queue holds no events client (retries are not delayed jobs).
          const names = ((await admin.client('LIST')) as string).trim().split('\n').map((line) => /\bname=(\S*)/.exec(line)?.[1] ?? '');
          expect(names.filter((name) => name === '')).toHaveLength(1);
          expect(names).not.toContain('sift:worker:queue-events');
          expect(names.filter((name) => name !== '').every((name) => /^sift:(api|worker):[a-z-]+$/.test(name))).toBe(true);
          expect(names).toEqual(expect.arrayContaining(['sift:api:cache', 'sift:api:queue', 'sift:worker:queue', 'sift:worker:queue-blocking', 'sift:worker:progress-publish']));
        }
        expect((await t.client.request(BatchDocument, { id: submitBatch.id })).batch?.status).toBe('RUNNING');
        // CLIENT KILL cuts the API's and the worker's connections (bee-queue's too), not its own.
        expect(Number(await admin.client('KILL', 'TYPE', 'normal'))).toBeGreaterThan(2);
        worker.resume();
      }
      // Seconds when it works; the waits above take at most 30 s each, so this one fails, with its
      // name, inside the test's own timeout.
      await eventually(async () => (await t.client.request(BatchDocument, { id: submitBatch.id })).batch?.status === 'COMPLETED', 45_000, 'the batch to complete');
      const { batch } = await t.client.request(BatchDocument, { id: submitBatch.id });
      expect(batch).toMatchObject({ total: 10_000, processed: 10_000, succeeded: 10_000, failed: 0 });
      const download = await fetch(`${t.api.url}/batches/${submitBatch.id}/results.csv`);
      const indexes = (await download.text()).trimEnd().split('\r\n').slice(1).map((line) => Number(line.split(',')[0]));
      expect(indexes).toEqual(texts.map((_, i) => i));
    } catch (error) {
      // What each process said, for a failure that could not be reproduced where it happened (it
      // timed out once in CI and never here).
      (error as Error).message += `\n--- the worker's output, its end:\n${worker.output().slice(-4000)}\n--- the API's log, its end:\n${t.logs.slice(-40).join('\n')}`;
      throw error;
    } finally {
      admin.disconnect();
      await worker.stop();
      await t.stop();
      await server.kill();
    }
  }, 180_000);
});
