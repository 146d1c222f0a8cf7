/**
 * `npm start`: reads the configuration, makes sure Redis answers (starting a private one when it
 * can), then serves the API and runs SIFT_WORKERS worker processes until SIGINT or SIGTERM.
 */
import './production-default';
import 'reflect-metadata';
import { ensureRedis, type PrivateRedis } from './cli/local-redis';
import { startWorkerProcesses } from './cli/worker-processes';
import { loadConfig, type SiftConfig } from './config/config';
import { createLogger } from './logger';
import { startApi } from './server';

function configOrExit(env: Record<string, string | undefined>): Readonly<SiftConfig> {
  try {
    return loadConfig(env);
  } catch (error) {
    process.stderr.write(`sift: ${(error as Error).message}\n`);
    process.exit(2);
  }
}

/**
 * Serves the API and runs SIFT_WORKERS worker processes until SIGINT or SIGTERM (`sift up`, `npm
 * start`); `env` overrides the environment (e.g. `sift up --workers 2`, `sift serve`).
 */
export async function runServer(env: Record<string, string> = {}): Promise<void> {
  const config = configOrExit({ ...process.env, ...env });
  const logger = createLogger(config.logLevel);
  let privateRedis: PrivateRedis | undefined;
  try {
    privateRedis = await ensureRedis(config.redisUrl, logger);
    const api = await startApi(config, logger);
    const workers = startWorkerProcesses(config.workers, env, logger);
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info(`${signal}: finishing in-flight requests, then stopping`);
      await workers.stop();
      await api.close();
      await privateRedis?.stop();
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  } catch (error) {
    await privateRedis?.stop();
    throw error;
  }
}

if (require.main === module) {
  runServer().catch((error: Error) => {
    process.stderr.write(`sift: ${error.message}\n`);
    process.exit(1);
  });
}
