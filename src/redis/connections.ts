import { Redis } from 'ioredis';
import type { Logger } from '../logger';

/** Which kind of Sift process opens a connection: the first part of every connection's name. */
export type ProcessRole = 'api' | 'worker';

export interface RedisConnectionsOptions {
  url: string;
  role: ProcessRole;
  logger: Logger;
  /** Said after "is not answering" while Redis is away, e.g. what keeps working meanwhile. */
  outageNote?: string;
  /** Said after "is back". */
  returnNote?: string;
}

/** How a connection behaves when Redis is slow or gone. */
export type ConnectionProfile =
  /** Request paths: commands fail at once while Redis is away (no offline queue), slow ones after the timeout. */
  | { kind: 'fail-fast'; commandTimeoutMs: number }
  /** Pub/sub, publishing: commands wait for the reconnect. */
  | { kind: 'pubsub' }
  /**
   * The subscribing side of pub/sub (for a ChannelSubscriber, which subscribes again after a
   * reconnect): like `pubsub`, and a SUBSCRIBE or UNSUBSCRIBE waits for
   * Redis however long it is away. By default ioredis gives up on queued commands after 20
   * reconnect attempts (about 33 s when connections are refused, longer when the host does not
   * answer); a subscriber that arrives during an outage waits for Redis, as the ones already
   * subscribed do, and the progress relay bounds how long it waits. Every failure of these
   * commands reaches a caller or the log (channel-subscriber.ts): graphql-redis-subscriptions,
   * used before, dropped the promises of UNSUBSCRIBE and of a failed SUBSCRIBE, and the unhandled
   * rejection ended the API process (see tests/batches/progress-subscriber-outage.test.ts).
   */
  | { kind: 'subscriber' };

/** The settings bee-queue creates its own (node_redis) clients from. */
export interface QueueRedisSettings {
  url: string;
  /** A delay in ms before the next attempt, or an Error: no more attempts (node_redis then fails the client's queued commands with it). */
  retry_strategy: (options: { attempt: number }) => number | Error;
}

/** A node_redis client as bee-queue holds it (`queue.client`, `queue.bclient`, `queue.eclient`). */
export interface QueueClient {
  on(event: 'ready', listener: () => void): unknown;
  client(...args: [string, string, (error: Error | null) => void]): unknown;
}

/** Hides a password in a Redis URL before it is logged. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

// ioredis reconnects by itself; each attempt waits a little longer, at most 2 s.
const reconnectDelay = (attempt: number) => Math.min(250 * attempt, 2000);

/**
 * The one place that opens connections to Redis, for Sift's own code and for the libraries that
 * hold connections (bee-queue): the same reconnect policy, error
 * handling and logging for all, and a name on each (`sift:api:cache`, `sift:worker:queue`, ...)
 * so `CLIENT LIST` shows who is who. An outage is logged once for the whole process, not once
 * per connection, then every 30 s while it lasts.
 */
export class RedisConnections {
  private readonly open = new Set<Redis>();
  /** Connections that lost Redis and have not got it back yet. */
  private readonly down = new Set<Redis>();
  private readonly where: string;
  private lastWarning = 0;
  private everReady = false;
  private closed = false;

  constructor(private readonly options: RedisConnectionsOptions) {
    this.where = redactUrl(options.url);
  }

  /** The name a connection for `purpose` gets. */
  nameOf(purpose: string): string {
    return `sift:${this.options.role}:${purpose}`;
  }

  /** A new ioredis connection for `purpose`; closed by `close()`. */
  connect(purpose: string, profile: ConnectionProfile): Redis {
    const name = this.nameOf(purpose);
    const redis = new Redis(this.options.url, {
      connectionName: name,
      retryStrategy: reconnectDelay,
      // A subscriber's channels are subscribed again by its ChannelSubscriber, which handles a refusal.
      ...(profile.kind === 'subscriber' ? { maxRetriesPerRequest: null, autoResubscribe: false } : {}),
      ...(profile.kind === 'fail-fast'
        ? {
            enableOfflineQueue: false,
            commandTimeout: profile.commandTimeoutMs,
            maxRetriesPerRequest: 0,
            // Commands issued in the same tick (the cache reads of concurrent requests) go out in
            // one write: under load this cut Redis's CPU from ~10% to ~2% of a core and lifted
            // cached predict from 71-92% to 92-98% of the trivial query's rate in the benchmark.
            enableAutoPipelining: true,
          }
        : {}),
    });
    redis.on('error', (error: Error) => this.lost(redis, error.message));
    // A lost connection schedules a reconnect at once; 'error' only follows when an attempt fails.
    // (A deliberate disconnect schedules none, so shutting down logs no warning.)
    redis.on('reconnecting', () => this.lost(redis, 'connection lost'));
    redis.on('ready', () => this.back(redis));
    redis.on('end', () => this.down.delete(redis));
    this.open.add(redis);
    return redis;
  }

  /**
   * Settings for bee-queue, which makes its own node_redis clients: the same reconnect policy as
   * every other connection (node_redis would otherwise give up after an hour).
   */
  queueSettings(): QueueRedisSettings {
    // Once closed, no more attempts: a client that never reached Redis (an outage at start) is not
    // closed by bee-queue, which never got it, and its reconnect timer kept the process alive.
    return { url: this.options.url, retry_strategy: ({ attempt }) => (this.closed ? new Error('the process closed its Redis connections') : reconnectDelay(attempt)) };
  }

  /** Names a client bee-queue made, now and after each reconnect (a new connection has no name). */
  nameQueueClient(client: QueueClient | null | undefined, purpose: string): void {
    if (!client) return;
    const name = this.nameOf(purpose);
    const setName = () => client.client('setname', name, () => undefined);
    client.on('ready', setName);
    setName();
  }

  /** Closes every connection this factory opened (bee-queue closes its own with the queue). */
  close(): void {
    this.closed = true;
    for (const redis of this.open) redis.disconnect();
    this.open.clear();
  }

  private lost(redis: Redis, reason: string): void {
    const now = Date.now();
    if (this.down.size === 0 || now - this.lastWarning > 30_000) {
      const refused = passwordRefusal(reason);
      if (refused) this.options.logger.error(`Redis at ${this.where} ${refused}; trying again in the background.`);
      else this.options.logger.warn(`Redis at ${this.where} is not answering (${reason}); retrying in the background.${this.options.outageNote ?? ''}`);
      this.lastWarning = now;
    }
    this.down.add(redis);
  }

  private back(redis: Redis): void {
    const wasDown = this.down.delete(redis);
    if (wasDown && this.down.size === 0) {
      this.options.logger.info(`Redis at ${this.where} is back${this.options.returnNote ?? ''}.`);
    } else if (!this.everReady && !wasDown) {
      this.options.logger.info(`connected to Redis at ${this.where}`);
    }
    this.everReady = true;
  }
}

/**
 * What to tell an operator whose Redis refused Sift's credentials, from Redis's error: not an
 * outage that passes ("not answering ... retrying" said nothing of the password), but REDIS_URL
 * to fix. Null for any other error.
 */
export function passwordRefusal(reason: string): string | null {
  const fix = 'put it in REDIS_URL: redis://:PASSWORD@host:port, or redis://USER:PASSWORD@host:port for an ACL user (special characters percent-encoded)';
  if (/NOAUTH/.test(reason)) return `wants a password, and REDIS_URL gives none (${reason}): ${fix}`;
  if (/WRONGPASS|invalid password|invalid username-password/i.test(reason)) return `refused the password in REDIS_URL (${reason}): ${fix.replace('put it', 'put the right one')}`;
  return null;
}
