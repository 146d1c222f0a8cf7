import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import { ChannelSubscriber } from '../redis/channel-subscriber';
import type { RedisConnections } from '../redis/connections';
import type { RedisKeys } from '../redis/keys';

/**
 * What travels on a batch's progress channel: the range of row indices a chunk finished (count 0
 * for a status change). The rows themselves are read from the results by whoever relays them, so
 * no worker serializes rows nobody watches.
 */
export interface ProgressMessage {
  batchId: string;
  from: number;
  count: number;
}

export interface ProgressChannelOptions {
  keys: RedisKeys;
  /** The connection messages go out on. */
  publisher: Redis;
  /** The subscribing side; absent in processes that only publish (workers). */
  subscriber?: ChannelSubscriber;
  /** Told of a message that is not a ProgressMessage (it is dropped). */
  logger?: Logger;
}

/**
 * The one owner of batch progress messages: every publish and every subscription goes through
 * it, over Redis pub/sub, so an API process relays what any worker or other API process says.
 */
export class ProgressChannel {
  constructor(private readonly options: ProgressChannelOptions) {}

  /** A chunk's rows `from` to `from + count - 1` are counted and stored. */
  chunkFinished(batchId: string, from: number, count: number): Promise<void> {
    return this.publish({ batchId, from, count });
  }

  /** The batch's status changed (it ended, or its input finished with every row counted). */
  statusChanged(batchId: string): Promise<void> {
    return this.publish({ batchId, from: 0, count: 0 });
  }

  /**
   * Calls `onMessage` for each message about one batch. Resolves once Redis has confirmed the
   * subscription (so nothing published after that is missed) with the function that ends it.
   */
  async subscribe(batchId: string, onMessage: (message: ProgressMessage) => void): Promise<() => void> {
    const { subscriber, keys } = this.options;
    if (!subscriber) throw new Error('this process publishes progress only; it has no subscriber connection');
    return subscriber.subscribe(keys.progressChannel(batchId), (text) => {
      const message = progressMessage(text);
      if (message) onMessage(message);
      else this.options.logger?.warn(`dropped a message on batch ${batchId}'s progress channel that is not a progress message: ${text.slice(0, 200)}`);
    });
  }

  private async publish(message: ProgressMessage): Promise<void> {
    await this.options.publisher.publish(this.options.keys.progressChannel(message.batchId), JSON.stringify(message));
  }
}

/**
 * A process's progress channel on connections of its own: one that publishes, and with
 * `subscribing` (the API) one of the `subscriber` profile, whose SUBSCRIBE waits for Redis however
 * long it is away (the relay bounds that wait: progress-relay.ts) and whose channels are subscribed
 * again after a reconnect. A failed UNSUBSCRIBE is logged.
 */
export function openProgressChannel(connections: RedisConnections, keys: RedisKeys, subscribing: boolean, logger: Logger): ProgressChannel {
  // Pub/sub wants connections that queue commands while reconnecting and subscribe again after.
  const publisher = connections.connect('progress-publish', { kind: 'pubsub' });
  const subscriber = subscribing
    ? new ChannelSubscriber(connections.connect('progress-subscribe', { kind: 'subscriber' }), (what, error) => logger.warn(`progress channel: ${what} failed (${error.message})`))
    : undefined;
  return new ProgressChannel({ keys, publisher, subscriber, logger });
}

/** A progress channel's message, or null when `text` is not one (another publisher's, or damaged). */
export function progressMessage(text: string): ProgressMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { batchId, from, count } = value as Record<string, unknown>;
  return typeof batchId === 'string' && Number.isSafeInteger(from) && Number.isSafeInteger(count) ? { batchId, from: from as number, count: count as number } : null;
}
