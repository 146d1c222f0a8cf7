import type { Redis } from 'ioredis';

/** Ends one listener's subscription; calling it again does nothing. */
export type Unsubscribe = () => void;

/** A channel's listeners and the SUBSCRIBE they share. */
interface Channel {
  /** One entry per subscribe call (a function given twice is two listeners). */
  listeners: Set<{ listener: (message: string) => void }>;
  subscribed: Promise<void>;
  /**
   * The connection (ChannelSubscriber's count of them) on which Redis confirmed the channel's
   * SUBSCRIBE, null while it is on the way: once that connection is gone, it is sent again.
   */
  confirmedOn: number | null;
}

/**
 * Pub/sub channels on one subscriber connection, shared by listeners: a channel's first listener
 * sends SUBSCRIBE and later ones wait for the same answer; its last listener to leave sends
 * UNSUBSCRIBE. Every command's failure goes to a caller or to `onError`, never to an unhandled
 * rejection, and a listener that throws does not stop the others: graphql-redis-subscriptions,
 * which Sift used before, dropped the promises of a SUBSCRIBE Redis refused (an ACL without it)
 * and of UNSUBSCRIBE, and either rejection ended the API process.
 *
 * After a reconnect it subscribes to its confirmed channels again, one SUBSCRIBE each (Redis
 * refuses a whole SUBSCRIBE for one channel it forbids), so a subscription outlives a Redis
 * restart. Not ioredis's autoResubscribe, which the connection must have off: nothing holds that
 * SUBSCRIBE's promise, so a refusal (a user's ACL changed; Redis disconnects a client whose
 * channels it narrows) ended the process. A channel refused again is logged and forgotten: its
 * listeners hear no more messages (the progress relay still polls), and the next listener to come
 * sends a SUBSCRIBE of its own. How long a SUBSCRIBE may wait for Redis is the connection's
 * setting, and the caller's to bound.
 */
export class ChannelSubscriber {
  private readonly channels = new Map<string, Channel>();
  /** Which connection this is: one more after each close. */
  private connection = 0;

  constructor(
    private readonly redis: Redis,
    /** Told of a failed UNSUBSCRIBE (the channel's messages go on arriving, to no one) and of a listener that threw. */
    private readonly onError: (what: string, error: Error) => void,
  ) {
    if (redis.options.autoResubscribe) throw new Error('ChannelSubscriber needs a connection with autoResubscribe: false (it subscribes again itself after a reconnect)');
    redis.on('message', (channel: string, message: string) => this.deliver(channel, message));
    redis.on('close', () => this.connection++);
    // ioredis sends the commands queued during the outage before 'ready': channels left meanwhile are gone from the map.
    redis.on('ready', () => this.subscribeAgain());
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
    const entry: Channel = { listeners: new Set(), subscribed: Promise.resolve(), confirmedOn: null };
    entry.subscribed = this.redis.subscribe(channel).then(() => void (entry.confirmedOn = this.connection));
    this.channels.set(channel, entry);
    // Refused: every listener waiting hears it (through `subscribed`), and the next one tries again.
    entry.subscribed.catch(() => this.channels.get(channel) === entry && this.channels.delete(channel));
    return entry;
  }

  private subscribeAgain(): void {
    for (const [channel, entry] of this.channels) {
      // Its first SUBSCRIBE is still on the way, or was confirmed on this very connection: ioredis
      // writes a SUBSCRIBE at once while it checks a new connection is ready (the command may run
      // while Redis loads), so a channel may be confirmed before the connection's 'ready'.
      if (entry.confirmedOn === null || entry.confirmedOn === this.connection) continue;
      this.redis.subscribe(channel).then(
        () => void (entry.confirmedOn = this.connection),
        (error: Error) => {
          if (this.redis.status !== 'end') this.onError(`SUBSCRIBE ${channel} again after a reconnect`, error);
          if (this.channels.get(channel) === entry) this.channels.delete(channel);
        },
      );
    }
  }

  private deliver(channel: string, message: string): void {
    const entry = this.channels.get(channel);
    if (!entry) return;
    for (const { listener } of [...entry.listeners]) {
      try {
        listener(message);
      } catch (error) {
        this.onError(`a listener of ${channel}`, error instanceof Error ? error : new Error(String(error)));
      }
    }
  }
}
