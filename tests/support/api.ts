import { createServer } from 'node:net';
import { ApiKeyStore } from '../../src/auth/api-key-store';
import type { Scope } from '../../src/auth/principal';
import { SiftClient } from '../../src/client/sift-client';
import { loadConfig } from '../../src/config/config';
import { createLogger } from '../../src/logger';
import { startApi, type RunningApi } from '../../src/app/api';
import { redisKeys } from '../../src/redis/keys';
import { deleteKeys, TEST_REDIS_URL, testRedis, uniquePrefix } from './redis';

export interface TestApi {
  api: RunningApi;
  /** A client of the API, with `apiKey` when there is one. */
  client: SiftClient;
  prefix: string;
  /** With `SIFT_AUTH: 'keys'`: a key with the predict, batches and priority scopes, made for the test; else undefined. */
  apiKey?: string;
  /** The Authorization header of `apiKey` (none with auth off), for the test's own fetch calls. */
  headers: Record<string, string>;
  /** Every log line the server wrote. */
  logs: string[];
  stop(): Promise<void>;
}

/** Makes an API key under `prefix`, as `sift keys create` does, and returns the key. */
export async function createTestKey(prefix: string, name: string, scopes: readonly Scope[]): Promise<string> {
  const redis = testRedis();
  try {
    return (await new ApiKeyStore(redis, redisKeys(prefix)).create(name, scopes)).key;
  } finally {
    redis.disconnect();
  }
}

/**
 * Starts a real API in this process on a free port, against the real Redis, under a key prefix of
 * its own (removed again by `stop`). With `SIFT_AUTH: 'keys'` it also makes a key (predict,
 * batches, priority) that `client` and `headers` carry.
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
  // SIFT_LOG_LEVEL and SIFT_LOG_FORMAT as the test sets them (info and JSON lines by default).
  const api = await startApi(config, createLogger(config.logLevel, 'sift', (line) => logs.push(line), { role: 'api', format: config.logFormat ?? undefined }));
  const apiKey = env.SIFT_AUTH === 'keys' ? await createTestKey(prefix, 'tests', ['predict', 'batches', 'priority']) : undefined;
  const client = new SiftClient(api.url, { apiKey });
  return {
    api,
    client,
    prefix,
    apiKey,
    headers: apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` },
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

// Ports for the servers tests start, from 20000-31999: below the kernel's ephemeral range
// (32768+), from which every `listen(0)` and outgoing connection takes its port. A port found free
// there could be taken by another suite's `listen(0)` before the test's process binds it (a CI run
// once met a server of another suite, with keys on, on the port its API process was to use). Each
// Jest worker draws from its own thousand, so two suites never hand out the same port either.
const PORTS_PER_WORKER = 1000;
const firstPort = 20_000 + ((Number(process.env.JEST_WORKER_ID ?? '1') - 1) % 12) * PORTS_PER_WORKER;
let nextPort = Math.floor(Math.random() * PORTS_PER_WORKER);

/** A TCP port nothing listens on right now, and that no other test suite is handed. */
export async function freePort(): Promise<number> {
  return freePorts(1);
}

/** The first of `count` consecutive ports nothing listens on (a base port and the ones after it), handed out together. */
export async function freePorts(count: number): Promise<number> {
  for (let tries = 0; tries < PORTS_PER_WORKER; tries++) {
    const first = firstPort + (nextPort % (PORTS_PER_WORKER - count + 1));
    nextPort += count;
    let free = true;
    for (let port = first; port < first + count && free; port++) free = await canListen(port);
    if (free) return first;
  }
  throw new Error(`no ${count} free port(s) in a row in ${firstPort}-${firstPort + PORTS_PER_WORKER - 1}`);
}

function canListen(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export { eventually } from './polling';
