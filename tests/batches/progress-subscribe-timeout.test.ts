import { connect, createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { BatchStore } from '../../src/batches/batch-store';
import { ProgressChannel } from '../../src/batches/progress-channel';
import { ProgressRelay } from '../../src/batches/progress-relay';
import { ErrorCodes, isSiftError } from '../../src/errors';
import { createLogger } from '../../src/logger';
import { redisKeys } from '../../src/redis/keys';
import { eventually } from '../support/api';
import { deleteKeys, TEST_REDIS_URL, uniquePrefix } from '../support/redis';
import { ChannelSubscriber } from '../../src/redis/channel-subscriber';

/**
 * A way to the real Redis that holds everything its clients send until `release()`, then passes
 * it on both ways: a Redis that stops answering, and comes back.
 */
async function heldRedis(): Promise<{ port: number; release(): void; sent(): string; close(): Promise<void> }> {
  const { hostname, port } = new URL(TEST_REDIS_URL);
  const pairs: Socket[] = [];
  const waiting: (() => void)[] = [];
  let released = false;
  // What the clients sent, as it went on to Redis.
  let transcript = '';
  const server: Server = createServer((client) => {
    pairs.push(client);
    const held: Buffer[] = [];
    const hold = (data: Buffer) => held.push(data);
    client.on('data', hold);
    const pass = () => {
      const redis = connect(Number(port), hostname);
      pairs.push(redis);
      client.off('data', hold);
      for (const data of held) {
        transcript += data.toString();
        redis.write(data);
      }
      client.on('data', (data: Buffer) => (transcript += data.toString()));
      client.pipe(redis).pipe(client);
    };
    if (released) pass();
    else waiting.push(pass);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as { port: number }).port,
    sent: () => transcript,
    release: () => {
      released = true;
      for (const pass of waiting.splice(0)) pass();
    },
    close: async () => {
      for (const socket of pairs) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('a subscriber whose SUBSCRIBE Redis does not answer', () => {
  it('is refused with REDIS_UNAVAILABLE after the outage grace, and the SUBSCRIBE, once Redis answers it, is undone', async () => {
    const prefix = uniquePrefix('subscribe-timeout');
    const keys = redisKeys(prefix);
    const commands = new Redis(TEST_REDIS_URL);
    const publisher = new Redis(TEST_REDIS_URL);
    const held = await heldRedis();
    // The subscriber connection, as the API's: its commands wait for Redis however long it is away.
    const subscriber = new Redis({ host: '127.0.0.1', port: held.port, maxRetriesPerRequest: null, enableReadyCheck: false, autoResubscribe: false });
    const store = new BatchStore(commands, keys, 3600);
    const relay = new ProgressRelay({ channel: new ProgressChannel({ keys, publisher, subscriber: new ChannelSubscriber(subscriber, (what, error) => console.warn(`${what} failed: ${error.message}`)) }), store, logger: createLogger('warn', 'test-relay'), outageGraceMs: 300 });
    const subscribers = async () => Number(((await commands.pubsub('NUMSUB', keys.progressChannel('b1'))) as [string, number])[1]);
    try {
      await store.create('b1', { name: 'm', version: 'v1', labels: ['no', 'yes'] }, new Date(), 2, 'owner');
      const started = Date.now();
      const refused = await relay.watch('b1', { fromRow: null, withRows: false }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(isSiftError(refused) && refused.code).toBe(ErrorCodes.REDIS_UNAVAILABLE);
      expect(Date.now() - started).toBeLessThan(300 + 2000);
      expect(relay.watchedBatches).toBe(0);
      // Redis answers again: the late SUBSCRIBE goes through, and is taken back.
      held.release();
      // Redis gets the SUBSCRIBE, then the relay's UNSUBSCRIBE, and the channel is left with no subscriber.
      const channel = keys.progressChannel('b1');
      await eventually(async () => new RegExp(`unsubscribe\\r\\n\\$${channel.length}\\r\\n${channel.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'i').test(held.sent()), 5000, 'the late SUBSCRIBE to be undone');
      expect(held.sent()).toMatch(/subscribe[\s\S]*unsubscribe/i);
      expect(await subscribers()).toBe(0);
    } finally {
      relay.close();
      await deleteKeys(commands, prefix);
      subscriber.disconnect();
      await held.close();
      commands.disconnect();
      publisher.disconnect();
    }
  });
});
