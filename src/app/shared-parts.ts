import { BatchEvents } from '../batches/batch-events';
import { ChunkSchedule, LOW_SHARE } from '../batches/chunk-schedule';
import { BatchStore } from '../batches/batch-store';
import { openProgressChannel, type ProgressChannel } from '../batches/progress-channel';
import { PredictionCache } from '../cache/prediction-cache';
import type { SiftConfig } from '../config/config';
import type { Logger } from '../logger';
import { SiftMetrics } from '../metrics/sift-metrics';
import { ModelCatalog } from '../models/model-catalog';
import { RedisConnections, type ProcessRole } from '../redis/connections';
import { redisKeys, type RedisKeys } from '../redis/keys';
import { startTracing, type RunningTracing } from '../tracing/tracer';
import type { Lifecycle } from './lifecycle';

/**
 * A batch record read or write slower than this fails (ms). Longer than the cache's timeout: a
 * cache miss costs a model run, a failed batch write costs a retry of the whole chunk.
 */
export const BATCH_COMMAND_TIMEOUT_MS = 2000;

/** What the API and the worker processes both build, the same way. */
export interface SharedParts {
  keys: RedisKeys;
  catalog: ModelCatalog;
  connections: RedisConnections;
  cache: PredictionCache;
  store: BatchStore;
  /** Where chunks wait for the workers, by priority and in turns. */
  schedule: ChunkSchedule;
  progress: ProgressChannel;
  /** What happens to batches in this process (logs and metrics listen). */
  events: BatchEvents;
  /** This process's metrics (no-ops with SIFT_METRICS=off). */
  metrics: SiftMetrics;
  /** This process's tracing (off, with nothing loaded, unless an OTLP endpoint is set). */
  tracing: RunningTracing;
}

const NOTES: Record<ProcessRole, { outageNote: string; returnNote: string }> = {
  api: { outageNote: ' Predictions run without the cache meanwhile; batch requests fail until it is back.', returnNote: '; the cache is in use again' },
  worker: { outageNote: ' Chunks in hand fail and run again once it is back.', returnNote: '; taking chunks again' },
};

/**
 * Starts tracing first (so every part's spans are recorded, and it is closed last, sending the
 * spans of a stopping process), reads the models (a broken one stops the start before anything
 * else is opened), then opens the Redis connections and the parts on them: cache, batch store,
 * progress channel. Processes that only publish progress (workers) open no subscriber.
 */
export async function openSharedParts(config: SiftConfig, role: ProcessRole, logger: Logger, lifecycle: Lifecycle): Promise<SharedParts> {
  const tracing = await lifecycle.open('tracing', () => startTracing(config.tracing, role, logger.child('tracing')), (t) => t.close());
  const catalog = await ModelCatalog.load(config.modelsDir, config.defaultModel);
  const metrics = new SiftMetrics(config.metrics);
  const keys = redisKeys(config.keyPrefix);
  const connections = lifecycle.own('Redis connections', new RedisConnections({ url: config.redisUrl, role, logger: logger.child('redis'), ...NOTES[role] }), (c) => c.close());
  // The cache may live in a Redis of its own (SIFT_CACHE_REDIS_URL), one allowed to evict.
  const cacheConnections =
    config.cacheRedisUrl === config.redisUrl
      ? connections
      : lifecycle.own('cache Redis connections', new RedisConnections({ url: config.cacheRedisUrl, role, logger: logger.child('cache-redis'), outageNote: ' Predictions run without the cache meanwhile.' }), (c) => c.close());
  const cache = new PredictionCache(cacheConnections.connect('cache', { kind: 'fail-fast', commandTimeoutMs: config.redisTimeoutMs }), keys, config.cacheTtlSeconds, logger.child('cache'), metrics.cache);
  const events = new BatchEvents();
  lifecycle.onClose('batch metrics', metrics.batches.listen(events));
  const batchRedis = connections.connect('batches', { kind: 'fail-fast', commandTimeoutMs: Math.max(config.redisTimeoutMs, BATCH_COMMAND_TIMEOUT_MS) });
  const store = new BatchStore(batchRedis, keys, config.batchRetentionSeconds, events);
  const schedule = new ChunkSchedule(batchRedis, keys, { window: config.scheduleWindow, lowShare: LOW_SHARE, retentionSeconds: config.batchRetentionSeconds });
  const progress = openProgressChannel(connections, keys, role === 'api', logger.child('progress'));
  return { keys, catalog, connections, cache, store, schedule, progress, events, metrics, tracing };
}
