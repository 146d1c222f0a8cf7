import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix of its own for one test file, so files run side by side without sharing keys. */
export function uniquePrefix(name: string): string {
  return `sift-test:${name}:${randomBytes(4).toString('hex')}:`;
}

/** The keys matching `pattern`, a page at a time (SCAN, never KEYS, so a big Redis is not blocked). */
export async function* scanKeys(redis: Redis, pattern: string): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) yield keys;
    cursor = next;
  } while (cursor !== '0');
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  for await (const keys of scanKeys(redis, `${prefix}*`)) await redis.del(...keys);
}

/** Deletes every key under `prefix` through a connection of its own: a test's clean-up once its processes have stopped. */
export async function deletePrefix(prefix: string): Promise<void> {
  const redis = testRedis();
  try {
    await deleteKeys(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

/** A plain connection for test set-up and inspection. */
export function testRedis(): Redis {
  return new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
}

/**
 * A MONITOR connection to the server `redis` is on, once Redis has begun to send it every command.
 * Not ioredis's monitor(): it listens for errors only until MONITOR is answered, and the lines
 * that reach ioredis with MONITOR's OK, before it has switched to reading them as such (when other
 * clients' commands flow), are taken for replies to no command and emitted as errors ("Command
 * queue state error"); the second of them, heard by no one, ended the test that was running. A
 * monitor is a test's instrument: a line it missed fails the test through what it collected, not
 * through its own errors.
 */
export async function startMonitor(redis: Redis): Promise<Redis> {
  const monitor = redis.duplicate({ monitor: true, lazyConnect: true });
  monitor.on('error', () => undefined);
  // Not events.once, which rejects on the first of those errors.
  const monitoring = new Promise((resolve) => monitor.once('monitoring', resolve));
  await monitor.connect();
  await monitoring;
  return monitor;
}
