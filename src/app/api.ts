import { setMaxListeners } from 'node:events';
import { logBatchEvents } from '../batches/batch-event-log';
import { BatchService } from '../batches/batch-service';
import { openChunkQueue } from '../batches/chunk-queue';
import { ProgressRelay } from '../batches/progress-relay';
import { Router } from 'express';
import { ApiKeyStore } from '../auth/api-key-store';
import { Authenticator, type AuthMode } from '../auth/authenticator';
import { isLoopbackHost, type SiftConfig } from '../config/config';
import { ErrorCodes, setupError } from '../errors';
import { authenticate } from '../http/authentication';
import { GraphQLGate } from '../http/graphql-gate';
import { OriginPolicy } from '../http/origin-policy';
import { RateLimits } from '../limits/rate-limits';
import { maxVariableListItems, QueryLimits, queryLimitSettings } from '../graphql/query-limits';
import { buildSiftSchema } from '../graphql/schema';
import { createApiServer } from '../http/api-server';
import { batchRoutes } from '../http/batch-routes';
import { healthRoutes, type ReadinessCheck } from '../http/health-routes';
import { metricsRoutes } from '../http/metrics-routes';
import type { Logger } from '../logger';
import { InferencePool } from '../models/inference-pool';
import type { ModelCatalog } from '../models/model-catalog';
import { RunGatherer } from '../models/run-gatherer';
import { PredictionService } from '../predictions/prediction-service';
import { tracedModelRun } from '../tracing/spans';
import { boundApiHeapGrowth } from './heap-growth';
import { buildOrClose } from './lifecycle';
import { BATCH_COMMAND_TIMEOUT_MS, openSharedParts } from './shared-parts';
import { timeLimit } from '../time-limit';
import { UploadSlots } from '../limits/upload-slots';

/** A started API server. */
export interface RunningApi {
  /** e.g. http://127.0.0.1:4000 (the port actually bound, also when PORT=0). */
  url: string;
  port: number;
  predictions: PredictionService;
  /** Stops accepting work, drains in-flight requests, then closes threads and connections. Safe to call twice. */
  close(): Promise<void>;
}

// A request may carry the most texts of the longest length allowed, at up to 4 UTF-8 bytes each.
function bodyLimit(config: SiftConfig, catalog: ModelCatalog): number {
  const longest = Math.max(...catalog.definitions.map((d) => d.maxTextLength));
  return Math.max(1 << 20, config.maxTextsPerRequest * longest * 4 + (64 << 10));
}

/**
 * `SIFT_AUTH`, or its default: off on a loopback HOST (the one-command quick start), and a
 * refusal to start on any other, so no server reachable from elsewhere answers without keys by
 * accident.
 */
function resolveAuthMode(config: SiftConfig): AuthMode {
  if (config.auth) return config.auth;
  if (isLoopbackHost(config.host)) return 'off';
  throw setupError(
    ErrorCodes.BAD_CONFIG,
    `HOST=${config.host} lets other machines reach this server, and SIFT_AUTH is not set. Make an API key (sift keys create --name admin --scopes admin) and set SIFT_AUTH=keys, or set SIFT_AUTH=off to run without keys on purpose.`,
  );
}

/** A readiness check that gives up after `ms`: a Redis that is away must not hang `/readyz`. */
function within(ms: number, check: ReadinessCheck): ReadinessCheck {
  return () => timeLimit(check(), ms, () => ({ ok: false, detail: `no answer within ${ms} ms` }));
}

/**
 * Builds the API process's parts in dependency order, each closed again (newest first) by
 * `close()` or by a start that fails part way: the models, the Redis connections and the parts on
 * them, the inference threads, the chunk queue, the services, then the HTTP and WebSocket server,
 * which starts listening last.
 */
