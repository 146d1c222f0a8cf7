import type { Redis } from 'ioredis';
import { PredictionCache, textHash } from '../../src/cache/prediction-cache';
import { createLogger } from '../../src/logger';
import { SiftMetrics } from '../../src/metrics/sift-metrics';
import { RedisConnections } from '../../src/redis/connections';
import { redisKeys } from '../../src/redis/keys';
import { freePort } from '../support/api';
import { parsePrometheusText, sampleSum } from '../support/prometheus';
import { deleteKeys, TEST_REDIS_URL, uniquePrefix } from '../support/redis';

const logger = createLogger('silent');
const prefix = uniquePrefix('cache-lookups');
const model = { name: 'sentiment', version: 'v1' };
const connect = (url: string) => new RedisConnections({ url, role: 'api', logger }).connect('cache', { kind: 'fail-fast', commandTimeoutMs: 200 });

async function lookups(metrics: SiftMetrics, result: string): Promise<number> {
  return sampleSum(parsePrometheusText(await metrics.registry!.metrics()), 'sift_cache_lookups_total', { model: model.name, result });
}

describe('sift_cache_lookups_total', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = connect(TEST_REDIS_URL);
    return new Promise((resolve) => redis.once('ready', resolve));
  });
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('counts each key read as a hit or a miss of its model', async () => {
    const metrics = new SiftMetrics(true);
    const cache = new PredictionCache(redis, redisKeys(prefix), 3600, logger, metrics.cache);
    const hashes = ['a', 'b', 'c'].map(textHash);
    await cache.write(model, [{ hash: hashes[0], scores: [0.5, 0.5] }]);
    await cache.read(model, hashes);
    await cache.read(model, [hashes[0]]);
    expect([await lookups(metrics, 'hit'), await lookups(metrics, 'miss'), await lookups(metrics, 'error')]).toEqual([2, 2, 0]);
  });

  it('counts a damaged entry, which the caller runs the model for, as a miss', async () => {
    const metrics = new SiftMetrics(true);
    const cache = new PredictionCache(redis, redisKeys(prefix), 3600, logger, metrics.cache);
    const hashes = ['sound', 'damaged', 'out of range'].map(textHash);
    await cache.write(model, [{ hash: hashes[0], scores: [0.25, 0.75] }]);
    // As another writer of the shared cache might have stored them.
    await cache.writeValues(model, hashes.slice(1), ['not json', '[-5,2]']);
    expect(await cache.read(model, hashes)).toEqual([[0.25, 0.75], null, null]);
    expect([await lookups(metrics, 'hit'), await lookups(metrics, 'miss'), await lookups(metrics, 'error')]).toEqual([1, 2, 0]);
  });

  it('counts every key of a read that Redis did not answer as an error, while the caller gets misses', async () => {
    const metrics = new SiftMetrics(true);
    const down = connect(`redis://127.0.0.1:${await freePort()}`);
    try {
      const cache = new PredictionCache(down, redisKeys(prefix), 3600, logger, metrics.cache);
      expect(await cache.read(model, ['x', 'y'].map(textHash))).toEqual([null, null]);
      expect([await lookups(metrics, 'hit'), await lookups(metrics, 'miss'), await lookups(metrics, 'error')]).toEqual([0, 0, 2]);
    } finally {
      down.disconnect();
    }
  });
});
