import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { expressMiddleware } from '@as-integrations/express5';
import cors from 'cors';
import express from 'express';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Redis } from 'ioredis';
import { BatchProgressFeed } from './batches/batch-progress';
import { BatchService } from './batches/batch-service';
import { BatchStore } from './batches/batch-store';
import { openChunkQueue } from './batches/chunk-queue';
import { PredictionCache } from './cache/prediction-cache';
import type { SiftConfig } from './config/config';
import type { GraphQLContext } from './graphql/context';
import { formatGraphQLError } from './graphql/format-error';
import { buildSiftSchema } from './graphql/schema';
import { batchRoutes } from './http/batch-routes';
import { attachGraphQLWebSocket } from './http/graphql-ws';
import { healthRoutes } from './http/health-routes';
import { metricsRoutes } from './http/metrics-routes';
import { webAppRoutes } from './http/web-app-routes';
import type { Logger } from './logger';
import { InferencePool } from './models/inference-pool';
import { MicroBatcher } from './models/micro-batcher';
import { ModelCatalog } from './models/model-catalog';
import { PredictionService } from './predictions/prediction-service';
import { connectRedis } from './redis/connection';
import { redisKeys } from './redis/keys';

/** A started API server. */
export interface RunningApi {
  /** e.g. http://127.0.0.1:4000 (the port actually bound, also when PORT=0). */
  url: string;
  port: number;
  predictions: PredictionService;
  redis: Redis;
  /** Stops accepting work, drains in-flight requests, then closes threads and connections. Safe to call twice. */
  close(): Promise<void>;
}

async function ping(redis: Redis): Promise<{ ok: boolean; detail: string }> {
  if (redis.status !== 'ready') return { ok: false, detail: `Redis connection is ${redis.status}` };
  return { ok: (await redis.ping()) === 'PONG', detail: 'ok' };
}

// A request may carry the most texts of the longest length allowed, at up to 4 UTF-8 bytes each.
function bodyLimit(config: SiftConfig, catalog: ModelCatalog): number {
  const longest = Math.max(...catalog.definitions.map((d) => d.maxTextLength));
  return Math.max(1 << 20, config.maxTextsPerRequest * longest * 4 + (64 << 10));
}

/**
 * Starts the API: loads and checks the models, starts the inference threads, connects Redis
 * (without waiting for it: predictions work without the cache), and serves GraphQL over HTTP and
 * WebSocket on one port, with health and metrics routes beside it.
 */
export async function startApi(config: SiftConfig, logger: Logger): Promise<RunningApi> {
  const catalog = await ModelCatalog.load(config.modelsDir, config.defaultModel);
  logger.info(`models: ${catalog.info().map((m) => `${m.name}@${m.version}`).join(', ')} (default ${config.defaultModel})`);
  const redis = connectRedis({ url: config.redisUrl, commandTimeoutMs: config.redisTimeoutMs, logger: logger.child('redis'), name: 'sift-api' });
  const pool = await InferencePool.start(catalog.definitions, config.inferenceThreads);
  const batcher = new MicroBatcher((model, texts) => pool.score(model, texts), {
    maxBatchSize: config.maxBatchSize,
    windowMs: config.batchWindowMs,
    maxInFlight: config.inferenceThreads,
  });
  const keys = redisKeys(config.keyPrefix);
  const cache = new PredictionCache(redis, keys, config.cacheTtlSeconds, logger.child('cache'));
  const predictions = new PredictionService({
    catalog,
    cache,
    scorer: (model, text) => batcher.score(model, text),
    maxTextsPerRequest: config.maxTextsPerRequest,
  });
  const queue = openChunkQueue({ redisUrl: config.redisUrl, keys, isWorker: false });
  queue.on('error', (error) => logger.child('queue').warn(error.message));
  const store = new BatchStore(redis, keys, config.batchRetentionSeconds);
  // Pub/sub wants connections that queue commands while reconnecting and resubscribe after.
  const pubsub = new RedisPubSub({ publisher: new Redis(config.redisUrl), subscriber: new Redis(config.redisUrl) });
  pubsub.getPublisher().on('error', () => undefined);
  pubsub.getSubscriber().on('error', () => undefined);
  const batches = new BatchService({
    store,
    progress: new BatchProgressFeed(pubsub, store, keys),
    queue,
    catalog,
    redis,
    keys,
    chunkSize: config.chunkSize,
    maxInlineRows: config.maxInlineRows,
    retentionSeconds: config.batchRetentionSeconds,
  });
  const context: GraphQLContext = { predictions, batches };

  const schema = await buildSiftSchema();
  const app = express();
  const httpServer: Server = createServer(app);
  const ws = attachGraphQLWebSocket(httpServer, schema, context, config.development);
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection: true,
    // main.ts owns shutdown (it also stops threads, Redis and a private redis-server); Apollo's own
    // signal handlers would race it and re-raise the signal.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: config.development,
    formatError: (formatted, error) => formatGraphQLError(formatted, error, config.development),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { serverWillStart: async () => ({ drainServer: () => ws.close() }) },
      ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false }),
      // Sift sets no cache hints; the plugin would otherwise wrap every field resolver.
      ApolloServerPluginCacheControlDisabled(),
    ],
  });
  await apollo.start();
  const metrics = metricsRoutes(() => batcher.stats());
  // GraphQL first: nearly every request is one, and Express tries the routes in order.
  app.use('/graphql', cors(), express.json({ limit: bodyLimit(config, catalog) }), expressMiddleware(apollo, { context: async () => context }));
  app.use(cors(), batchRoutes({ batches, maxUploadBytes: config.maxUploadBytes, logger: logger.child('http'), development: config.development }));
  app.use(healthRoutes({ redis: () => ping(redis), models: async () => ({ ok: true, detail: catalog.names().join(', ') }) }));
  app.use(metrics.router);
  // Last: the page and its assets, after every API route.
  app.use(webAppRoutes());

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host}:${port}`;
  logger.info(`GraphQL API at ${url}/graphql (HTTP and WebSocket); Apollo Sandbox opens there in a browser`);

  let closing: Promise<void> | undefined;
  const stop = async () => {
    await apollo.stop();
    metrics.stop();
    await pool.close();
    await queue.close(5000).catch(() => undefined);
    await pubsub.close();
    redis.disconnect();
  };
  return {
    url,
    port,
    predictions,
    redis,
    close: () => (closing ??= stop()),
  };
}
