import { Redis } from 'ioredis';
import { BatchStore } from '../../src/batches/batch-store';
import { ProgressChannel } from '../../src/batches/progress-channel';
import { ProgressRelay, type ProgressRelayOptions } from '../../src/batches/progress-relay';
import type { ProgressEvent, ProgressWatcher } from '../../src/batches/progress-watcher';
import { createLogger } from '../../src/logger';
import { redisKeys } from '../../src/redis/keys';
import { TEST_REDIS_URL } from './redis';
import { ChannelSubscriber } from '../../src/redis/channel-subscriber';

export interface TestRelay {
  relay: ProgressRelay;
  store: BatchStore;
  /** The store's connection, for a test's own reads. */
  redis: Redis;
  close(): Promise<void>;
}

/**
 * A progress relay of the test's own on the real Redis, under `prefix` (where a test API and its
 * workers keep their batches), with settings of the test's choosing: its watchers are read in the
 * test process, as graphql-ws would read them, at whatever pace the test sets.
 */
export function startTestRelay(prefix: string, settings: Omit<ProgressRelayOptions, 'channel' | 'store' | 'logger'> = {}): TestRelay {
  const keys = redisKeys(prefix);
  const commands = new Redis(TEST_REDIS_URL);
  const publisher = new Redis(TEST_REDIS_URL);
  const subscriber = new Redis(TEST_REDIS_URL, { autoResubscribe: false });
  const store = new BatchStore(commands, keys, 3600);
  const channel = new ProgressChannel({ keys, publisher, subscriber: new ChannelSubscriber(subscriber, (what, error) => console.warn(`${what} failed: ${error.message}`)) });
  const relay = new ProgressRelay({ channel, store, logger: createLogger('warn', 'test-relay'), ...settings });
  return {
    relay,
    store,
    redis: commands,
    close: async () => {
      relay.close();
      for (const connection of [commands, publisher, subscriber]) connection.disconnect();
    },
  };
}

/** Every event a watcher gives until it ends; an error event fails the test. */
export async function readAll(watcher: ProgressWatcher): Promise<ProgressEvent[]> {
  const events: ProgressEvent[] = [];
  for (;;) {
    const step = await watcher.next();
    if (step.done) return events;
    if ('error' in step.value) throw new Error(step.value.error.message);
    events.push(step.value);
  }
}
