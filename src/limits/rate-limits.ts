import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { ErrorCodes, userError, type SiftError } from '../errors';
import type { RedisKeys } from '../redis/keys';

/** How much one client (an API key, or an address when auth is off) may do; 0 turns a limit off. */
export interface RateLimitSettings {
  /** GraphQL requests and WebSocket operations a second (`SIFT_RATE_REQUESTS_PER_SECOND`). */
  requestsPerSecond: number;
  /** Texts sent to the models a second by predict and predictMany (`SIFT_RATE_TEXTS_PER_SECOND`). */
  textsPerSecond: number;
  /** Batches submitted a minute (`SIFT_RATE_BATCHES_PER_MINUTE`). */
  batchesPerMinute: number;
  /** Rows queued a minute (`SIFT_RATE_BATCH_ROWS_PER_MINUTE`): a faster upload is slowed to this pace, not refused. */
  batchRowsPerMinute: number;
}

/** One limit: a bucket in Redis (so it holds across API processes), and one in memory for when Redis is away. */
export class RateLimit {
  private readonly limiter: RateLimiterRedis;

  constructor(redis: Redis, keyPrefix: string, readonly points: number, readonly seconds: number, private readonly what: string, private readonly setting: string) {
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix,
      points,
      duration: seconds,
      // Redis away: each process counts on its own meanwhile rather than refuse or allow everything.
      insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration: seconds }),
    });
  }

  /** Takes `count` points for `who`, or throws RATE_LIMITED saying when to come back. */
  async take(who: string, count = 1): Promise<void> {
    try {
      await this.limiter.consume(who, count);
    } catch (refusal) {
      if (refusal instanceof RateLimiterRes) throw this.limited(refusal);
      throw refusal;
    }
  }

  /** Takes `count` points for `who`, waiting as long as it takes instead of refusing. */
  async wait(who: string, count: number): Promise<void> {
    for (let left = count; left > 0; ) {
      const step = Math.min(left, this.points);
      try {
        await this.limiter.consume(who, step);
        left -= step;
      } catch (refusal) {
        if (!(refusal instanceof RateLimiterRes)) throw refusal;
        // Nothing was taken (a refusal consumes nothing of use): wait for the window to move on.
        await new Promise((resolve) => setTimeout(resolve, Math.max(50, refusal.msBeforeNext)));
      }
    }
  }

  private limited(refusal: RateLimiterRes): SiftError {
    const retryAfterSeconds = Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
    return userError(ErrorCodes.RATE_LIMITED, `Too many ${this.what}: at most ${this.points} every ${this.seconds === 1 ? 'second' : `${this.seconds} s`} (${this.setting}). Try again in ${retryAfterSeconds} s.`, {}, retryAfterSeconds);
  }
}

/**
 * Rate limits per client, kept in Redis with rate-limiter-flexible, so they hold across API
 * processes. The defaults are far above what a person or a normal script does; they stop a
 * runaway client from starving everyone else.
 */
export class RateLimits {
  private readonly requests: RateLimit | null;
  private readonly texts: RateLimit | null;
  private readonly batches: RateLimit | null;
  private readonly rows: RateLimit | null;

  constructor(redis: Redis, keys: RedisKeys, settings: RateLimitSettings) {
    const make = (name: string, points: number, seconds: number, what: string, setting: string) => (points > 0 ? new RateLimit(redis, `${keys.prefix}rl:${name}`, points, seconds, what, setting) : null);
    this.requests = make('requests', settings.requestsPerSecond, 1, 'requests', 'SIFT_RATE_REQUESTS_PER_SECOND');
    this.texts = make('texts', settings.textsPerSecond, 1, 'texts sent to the models', 'SIFT_RATE_TEXTS_PER_SECOND');
    this.batches = make('batches', settings.batchesPerMinute, 60, 'batches submitted', 'SIFT_RATE_BATCHES_PER_MINUTE');
    this.rows = make('batch-rows', settings.batchRowsPerMinute, 60, 'batch rows queued', 'SIFT_RATE_BATCH_ROWS_PER_MINUTE');
  }

  /** One GraphQL request or WebSocket operation. */
  async request(who: string): Promise<void> {
    await this.requests?.take(who);
  }

  /** Texts one request sends to the models. */
  async modelTexts(who: string, count: number): Promise<void> {
    if (count > 0) await this.texts?.take(who, count);
  }

  /** One batch submitted. */
  async batch(who: string): Promise<void> {
    await this.batches?.take(who);
  }

  /** Rows about to be queued: waits until the client's pace allows them. */
  async batchRows(who: string, count: number): Promise<void> {
    await this.rows?.wait(who, count);
  }
}
