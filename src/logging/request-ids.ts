import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../logger';
import { requestContext } from './request-context';

/** The header a request's id comes in (when the client or a proxy sends one) and goes back in. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** A request id Sift takes as it is: up to 128 letters, digits and `-_.:/+=@` (a UUID, a trace id, a proxy's id). */
const SANE_REQUEST_ID = /^[\w.:/+=@-]{1,128}$/;

/** The request's own id when it sent a sane one (one header, a bounded token), else a new UUID. */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

/** One debug line per request once it is answered (or its client left first). */
function logWhenDone(req: Request, res: Response, requestId: string, logger: Logger): void {
  const started = process.hrtime.bigint();
  const { method } = req;
  const path = req.path;
  const done = () => {
    res.off('finish', done);
    res.off('close', done);
    const ms = Number((Number(process.hrtime.bigint() - started) / 1e6).toFixed(1));
    const status = res.writableFinished ? res.statusCode : null;
    logger.debug(`${method} ${path} ${status ?? 'closed by the client before the answer was sent'} in ${ms} ms`, { requestId, method, path, status, ms });
  };
  res.on('finish', done);
  res.on('close', done);
}

/**
 * First of every HTTP route: gives the request an id (its `x-request-id` when sane, see
 * `requestIdOf`), answers it in `X-Request-Id`, and handles the rest of the request inside that
 * id's request context, so that every line logged for it carries `requestId`. With the logger at
 * debug, one line per request once it is answered (method, path, status, ms); at info and above
 * nothing per request, and no listener is added.
 */
export function requestIds(logger: Logger): RequestHandler {
  const perRequestLines = logger.enabled('debug');
  return (req, res, next) => {
    const requestId = requestIdOf(req.headers[REQUEST_ID_HEADER]);
    res.setHeader('X-Request-Id', requestId);
    if (perRequestLines) logWhenDone(req, res, requestId, logger);
    requestContext.run({ requestId }, next);
  };
}
