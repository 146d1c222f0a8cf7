import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { requireScope, type Authenticator } from '../auth/authenticator';
import { ErrorCodes, isSiftError } from '../errors';
import type { Principal, Scope } from '../auth/principal';
import type { Logger } from '../logger';
import { sendError } from './http-errors';
import { drainRefusedUpload } from './refused-upload';

/**
 * The HTTP edge of authentication: turns the request's `Authorization` header into a principal
 * for the routes after it (401 with a JSON error when there is none, 403 without `scope`).
 * Routes read it with `principalOf`; services never see headers. A refused upload's connection
 * lingers for its client to read the answer, until `stopping` aborts (see refused-upload.ts).
 */
export function authenticate(authenticator: Authenticator, scope: Scope, logger: Logger, development: boolean, stopping?: AbortSignal): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    authenticator
      .authenticate(req.headers.authorization, req.socket.remoteAddress)
      .then((principal) => {
        requireScope(principal, scope);
        res.locals.principal = principal;
        next();
      })
      .catch((error: unknown) => {
        sendError(res, error, logger, development);
        // An upload refused on its key: not read on for ever, nor closed under the client's answer.
        drainRefusedUpload(req, { stopping });
      });
  };
}

/** The principal `authenticate` found for this request. */
export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('principalOf: the route is not behind authenticate()');
  return principal;
}

/**
 * How often the key of every open WebSocket, and of every download that follows a batch, is
 * checked again, so that a revoked key's running subscriptions and downloads end within this
 * (plus the authenticator's few seconds of caching), not when their batch does.
 */
export const KEY_RECHECK_MS = 5000;

/**
 * For an answer that streams for long (a download that follows a running batch): checks the
 * request's key again every `everyMs`, as open WebSockets' keys are (socket-key-check.ts), and
 * cuts the answer off once the key is revoked or lost `scope` (the rows already sent are the
 * client's; a cut, not an end, so the client does not take what it got for the whole). A check
 * Redis does not answer cuts nothing: an outage is not a revocation. Nothing with keys off.
 * Returns what stops the checking (also stopped when the answer closes).
 */
export function recheckWhileStreaming(
  req: Request,
  res: Response,
  authenticator: Authenticator,
  scope: Scope,
  everyMs: number,
  logger: Logger,
  /** Whether the key as it is now may still see what streams (an admin key reduced to `batches` may not see another key's batch). */
  mayStillSee: (principal: Principal) => boolean = () => true,
): () => void {
  if (!authenticator.required) return () => undefined;
  const cut = (why: string) => {
    logger.info(`${req.method} ${req.path}: cut off, the key ${why}`);
    stop();
    res.destroy();
  };
  const check = () => {
    authenticator
      .authenticate(req.headers.authorization, req.socket.remoteAddress)
      .then((principal) => {
        requireScope(principal, scope);
        if (!mayStillSee(principal)) cut('may no longer see it');
      })
      .catch((error: unknown) => {
        if (!isSiftError(error) || (error.code !== ErrorCodes.UNAUTHENTICATED && error.code !== ErrorCodes.FORBIDDEN)) return;
        cut(error.code === ErrorCodes.FORBIDDEN ? `lost the ${scope} scope` : 'was revoked');
      });
  };
  const timer = setInterval(check, everyMs);
  timer.unref();
  const stop = () => clearInterval(timer);
  res.once('close', stop);
  return stop;
}
