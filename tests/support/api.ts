import { createServer } from 'node:net';
import { SiftClient } from '../../src/client/sift-client';
import { loadConfig } from '../../src/config/config';
import { createLogger } from '../../src/logger';
import { startApi, type RunningApi } from '../../src/app/api';
import { deleteKeys, TEST_REDIS_URL, testRedis, uniquePrefix } from './redis';

export interface TestApi {
  api: RunningApi;
  client: SiftClient;
  prefix: string;
  /** Every log line the server wrote. */
  logs: string[];
  stop(): Promise<void>;
}

/**
 * Starts a real API in this process on a free port, against the real Redis, under a key prefix of
 * its own (removed again by `stop`).
 */
export async function startTestApi(env: Record<string, string>): Promise<TestApi> {
  const prefix = env.SIFT_KEY_PREFIX ?? uniquePrefix('api');
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL: TEST_REDIS_URL,
    SIFT_INFERENCE_THREADS: '1',
    SIFT_KEY_PREFIX: prefix,
    ...env,
  });
  const logs: string[] = [];
  const api = await startApi(config, createLogger('info', 'sift', (line) => logs.push(line)));
  const client = new SiftClient(api.url);
  return {
    api,
    client,
    prefix,
    logs,
    stop: async () => {
      await client.close();
      await api.close();
      const redis = testRedis();
      await deleteKeys(redis, prefix).catch(() => undefined);
      redis.disconnect();
    },
  };
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `check` until it returns true (or throws after `timeoutMs`). */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
