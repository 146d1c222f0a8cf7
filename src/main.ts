/**
 * `npm start`: reads the configuration, makes sure Redis answers (starting a private one when it
 * can), then serves the API until SIGINT or SIGTERM.
 */
import 'reflect-metadata';
import { ensureRedis } from './cli/local-redis';
import { loadConfig } from './config/config';
import { createLogger } from './logger';
import { startApi } from './server';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    process.stderr.write(`sift: ${(error as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);
  const privateRedis = await ensureRedis(config.redisUrl, logger);
  const api = await startApi(config, logger);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: finishing in-flight requests, then stopping`);
    await api.close();
    await privateRedis?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: Error) => {
  process.stderr.write(`sift: ${error.message}\n`);
  process.exit(1);
});
