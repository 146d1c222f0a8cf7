import { Redis } from 'ioredis';
import { BatchStore } from '../../src/batches/batch-store';
import { ProgressChannel } from '../../src/batches/progress-channel';
import { ProgressRelay, type ProgressRelayOptions } from '../../src/batches/progress-relay';
import { createLogger } from '../../src/logger';
import { redisKeys } from '../../src/redis/keys';
import { TEST_REDIS_URL } from './redis';
import { ChannelSubscriber } from '../../src/redis/channel-subscriber';

export interface TestRelay {
  relay: ProgressRelay;
  store: BatchStore;
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
    close: async () => {
      relay.close();
      for (const connection of [commands, publisher, subscriber]) connection.disconnect();
    },
  };
}
