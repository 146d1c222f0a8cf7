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

/** Redis's refusal of a write at its memory limit (`maxmemory` with `noeviction`, which Sift's queue Redis needs). */
export function isRedisOutOfMemory(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (/^OOM /.test(error.message)) return true;
  // A MULTI whose commands Redis refused when they were queued: EXEC answers EXECABORT, the OOMs ride along.
  const previous = (error as { previousErrors?: unknown }).previousErrors;
  return /^EXECABORT /.test(error.message) && Array.isArray(previous) && previous.some((cause) => cause instanceof Error && /^OOM /.test(cause.message));
}

/** How long to wait before trying again when Redis is full: someone has to make room first. */
const OUT_OF_MEMORY_RETRY_AFTER_SECONDS = 30;

/** The error clients get when Redis refuses writes for its memory limit. */
export function redisOutOfMemory(): SiftError {
  return unavailableError(
    ErrorCodes.REDIS_OUT_OF_MEMORY,
    `Redis is full (it reached its maxmemory), so this server cannot store the batch or its results now; try again later. Operators: raise Redis's maxmemory, or make room (finished batches go after SIFT_BATCH_RETENTION_SECONDS).`,
    OUT_OF_MEMORY_RETRY_AFTER_SECONDS,
  );
}

/** A Redis outage, or Redis full, as Sift's own error; any other error as it is. */
export function asOutageError(error: unknown): unknown {
  if (isSiftError(error)) return error;
  if (isRedisOutage(error)) return redisUnavailable();
  return isRedisOutOfMemory(error) ? redisOutOfMemory() : error;
}
