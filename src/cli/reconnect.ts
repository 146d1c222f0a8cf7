import { SiftConnectionError, SiftRequestError } from '../client/sift-client';
import { CliError, ExitCodes } from './cli-errors';

/** How `sift` waits for a server it lost while following a batch or downloading its results. */
export interface ReconnectOptions {
  /** The first wait before trying again. @defaultValue 500 */
  firstDelayMs: number;
  /** The longest wait between two tries (the wait doubles up to it). @defaultValue 5000 */
  maxDelayMs: number;
  /**
   * How long `sift` keeps trying without reaching the server before it exits 3 (server
   * unreachable). @defaultValue 120000, or `SIFT_RECONNECT_SECONDS` seconds
   */
  giveUpAfterMs: number;
}

export const RECONNECT_DEFAULTS: Readonly<ReconnectOptions> = Object.freeze({ firstDelayMs: 500, maxDelayMs: 5000, giveUpAfterMs: 120_000 });

/** The reconnect settings from the environment, read once at start-up: `SIFT_RECONNECT_SECONDS` (a whole number). */
export function reconnectOptionsFrom(env: NodeJS.ProcessEnv): Readonly<ReconnectOptions> {
  const given = env.SIFT_RECONNECT_SECONDS;
  if (given === undefined || given.trim() === '') return RECONNECT_DEFAULTS;
  // Digits only, as Sift's own settings take them: Number() reads 0x3 and 1e0 too.
  const seconds = /^\d+$/.test(given.trim()) ? Number(given.trim()) : NaN;
  if (!Number.isInteger(seconds) || seconds < 0) {
    throw new CliError(`SIFT_RECONNECT_SECONDS must be a whole number of seconds (0 or more), not ${JSON.stringify(given)}.`, ExitCodes.BAD_INPUT, 'BAD_CONFIG');
  }
  return Object.freeze({ ...RECONNECT_DEFAULTS, giveUpAfterMs: seconds * 1000 });
}

/** A server's words as a sentence in sift's line: a full stop added unless they end one already. */
export function asSentence(words: string): string {
  return /[.!?)]$/.test(words) ? words : `${words}.`;
}

/** "2 minutes", "90 s": how long sift keeps trying, in a message. */
export function patience(options: ReconnectOptions): string {
  const seconds = Math.round(options.giveUpAfterMs / 1000);
  return seconds >= 60 && seconds % 60 === 0 ? `${seconds / 60} minute${seconds === 60 ? '' : 's'}` : `${seconds} s`;
}

/** A failure that passes by itself: the server away for now, and how long it asked to wait. */
export interface PassingFailure {
  /** True when nothing answered (or the socket dropped); false when the server answered "not now". */
  connection: boolean;
  /** Wait at least this long before trying again. */
  retryAfterMs: number;
  /** The failure in words, for the one line sift prints. */
  detail: string;
}

/** Codes a Sift server ends a subscription or refuses a request with when trying again later will do. */
const PASSING_CODES = new Set(['REDIS_UNAVAILABLE', 'PROGRESS_UNAVAILABLE', 'SUBSCRIBER_TOO_SLOW', 'RATE_LIMITED']);

/**
 * The same over the HTTP routes, and SERVER_STOPPING, TOO_MANY_UPLOADS (the key's or the server's
 * uploads at their limit) and FIRST_SUBMIT_PENDING: an upload sent again with its idempotency key
 * while the first try has made no batch yet (its 202 lost, say).
 */
const PASSING_HTTP_CODES = new Set(['REDIS_UNAVAILABLE', 'RATE_LIMITED', 'TOO_MANY_UPLOADS', 'SERVER_STOPPING', 'FIRST_SUBMIT_PENDING']);

/**
 * Whether `error` means "the server is away for now": a WebSocket that failed or closed, a request
 * nothing answered, or a server that answered REDIS_UNAVAILABLE (or PROGRESS_UNAVAILABLE,
 * SUBSCRIBER_TOO_SLOW, RATE_LIMITED, and over HTTP SERVER_STOPPING, TOO_MANY_UPLOADS and FIRST_SUBMIT_PENDING) with its `retryAfterSeconds`. Null for anything else (a refusal, a bug),
 * which trying again would not fix.
 */
export function passingFailure(error: unknown): PassingFailure | null {
  if (error instanceof SiftConnectionError) return { connection: true, retryAfterMs: 0, detail: error.message };
  // fetch fails with a TypeError ("fetch failed", "terminated") when the server is gone or goes mid-answer.
  if (error instanceof TypeError && (error.cause !== undefined || /^(fetch failed|terminated)$/.test(error.message))) return { connection: true, retryAfterMs: 0, detail: error.message };
  if (error instanceof CliError && error.code === 'UNREACHABLE') return { connection: true, retryAfterMs: 0, detail: error.message };
  if (error instanceof SiftRequestError && error.code !== undefined && PASSING_CODES.has(error.code)) {
    const seconds = Number(error.errors[0]?.extensions?.retryAfterSeconds ?? 0);
    return { connection: false, retryAfterMs: Number.isFinite(seconds) ? seconds * 1000 : 0, detail: error.message };
  }
  if (error instanceof CliError && error.code !== undefined && PASSING_HTTP_CODES.has(error.code)) {
    // The server's Retry-After when it sent one (a rate limit's wait, a first submit still reading), else 2 s.
    return { connection: false, retryAfterMs: (error.retryAfterSeconds ?? 2) * 1000, detail: error.message };
  }
  return null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The waits between tries to reach a server that went away: 0.5 s doubling to 5 s (by default),
 * at least what the server asked for, until the server has been away for `giveUpAfterMs`.
 */
export class Reconnection {
  private lostSince: number | null = null;
  private delay: number;

  constructor(readonly options: Readonly<ReconnectOptions>) {
    this.delay = options.firstDelayMs;
  }

  /** True between a failure and the next success. */
  get lost(): boolean {
    return this.lostSince !== null;
  }

  /** The server answered: a later loss starts from the first wait again. True when it had been lost. */
  reached(): boolean {
    const wasLost = this.lostSince !== null;
    this.lostSince = null;
    this.delay = this.options.firstDelayMs;
    return wasLost;
  }

  /**
   * A try failed: waits before the next one (at least `atLeastMs`, but no longer than is left
   * of `giveUpAfterMs`) and resolves true, or resolves false at once when the server has been
   * away for `giveUpAfterMs` (time to give up).
   */
  async wait(atLeastMs = 0): Promise<boolean> {
    const now = Date.now();
    this.lostSince ??= now;
    const left = this.lostSince + this.options.giveUpAfterMs - now;
    if (left <= 0) return false;
    let ms = Math.min(left, Math.max(this.delay, atLeastMs));
    this.delay = Math.min(this.delay * 2, this.options.maxDelayMs);
    // A timer takes at most MAX_TIMER_MS (longer ones fire at once, with a warning): a longer wait, in steps.
    for (; ms > MAX_TIMER_MS; ms -= MAX_TIMER_MS) await sleep(MAX_TIMER_MS);
    await sleep(ms);
    return true;
  }
}

/** The longest delay setTimeout takes (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;