export function startApi(config: SiftConfig, logger: Logger): Promise<RunningApi> {
  boundApiHeapGrowth();
  return buildOrClose(logger, async (lifecycle) => {
    const authMode = resolveAuthMode(config);
    const { keys, catalog, connections, cache, store, schedule, progress, events, metrics, tracing } = await openSharedParts(config, 'api', logger, lifecycle);
    lifecycle.onClose('batch event log', logBatchEvents(events, logger.child('batches')));
    const authenticator = new Authenticator({ mode: authMode, store: new ApiKeyStore(connections.connect('auth', { kind: 'fail-fast', commandTimeoutMs: BATCH_COMMAND_TIMEOUT_MS }), keys) });
    const limits = new RateLimits(connections.connect('limits', { kind: 'fail-fast', commandTimeoutMs: config.redisTimeoutMs }), keys, config.rateLimits);
    logger.info(authMode === 'keys' ? 'auth: every request needs an API key (SIFT_AUTH=keys; sift keys create makes one)' : `auth: off (SIFT_AUTH=off${config.auth === null ? `, the default on HOST=${config.host}, which only this machine reaches` : ''})`);
    logger.info(`models: ${catalog.info().map((m) => `${m.name}@${m.version}`).join(', ')} (default ${config.defaultModel})`);
    const inference = await lifecycle.open(
      'inference threads',
      () =>
        InferencePool.start({
          definitions: catalog.definitions,
          threads: config.inferenceThreads,
          runtime: { executionProviders: config.executionProviders },
          onThreadError: (error) => logger.error(`an inference thread failed: ${error.message}`, { err: error }),
        }),
      (pool) => pool.close(),
    );
    const score = (model: string, texts: string[]) => inference.score(model, texts);
    const runs = new RunGatherer(metrics.models.timed(tracing.enabled ? tracedModelRun(score) : score), {
      maxRunSize: config.maxRunSize,
      windowMs: config.runWindowMs,
      maxInFlight: config.inferenceThreads,
    });
    const predictions = new PredictionService({ catalog, cache, scorer: (model, text, owner) => runs.score(model, text, owner), maxTextsPerRequest: config.maxTextsPerRequest, cachedPredictionOn: config.cachedPrediction });
    const queueLogger = logger.child('queue');
    const queue = lifecycle.own('chunk queue', openChunkQueue({ connections, keys, isWorker: false, onError: (error) => queueLogger.warn(error.message) }), (q) => q.close(5000));
    // The API samples the queue and the schedule for sift_queue_jobs and sift_schedule_chunks (workers do not: one sampler per API, whatever the workers).
    lifecycle.onClose('queue sampling', metrics.queue.sample(queue, schedule, config.metricsQueueIntervalMs));
    const relay = lifecycle.own('progress relay', new ProgressRelay({ channel: progress, store, logger: logger.child('progress') }), (r) => r.close());
    const batches = new BatchService({
      store,
      schedule,
      queue,
      catalog,
      chunkSize: config.chunkSize,
      chunkCharacters: config.chunkCharacters,
      maxInlineRows: config.maxInlineRows,
      abandonedAfterMs: config.stuckAfterMs,
      maxRowBytes: config.maxRowBytes,
      quota: limits,
      events,
      channel: progress,
      progress: relay,
      logger: logger.child('batches'),
    });

    const readiness: Record<string, ReadinessCheck> = {
      redis: within(1000, () => store.ping()),
      queue: within(1000, async () => {
        const counts = await queue.checkHealth();
        return { ok: true, detail: `${counts.waiting} waiting, ${counts.active} active, ${counts.delayed} delayed chunk(s)` };
      }),
      models: async () => inference.readiness(),
    };
    // Ends the downloads that follow a batch, and refused uploads' lingering, when the server stops, rather than wait out the drain.
    const stopping = new AbortController();
    // Every upload and followed download in progress listens to it: a dozen at once is normal, not
    // the leak Node warns of past 10 listeners (a raw stderr line amid the JSON logs, in a review).
    setMaxListeners(0, stopping.signal);
    const server = await lifecycle.open(
      'HTTP server',
      async () =>
        createApiServer({
          schema: await buildSiftSchema(),
          services: { predictions, batches },
          gate: new GraphQLGate(authenticator, limits, config.maxTextsPerRequest, maxVariableListItems(config)),
          bodyLimit: bodyLimit(config, catalog),
          bodyTimeoutMs: config.graphqlBodyTimeoutMs,
          maxOperationsPerSocket: config.maxOperationsPerSocket,
          // The Host check guards the one set-up where reaching the port is all it takes: no keys, this machine only.
          originPolicy: new OriginPolicy({ allowedOrigins: config.corsOrigins, loopbackHostsOnly: authMode === 'off' && isLoopbackHost(config.host) }),
          queryLimits: new QueryLimits(queryLimitSettings(config)),
          metrics,
          tracing: tracing.enabled,
          routes: [
            {
              router: batchRoutes({
                batches,
                maxUploadBytes: config.maxUploadBytes,
                maxRowBytes: config.maxRowBytes,
                uploadIdleTimeoutMs: config.uploadIdleTimeoutMs,
                uploads: new UploadSlots({ perKey: config.maxUploadsPerKey, total: config.maxUploads }, metrics.uploads),
                authenticator,
                logger: logger.child('http'),
                development: config.development,
                stopping: stopping.signal,
              }),
              crossOrigin: '/batches',
            },
            { router: healthRoutes(readiness) },
            { router: Router().use('/metrics', authenticate(authenticator, 'admin', logger.child('http'), config.development, stopping.signal)).use(metricsRoutes(metrics)) },
          ],
          logger: logger.child('http'),
          development: config.development,
          stopping: stopping.signal,
        }),
      (s) => {
        stopping.abort(new Error('the server is stopping'));
        return s.close();
      },
    );
    const { url, port } = await server.listen(config.port, config.host);
    logger.info(`Sift is ready: the web page at ${url}/ and the GraphQL API at ${url}/graphql (HTTP and WebSocket; Apollo Sandbox opens there in a browser)`);
    return { url, port, predictions, close: () => lifecycle.close() };
  });
}
