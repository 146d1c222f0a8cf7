/**
 * A Sift worker process: takes batch chunks from the shared queue until SIGTERM or SIGINT, then
 * finishes the chunks in hand and exits. Start as many as you like, on any machine that reaches
 * the Redis: `node dist/workers/worker.js`.
 */
import '../src/production-default';
import 'reflect-metadata';
import { startWorker } from '../src/batches/batch-worker';
import { loadConfig } from '../src/config/config';
import { createLogger } from '../src/logger';

/** Runs a worker until SIGINT or SIGTERM; `env` overrides the environment (e.g. `sift worker --concurrency`). */
export async function runWorker(env: Record<string, string> = {}): Promise<void> {
  let config;
  try {
    config = loadConfig({ ...process.env, ...env });
  } catch (error) {
    process.stderr.write(`sift worker: ${(error as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.logLevel, 'worker');
  const worker = await startWorker(config, logger);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: finishing the chunks in hand, then stopping`);
    await worker.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

if (require.main === module) {
  runWorker().catch((error: Error) => {
    process.stderr.write(`sift worker: ${error.message}\n`);
    process.exit(1);
  });
}
