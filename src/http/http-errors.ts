import type { Response } from 'express';
import { ErrorCodes, isSiftError, type ErrorCode } from '../errors';
import type { Logger } from '../logger';
import { asOutageError } from '../redis/outage';

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  [ErrorCodes.UNSUPPORTED_MEDIA_TYPE]: 415,
  [ErrorCodes.UPLOAD_TOO_LARGE]: 413,
  [ErrorCodes.UNKNOWN_BATCH]: 404,
  [ErrorCodes.IDEMPOTENCY_CONFLICT]: 409,
  [ErrorCodes.UPLOAD_IDLE_TIMEOUT]: 408,
  [ErrorCodes.UNAUTHENTICATED]: 401,
  [ErrorCodes.FORBIDDEN]: 403,
  [ErrorCodes.ORIGIN_NOT_ALLOWED]: 403,
  [ErrorCodes.RATE_LIMITED]: 429,
};

/**
 * The HTTP routes' one way of answering an error: `{ "error": { "code", "message" } }` with a 4xx
 * for the caller's mistakes (the same codes and messages GraphQL gives), a 503 with `Retry-After`
 * for a passing fault (Redis away), and a 500 whose message reaches the client only in
 * development for anything else.
 */
export function sendError(res: Response, cause: unknown, logger: Logger, development: boolean): void {
  const error = asOutageError(cause);
  let status = 500;
  let body = { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' };
  if (isSiftError(error) && error.userError) {
    status = STATUS_OF[error.code] ?? 400;
    body = { code: error.code, message: error.message, ...error.details };
    if (error.retryAfterSeconds !== undefined && !res.headersSent) res.setHeader('Retry-After', String(error.retryAfterSeconds));
    if (error.code === ErrorCodes.UNAUTHENTICATED && !res.headersSent) res.setHeader('WWW-Authenticate', 'Bearer realm="sift"');
  } else if (isSiftError(error) && error.retryAfterSeconds !== undefined) {
    status = 503;
    body = { code: error.code, message: error.message };
    if (!res.headersSent) res.setHeader('Retry-After', String(error.retryAfterSeconds));
  } else {
    logger.error(`${(error as Error).stack ?? String(error)}`);
    if (development) body.message = (error as Error).message;
  }
  if (res.headersSent) {
    // Part of a download went out already: cutting the connection is the only honest signal left.
    res.destroy();
    return;
  }
  res.status(status).json({ error: body });
}
