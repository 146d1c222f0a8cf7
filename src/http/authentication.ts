import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { requireScope, type Authenticator } from '../auth/authenticator';
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
