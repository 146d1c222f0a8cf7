import type { Redis } from 'ioredis';

/** Ends one listener's subscription; calling it again does nothing. */
export type Unsubscribe = () => void;

/** A channel's listeners and the SUBSCRIBE they share. */
interface Channel {
  /** One entry per subscribe call (a function given twice is two listeners). */
  listeners: Set<{ listener: (message: string) => void }>;
  subscribed: Promise<void>;
}

/**
 * Pub/sub channels on one subscriber connection, shared by listeners: a channel's first listener
 * sends SUBSCRIBE and later ones wait for the same answer; its last listener to leave sends
 * UNSUBSCRIBE. Every command's failure goes to a caller or to `onError`, never to an unhandled
 * rejection, and a listener that throws does not stop the others: graphql-redis-subscriptions,
 * which Sift used before, dropped the promises of a SUBSCRIBE Redis refused (an ACL without it)
 * and of UNSUBSCRIBE, and either rejection ended the API process.
 *
 * The connection resubscribes its channels after a reconnect (ioredis's autoResubscribe), so a
 * subscription outlives a Redis restart; how long a SUBSCRIBE may wait for Redis is the
 * connection's setting, and the caller's to bound.
 */
export class ChannelSubscriber {
  private readonly channels = new Map<string, Channel>();

  constructor(
    private readonly redis: Redis,
    /** Told of a failed UNSUBSCRIBE (the channel's messages go on arriving, to no one) and of a listener that threw. */
    private readonly onError: (what: string, error: Error) => void,
  ) {
    redis.on('message', (channel: string, message: string) => this.deliver(channel, message));
  }

  /** Calls `listener` with each message on `channel`; resolves once Redis has confirmed the subscription, rejects with its refusal. */
  async subscribe(channel: string, listener: (message: string) => void): Promise<Unsubscribe> {
    const entry = this.channels.get(channel) ?? this.open(channel);
    const own = { listener };
    entry.listeners.add(own);
    try {
      await entry.subscribed;
    } catch (error) {
      entry.listeners.delete(own);
      throw error;
    }
    let left = false;
    return () => {
      if (left) return;
      left = true;
      entry.listeners.delete(own);
      if (entry.listeners.size > 0 || this.channels.get(channel) !== entry) return;
      // A listener that comes after this opens the channel again: Redis takes its SUBSCRIBE after this UNSUBSCRIBE.
      this.channels.delete(channel);
      this.redis.unsubscribe(channel).catch((error: Error) => {
        // Closed with the process (status 'end'): there is nothing left to unsubscribe from.
        if (this.redis.status !== 'end') this.onError(`UNSUBSCRIBE ${channel}`, error);
      });
    };
  }

  /** Channels with listeners now (or a SUBSCRIBE on the way). */
  get size(): number {
    return this.channels.size;
  }

  private open(channel: string): Channel {
    const entry: Channel = { listeners: new Set(), subscribed: this.redis.subscribe(channel).then(() => undefined) };
    this.channels.set(channel, entry);
    // Refused: every listener waiting hears it (through `subscribed`), and the next one tries again.
    entry.subscribed.catch(() => this.channels.get(channel) === entry && this.channels.delete(channel));
    return entry;
  }

  private deliver(channel: string, message: string): void {
    const entry = this.channels.get(channel);
    if (!entry) return;
    for (const { listener } of [...entry.listeners]) {
      try {
        listener(message);
      } catch (error) {
        this.onError(`a listener of ${channel}`, error as Error);
      }
    }
  }
}
