import { logBatchEvents } from '../batches/batch-event-log';
import { BatchSweeper } from '../batches/batch-sweeper';
import { ChunkConsumer } from '../batches/chunk-consumer';
import { ChunkProcessor } from '../batches/chunk-processor';
import { openChunkQueue } from '../batches/chunk-queue';
import type { SiftConfig } from '../config/config';
import type { Logger } from '../logger';
import type { Inference } from '../models/inference';
import { InferencePool } from '../models/inference-pool';
import { LocalInference } from '../models/local-inference';
import type { ModelDefinition } from '../models/manifest';
import { startWorkerMetricsServer, type WorkerMetricsServer } from '../http/worker-metrics-server';
import { tracedModelRun } from '../tracing/spans';
import { workerRunSize } from '../models/run-size';
import { buildOrClose } from './lifecycle';
import { openSharedParts } from './shared-parts';

/** A running worker: its chunk consumer (events for logs and tests) and how to stop it. */
export interface RunningWorker {
  consumer: ChunkConsumer;
  /** Its sweeper (tests drive a sweep directly). */
  sweeper: BatchSweeper;
  /** Its `/metrics` and `/healthz` server on `SIFT_METRICS_PORT`, or null with port 0. */
  metricsServer: WorkerMetricsServer | null;
  /** Takes no new chunks, lets the ones in hand finish, then closes threads and connections. Safe to call twice. */
  close(): Promise<void>;
}

/** How long a stopping worker waits for the chunks in hand. */
const FINISH_CHUNKS_MS = 30_000;

function startInference(definitions: readonly ModelDefinition[], config: SiftConfig, logger: Logger): Promise<Inference> {
  const runtime = { executionProviders: config.executionProviders };
  const threads = config.workerInferenceThreads;
  return threads === 0
    ? LocalInference.start(definitions, runtime)
    : InferencePool.start({ definitions, threads, runtime, onThreadError: (error) => logger.error(`an inference thread failed: ${error.message}`, { err: error }) });
}

/**
 * Builds a worker process's parts in dependency order, each closed again (newest first) by
 * `close()` or by a start that fails part way: the models (on this thread, or on inference
 * threads when `SIFT_WORKER_INFERENCE_THREADS` asks for them), the Redis connections and the
 * parts on them, its `/metrics` and `/healthz` server on `SIFT_METRICS_PORT` (unless 0), then the
 * queue and its consumer, which takes up to `workerConcurrency` chunks at a time once the queue is
 * connected.
 */
export function startWorker(config: SiftConfig, logger: Logger): Promise<RunningWorker> {
  return buildOrClose(logger, async (lifecycle) => {
    const { keys, catalog, connections, cache, store, schedule, progress, metrics, events, tracing } = await openSharedParts(config, 'worker', logger, lifecycle);
    lifecycle.onClose('batch event log', logBatchEvents(events, logger.child('batches')));
    const threads = config.workerInferenceThreads;
    // Before the models load: a busy SIFT_METRICS_PORT stops the start at once, saying so. Closed
    // late, so the counts of the chunks a stopping worker finishes can still be scraped.
    let consuming = false;
    const metricsServer =
      config.metricsPort === 0
        ? null
        : await lifecycle.open(
            'metrics server',
            () =>
              startWorkerMetricsServer(
                {
                  metrics,
                  checks: {
                    consumer: async () => {
                      if (lifecycle.closed) return { ok: false, detail: 'stopping: finishing the chunks in hand' };
                      return consuming ? { ok: true, detail: `taking chunks, ${config.workerConcurrency} at a time` } : { ok: false, detail: 'starting' };
                    },
                    redis: () => store.ping(),
                  },
                },
                config.metricsPort,
                config.metricsHost,
              ),
            (server) => server.close(),
          );
    const inference = await lifecycle.open('models', () => startInference(catalog.definitions, config, logger), (i) => i.close());
    const score = (model: string, texts: string[]) => inference.score(model, texts);
    const runSizes = new Map(catalog.definitions.map((definition) => [definition.name, workerRunSize(definition, config)]));
    const processor = new ChunkProcessor({
      store,
      cache,
      catalog,
      scorer: metrics.models.timed(tracing.enabled ? tracedModelRun(score) : score),
      channel: progress,
      runSize: (model) => runSizes.get(model) ?? config.maxRunSize,
      abandonedAfterMs: config.stuckAfterMs,
      metrics: metrics.batches,
    });
    const queueLogger = logger.child('queue');
    const queue = openChunkQueue({ connections, keys, isWorker: true, stallIntervalMs: config.stallIntervalMs, onError: (error) => queueLogger.warn(error.message) });
    const consumer = lifecycle.own('chunk consumer', new ChunkConsumer({ queue, schedule, processor, store, channel: progress, logger, concurrency: config.workerConcurrency, stallIntervalMs: config.stallIntervalMs }), (c) => c.close(FINISH_CHUNKS_MS));
    await queue.ready();
    consumer.start();
    consuming = true;
    const sweeper = lifecycle.own('sweeper', new BatchSweeper({ store, schedule, queue, keys, channel: progress, logger: logger.child('sweeper'), stuckAfterMs: config.stuckAfterMs, intervalMs: config.sweepIntervalMs }), (s) => s.stop());
    sweeper.start();
    const where = threads === 0 ? "on the worker's own thread" : `on ${threads} inference thread(s)`;
    const serving = metricsServer ? `; /metrics and /healthz at ${metricsServer.url}` : '';
    logger.info(`worker ready: models ${catalog.names().join(', ')} (run ${where}), ${config.workerConcurrency} chunk(s) at a time${serving}`);
    return { consumer, sweeper, metricsServer, close: () => lifecycle.close() };
  });
}
