import { BatchDocument, BatchProgressDocument, CancelBatchDocument, SubmitBatchDocument } from '../../src/client/generated/graphql';
import { SiftClient, SiftRequestError } from '../../src/client/sift-client';
import { redisKeys } from '../../src/redis/keys';
import { eventually, startTestApi, type TestApi } from '../support/api';
import { testRedis } from '../support/redis';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess } from '../support/worker-process';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };

describe('batchProgress over graphql-ws', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_CHUNK_SIZE: '30' });
  });
  afterAll(() => t.stop());

  /** Subscribers Redis has on a batch's progress channel. */
  async function subscribers(id: string): Promise<number> {
    const redis = testRedis();
    try {
      return Number(((await redis.pubsub('NUMSUB', redisKeys(t.prefix).progressChannel(id))) as [string, number])[1]);
    } finally {
      redis.disconnect();
    }
  }

  /** Waits until the API's subscription for a batch has reached Redis, so no event can be missed. */
  const subscribed = (id: string) => eventually(async () => (await subscribers(id)) > 0, 5000, 'the subscription to reach Redis');

  it('streams a snapshot, then every row exactly once in events whose counts never go down, then completes', async () => {
    // No worker yet: every row finishes after the subscription starts.
    const texts = Array.from({ length: 600 }, (_, i) => (i % 50 === 0 ? '' : `warm day ${i}`));
    const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts } });
    const watcher = new SiftClient(t.api.url);
    const events = watcher.collect(BatchProgressDocument, { id: submitBatch.id });
    await subscribed(submitBatch.id);
    const worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix });
    try {
      const received = (await events).map((e) => e.batchProgress);
      expect(received[0]).toMatchObject({ batch: { id: submitBatch.id, status: 'QUEUED', processed: 0, total: 600 }, rows: [] });
      expect(received.at(-1)!.batch).toMatchObject({ status: 'COMPLETED', processed: 600, failed: 12 });
      const processed = received.map((e) => e.batch.processed);
      expect(processed).toEqual([...processed].sort((a, b) => a - b));
      const indices = received.flatMap((e) => e.rows.map((r) => r.index)).sort((a, b) => a - b);
      expect(indices).toEqual(texts.map((_, i) => i));
      const failed = received.flatMap((e) => e.rows).filter((r) => r.error !== null);
      expect(failed.map((r) => r.index)).toEqual(expect.arrayContaining([0, 50, 100]));
    } finally {
      await watcher.close();
      await worker.stop();
    }
  }, 60_000);

  it('gives a late subscriber the final snapshot and completes', async () => {
    const worker = await startWorkerProcess({ ...shared, SIFT_KEY_PREFIX: t.prefix });
    try {
      const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts: ['hot', 'cold'] } });
      await eventually(async () => (await t.client.request(BatchDocument, { id: submitBatch.id })).batch?.status === 'COMPLETED', 20_000, 'completion');
      const events = await t.client.collect(BatchProgressDocument, { id: submitBatch.id });
      expect(events).toHaveLength(1);
      expect(events[0].batchProgress.batch).toMatchObject({ status: 'COMPLETED', processed: 2 });
    } finally {
      await worker.stop();
    }
  }, 60_000);

  it('ends with the CANCELLED event when the batch is cancelled', async () => {
    const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts: ['a', 'b', 'c'] } });
    const watcher = new SiftClient(t.api.url);
    const events = watcher.collect(BatchProgressDocument, { id: submitBatch.id });
    await subscribed(submitBatch.id);
    await t.client.request(CancelBatchDocument, { id: submitBatch.id });
    const received = await events;
    expect(received.at(-1)!.batchProgress.batch.status).toBe('CANCELLED');
    await watcher.close();
  });

  it('lets go of a client that leaves mid-batch at once: its Redis subscription ends', async () => {
    const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts: ['still', 'queued'] } });
    const watcher = new SiftClient(t.api.url);
    const events = watcher.subscribe(BatchProgressDocument, { id: submitBatch.id });
    expect((await events.next()).value?.batchProgress.batch.status).toBe('QUEUED');
    expect(await subscribers(submitBatch.id)).toBe(1);
    // No worker runs, so no message would ever wake the relay: only the client leaving can end it.
    await watcher.close();
    await eventually(async () => (await subscribers(submitBatch.id)) === 0, 5000, 'the relay to unsubscribe');
  });

  it('answers an unknown batch with BAD_USER_INPUT', async () => {
    const error = await t.client.collect(BatchProgressDocument, { id: 'no-such-batch' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SiftRequestError);
    expect((error as SiftRequestError).reason).toBe('UNKNOWN_BATCH');
  });
});
