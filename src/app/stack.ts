import type { SiftConfig } from '../config/config';
import type { Logger } from '../logger';
import { ensureRedis } from '../supervision/private-redis';
import { startWorkerProcesses } from '../supervision/worker-processes';
import { startApi } from './api';
import { buildOrClose } from './lifecycle';

/** What `sift up` runs. */
export interface RunningStack {
  url: string;
  close(): Promise<void>;
}

/**
 * `sift up` (what `npm start` runs): a private Redis when none answers and one can be started
 * (unless SIFT_PRIVATE_REDIS=off),
 * the API in this process, and `SIFT_WORKERS` worker processes beside it, with this process's
 * environment plus `workerEnv`. Closing stops them in reverse: the workers finish the chunks in
 * hand, then the API drains, then the private Redis stops.
 */
export function startStack(config: SiftConfig, logger: Logger, workerEnv: Record<string, string>): Promise<RunningStack> {
  return buildOrClose(logger, async (lifecycle) => {
    // With SIFT_PRIVATE_REDIS=off the API waits for REDIS_URL's Redis, retrying, as `sift serve` does.
    if (config.privateRedis === 'auto') await lifecycle.open('private Redis', () => ensureRedis(config.redisUrl, logger), (redis) => redis?.stop());
    const api = await lifecycle.open('API', () => startApi(config, logger), (a) => a.close());
    // Worker i's /metrics and /healthz on SIFT_METRICS_PORT + i (0: none), so they do not clash on this machine.
    lifecycle.own('worker processes', startWorkerProcesses(config.workers, workerEnv, logger, { metricsPort: config.metricsPort }), (w) => w.stop());
    return { url: api.url, close: () => lifecycle.close() };
  });
}
