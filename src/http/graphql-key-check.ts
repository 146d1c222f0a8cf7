import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { GraphQLError } from 'graphql';
import type { Principal } from '../auth/principal';
import { formatGraphQLError } from '../graphql/format-error';
import { asOutageError } from '../redis/outage';
import { continueBody, routedPath } from './expect-continue';
import { asRefusal, type GraphQLGate } from './graphql-gate';
import { GRAPHQL_PATH } from './graphql-ws';
import { drainRefusedUpload } from './refused-upload';

/**
 * With keys required, the key of a GraphQL request with a body (a POST, or any other method
 * that sends one) is checked on its headers, before its body is read:
 * express.json reads and parses a body (up to the body limit, megabytes) before Apollo asks who
 * sent it, so a client with no key could make the API hold a body per connection it opened (a
 * review held 120 connections with 7.5 MB each, the API at 1.2 GB, without a key). A refusal
 * is answered at once, as a GraphQL error with its status (401, 403, 503 while Redis is away),
 * and the body is not read on (see refused-upload.ts); a client that asked for 100 Continue never
 * sends it. The principal found is the request's (GraphQL context, `principalFromKeyCheck`).
 * A request without a body has its key checked by the context, as every request has with keys
 * off (everyone is the local principal).
 */
export function graphqlKeyCheck(gate: GraphQLGate, development: boolean, stopping?: AbortSignal): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    // Any method: express.json reads a GET's or PUT's body as it does a POST's (a review held
    // 30 GETs of 7 MB each with no key). A request without a body has its key checked by the
    // context as before, and the Sandbox page (GET, no key) still answers.
    if (!gate.keysRequired || !hasBody(req)) {
      next();
      return;
    }
    gate.identify(req.headers.authorization, req.socket.remoteAddress).then(
      (principal) => {
        res.locals.graphqlPrincipal = principal;
        continueBody(res);
        next();
      },
      (cause: unknown) => {
        const refusal = asRefusal(asOutageError(cause));
        if (!(refusal instanceof GraphQLError)) {
          next(cause);
          return;
        }
        const { http, ...extensions } = refusal.extensions as { http?: { status?: number; headers?: Map<string, string> } } & Record<string, unknown>;
        for (const [name, value] of http?.headers ?? []) res.setHeader(name, value);
        if (extensions.code === 'UNAUTHENTICATED') res.setHeader('WWW-Authenticate', 'Bearer realm="sift"');
        // Without `http`, as Apollo answers the same refusal of a GET: the status is the HTTP status.
        const answered = new GraphQLError(refusal.message, { extensions });
        res.status(http?.status ?? 500).json({ errors: [formatGraphQLError(answered.toJSON(), answered, development)] });
        drainRefusedUpload(req, { stopping });
      },
    );
  };
}

/** The principal graphqlKeyCheck found for this request, if it checked one. */
export function principalFromKeyCheck(res: Response | undefined): Principal | undefined {
  return res?.locals.graphqlPrincipal as Principal | undefined;
}

/** Whether a request carries a body (a length above 0, or chunks). */
function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/**
 * Whether a request with a body goes to the GraphQL route (any method, any path under it, as
 * Express routes it): its 100 Continue waits for its key, with keys required.
 */
export function isGraphQLWithBody(req: IncomingMessage): boolean {
  if (!hasBody(req)) return false;
  const path = routedPath(req);
  return path !== null && (path === GRAPHQL_PATH || path.startsWith(`${GRAPHQL_PATH}/`));
}
