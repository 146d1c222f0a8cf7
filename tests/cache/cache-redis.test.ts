import { Redis } from 'ioredis';
import { BatchDocument, PredictDocument, SubmitBatchDocument } from '../../src/client/generated/graphql';
import { eventually, freePort, startTestApi } from '../support/api';
import { startRedisServer } from '../support/redis-server';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess } from '../support/worker-process';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed' };

describe('SIFT_CACHE_REDIS_URL', () => {
  it('keeps the prediction cache in a Redis of its own, and batches in the one at REDIS_URL', async () => {
    const [main, cacheServer] = await Promise.all([startRedisServer(await freePort()), startRedisServer(await freePort())]);
    const env = { ...shared, REDIS_URL: main.url, SIFT_CACHE_REDIS_URL: cacheServer.url };
    const t = await startTestApi(env);
    const worker = await startWorkerProcess({ ...env, SIFT_KEY_PREFIX: t.prefix });
    const [mainRedis, cacheRedis] = [new Redis(main.url), new Redis(cacheServer.url)];
    try {
      expect((await t.client.request(PredictDocument, { text: 'a warm day' })).predict.cached).toBe(false);
      expect((await t.client.request(PredictDocument, { text: 'a warm day' })).predict.cached).toBe(true);
      const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts: ['cold night', 'hot noon'] } });
      await eventually(async () => (await t.client.request(BatchDocument, { id: submitBatch.id })).batch?.status === 'COMPLETED', 20_000, 'the batch');
      // Three texts were labelled: their cache entries are in the cache's Redis only (the worker's too).
      const hashes = await cacheRedis.keys(`${t.prefix}pred:*`);
      const entries = await Promise.all(hashes.map((key) => cacheRedis.hlen(key)));
      expect(entries.reduce((sum, count) => sum + count, 0)).toBe(3);
      expect(await mainRedis.keys(`${t.prefix}pred:*`)).toEqual([]);
      expect(await mainRedis.exists(`${t.prefix}batch:${submitBatch.id}`)).toBe(1);
      expect(await cacheRedis.keys(`${t.prefix}batch:*`)).toEqual([]);
    } finally {
      mainRedis.disconnect();
      cacheRedis.disconnect();
      await worker.stop();
      await t.stop();
      await Promise.all([main.kill(), cacheServer.kill()]);
    }
  }, 60_000);
});
