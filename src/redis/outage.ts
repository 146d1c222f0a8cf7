import { ErrorCodes, isSiftError, unavailableError, type SiftError } from '../errors';

/** What a caller should wait before trying again while Redis is away: about one reconnect attempt. */
export const REDIS_RETRY_AFTER_SECONDS = 2;

// ioredis and node_redis (bee-queue's client) say "Redis is not there" in these ways: refused or
// broken sockets, commands refused while offline, commands cut off by a lost connection or a
// timeout, and a restarted Redis still loading its data.
const OUTAGE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'NR_CLOSED', 'UNCERTAIN_STATE', 'CONNECTION_BROKEN']);
const OUTAGE_NAMES = new Set(['AbortError', 'MaxRetriesPerRequestError']);
const OUTAGE_MESSAGES = /Stream isn't writeable|Connection is closed|Command timed out|connection lost|Connection forcefully ended|^LOADING |^MASTERDOWN |^TRYAGAIN /i;

/** True for an error that means Redis is unreachable or restarting, not that a command was wrong. */
export function isRedisOutage(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code } = error as { code?: unknown };
  return (typeof code === 'string' && OUTAGE_CODES.has(code)) || OUTAGE_NAMES.has(error.name) || OUTAGE_MESSAGES.test(error.message);
}

/** The error clients get when work needs Redis and Redis is away: a stable code and when to retry. */
export function redisUnavailable(): SiftError {
  return unavailableError(
    ErrorCodes.REDIS_UNAVAILABLE,
    `Redis is not answering right now, so batches cannot be read or changed; try again in a few seconds (predictions still work).`,
    REDIS_RETRY_AFTER_SECONDS,
  );
}

/** A Redis outage as Sift's own error; any other error as it is. */
export function asOutageError(error: unknown): unknown {
  return !isSiftError(error) && isRedisOutage(error) ? redisUnavailable() : error;
}
