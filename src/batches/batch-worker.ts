import type { SiftConfig } from '../config/config';
import type { Logger } from '../logger';
import { PredictionCache } from '../cache/prediction-cache';
import { InferencePool } from '../models/inference-pool';
import { LocalInference, type Inference } from '../models/local-inference';
import { ModelCatalog } from '../models/model-catalog';
import { connectRedis } from '../redis/connection';
import { redisKeys } from '../redis/keys';
import { publishProgress } from './batch-progress';
import { BatchStore } from './batch-store';
import { ChunkProcessor } from './chunk-processor';
import { openChunkQueue } from './chunk-queue';

/** A running worker process's batch machinery. */
export interface RunningWorker {
  /** Takes no new chunks, lets the ones in hand finish, then closes threads and connections. */
  close(): Promise<void>;
}

/**
 * Starts taking chunk jobs: loads the models once (on this thread, or on inference threads when
 * `SIFT_WORKER_INFERENCE_THREADS` asks for them), then processes up to `workerConcurrency` chunks
 * at a time.
 * A chunk that keeps failing after its retries ends its batch FAILED with the reason.
 */
export async function startWorker(config: SiftConfig, logger: Logger): Promise<RunningWorker> {
  const catalog = await ModelCatalog.load(config.modelsDir, config.defaultModel);
  const keys = redisKeys(config.keyPrefix);
  const redis = connectRedis({ url: config.redisUrl, commandTimeoutMs: Math.max(config.redisTimeoutMs, 2000), logger: logger.child('redis'), name: 'sift-worker' });
  const threads = config.workerInferenceThreads;
  const inference: Inference = threads === 0 ? await LocalInference.start(catalog.definitions) : await InferencePool.start(catalog.definitions, threads);
  const store = new BatchStore(redis, keys, config.batchRetentionSeconds);
  const processor = new ChunkProcessor({
    store,
    cache: new PredictionCache(redis, keys, config.cacheTtlSeconds, logger.child('cache')),
    catalog,
    scorer: (model, texts) => inference.score(model, texts),
    publisher: redis,
    keys,
    maxBatchSize: config.maxBatchSize,
  });
  const queue = openChunkQueue({ redisUrl: config.redisUrl, keys, isWorker: true, stallIntervalMs: config.stallIntervalMs });
  queue.on('error', (error) => logger.warn(`queue: ${error.message}`));
  queue.on('retrying', (job, error) => logger.warn(`chunk ${job.data.chunk} of batch ${job.data.batchId} failed (${error.message}); it will run again`));
  // bee-queue also emits 'failed' before each retry; 'failed:fatal' is the one after the last.
  queue.on('failed:fatal' as 'failed', (job, error) => {
    logger.error(`chunk ${job.data.chunk} of batch ${job.data.batchId} failed for good: ${error.message}`);
    store
      .end(job.data.batchId, 'FAILED', `Chunk ${job.data.chunk} kept failing: ${error.message}`)
      .then(() => publishProgress(redis, keys, { batchId: job.data.batchId, from: 0, count: 0 }))
      .catch(() => undefined);
  });
  queue.process(config.workerConcurrency, async (job) => {
    const outcome = await processor.process(job.data);
    logger.debug(`chunk ${job.data.chunk} of batch ${job.data.batchId}: ${outcome}`);
    return outcome;
  });
  await queue.ready();
  // bee-queue only finds stalled jobs when asked: every worker asks, so any survivor rescues the
  // chunks of a worker that died.
  queue.checkStalledJobs(config.stallIntervalMs, (error) => {
    if (error) logger.warn(`stall check: ${error.message}`);
  });
  const where = threads === 0 ? "on the worker's own thread" : `on ${threads} inference thread(s)`;
  logger.info(`worker ready: models ${catalog.names().join(', ')} (run ${where}), ${config.workerConcurrency} chunk(s) at a time`);
  return {
    close: async () => {
      await queue.close(30_000);
      await inference.close();
      redis.disconnect();
    },
  };
}
