import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { GraphQLError } from 'graphql';
import type { Principal } from '../auth/principal';
import { formatGraphQLError } from '../graphql/format-error';
import { asOutageError } from '../redis/outage';
import { continueBody } from './expect-continue';
import { asRefusal, type GraphQLGate } from './graphql-gate';
import { GRAPHQL_PATH } from './graphql-ws';
import { drainRefusedUpload } from './refused-upload';

/**
 * With keys required, a GraphQL POST's key is checked on its headers, before its body is read:
 * express.json reads and parses a body (up to the body limit, megabytes) before Apollo asks who
 * sent it, so a client with no key could make the API hold a body per connection it opened (a
 * review held 120 connections with 7.5 MB each, the API at 1.2 GB, without a key). A refusal
 * is answered at once, as a GraphQL error with its status (401, 403, 503 while Redis is away),
 * and the body is not read on (see refused-upload.ts); a client that asked for 100 Continue never
 * sends it. The principal found is the request's (GraphQL context, `principalFromKeyCheck`).
 * GET requests carry no body, and the context checks their key as before; so does every request
 * with keys off (everyone is the local principal).
 */
export function graphqlKeyCheck(gate: GraphQLGate, development: boolean, stopping?: AbortSignal): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!gate.keysRequired || req.method !== 'POST') {
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
        const http = refusal.extensions.http as { status?: number; headers?: Map<string, string> } | undefined;
        for (const [name, value] of http?.headers ?? []) res.setHeader(name, value);
        if (refusal.extensions.code === 'UNAUTHENTICATED') res.setHeader('WWW-Authenticate', 'Bearer realm="sift"');
        res.status(http?.status ?? 500).json({ errors: [formatGraphQLError(refusal.toJSON(), refusal, development)] });
        drainRefusedUpload(req, { stopping });
      },
    );
  };
}

/** The principal graphqlKeyCheck found for this request, if it checked one. */
export function principalFromKeyCheck(res: Response | undefined): Principal | undefined {
  return res?.locals.graphqlPrincipal as Principal | undefined;
}

/** Whether a request is a GraphQL POST (whose 100 Continue waits for its key, with keys required). */
export function isGraphQLPost(req: IncomingMessage): boolean {
  if (req.method !== 'POST' || req.url === undefined) return false;
  try {
    const path = new URL(req.url, 'http://sift.invalid').pathname.toLowerCase();
    return path === GRAPHQL_PATH || path === `${GRAPHQL_PATH}/`;
  } catch {
    return false;
  }
}
