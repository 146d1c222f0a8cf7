import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Router } from 'express';
import type { GraphQLSchema } from 'graphql';
import { ErrorCodes, setupError } from '../errors';
import type { GraphQLContext, GraphQLServices } from '../graphql/context';
import { formatGraphQLError } from '../graphql/format-error';
import type { QueryLimits } from '../graphql/query-limits';
import type { Logger } from '../logger';
import { requestIds } from '../logging/request-ids';
import { asRefusal, type GraphQLGate } from './graphql-gate';
import { attachGraphQLWebSocket, GRAPHQL_PATH } from './graphql-ws';
import { bodyDeadline, errorHandler, notFound, refuseDeclaredBodyOver } from './http-errors';
import { modelWorkRatePlugin } from './model-work-rate-plugin';
import type { SiftMetrics } from '../metrics/sift-metrics';
import { graphqlMetricsPlugin } from './graphql-metrics-plugin';
import { graphqlSpans, graphqlTracingPlugin, traceContextFromHeaders } from './graphql-tracing';
import { httpMetricsMiddleware } from './http-metrics-middleware';
import { landingPagePlugin } from './landing-page';
import type { OriginPolicy } from './origin-policy';
import { queryLimitsPlugin } from './query-limits-plugin';
import { httpSubscriptionPlugin } from './http-subscription-plugin';
import { securityHeaders } from './security-headers';
import { WEB_APP_DIR, webAppRoutes } from './web-app-routes';
import { deferContinue, isBatchUpload } from './expect-continue';
import { graphqlKeyCheck, isGraphQLWithBody, principalFromKeyCheck } from './graphql-key-check';

/**
 * How long a stopping API waits for in-flight requests before it closes their connections (Apollo's
 * drain plugin; its default, named here because an upload's own stop grace must end before it).
 */
export const HTTP_DRAIN_GRACE_MS = 10_000;

export interface ApiServerOptions {
  schema: GraphQLSchema;
  /** The services every request's GraphQL context carries. */
  services: GraphQLServices;
  /** Who each request and socket is (an API key, or everyone with auth off), and what it may do now (rate limits). */
  gate: GraphQLGate;
  /** Largest GraphQL request body, in bytes; also the largest WebSocket message. */
  bodyLimit: number;
  /** How long a GraphQL request's body may take to arrive, in ms (`SIFT_GRAPHQL_BODY_TIMEOUT_MS`). */
  bodyTimeoutMs: number;
  /** `SIFT_MAX_OPERATIONS_PER_SOCKET`: most operations one WebSocket may run at once. */
  maxOperationsPerSocket: number;
  /** Which pages may read answers and open the WebSocket (CORS, Origin), and which Host names are answered. */
  originPolicy: OriginPolicy;
  /**
   * The other routes, tried in order after GraphQL (batches, health, metrics). `crossOrigin`: the
   * path under which the router answers CORS requests from the origins `originPolicy` allows.
   */
  routes: { router: Router; crossOrigin?: string }[];
  /** For the errors answered as 500 (their cause is logged, not sent). */
  logger: Logger;
  development: boolean;
  /** What one GraphQL request may ask for, the same over HTTP and WebSocket. */
  queryLimits: QueryLimits;
  /** Counts responses, GraphQL operations, WebSockets and subscriptions (none counted without). */
  metrics?: SiftMetrics;
  /**
   * Tracing is on: a span per GraphQL operation over HTTP, and a caller's `traceparent` is followed.
   * Off, none of it is mounted.
   */
  tracing?: boolean;
  /** Aborted when the server stops: a refused request's connection then closes soon (refused-upload.ts). */
  stopping?: AbortSignal;
}

/** The address a started server listens on. */
export interface ListeningAddress {
  /** e.g. http://127.0.0.1:4000 (the port actually bound, also when PORT=0). */
  url: string;
  port: number;
}

/** The HTTP and WebSocket front of the API; it knows the services only through the GraphQL context and the routes. */
export interface ApiServer {
  listen(port: number, host: string): Promise<ListeningAddress>;
  /** Stops accepting connections and drains in-flight requests and subscriptions. */
  close(): Promise<void>;
}

/**
 * Node's limits on how long a request may take. No limit on its total time (`requestTimeout` 0;
 * Node's default of 300 s cut a 2 GiB upload slower than 7.2 MB/s): uploads stream for as long as
 * the client keeps sending, and the upload route ends one that goes silent instead
 * (`SIFT_UPLOAD_IDLE_TIMEOUT_MS`). The headers must still arrive within Node's default minute.
 */
const SERVER_TIMEOUTS = { requestTimeout: 0, headersTimeout: 60_000 } as const;

/** What a failed `listen` means, in one line the operator can act on. */
function listenError(error: NodeJS.ErrnoException, port: number, host: string): Error {
  if (error.code === 'EADDRINUSE') return setupError(ErrorCodes.PORT_IN_USE, `Port ${port} on ${host} is already in use. Stop what listens there, or set PORT to another port.`);
  if (error.code === 'EACCES') return setupError(ErrorCodes.PORT_IN_USE, `Port ${port} on ${host} needs privileges this process lacks; set PORT to a port above 1023.`);
  if (error.code === 'EADDRNOTAVAIL') return setupError(ErrorCodes.BAD_CONFIG, `HOST=${host} is not an address of this machine; set HOST to one of its addresses (127.0.0.1 for this machine only).`);
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return setupError(ErrorCodes.BAD_CONFIG, `HOST=${host} is no name this machine can resolve (${error.code}); set HOST to one of its addresses (127.0.0.1 for this machine only, 0.0.0.0 for every interface).`);
  return error;
}

/**
 * GraphQL over HTTP (Apollo) and WebSocket (graphql-ws) on one port and path, the other routes
 * beside them, and the web page at `/`.
 */
export async function createApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { schema, services, gate, development, originPolicy } = options;
  const app = express();
  app.disable('x-powered-by');
  // The very first, so every answer is counted, refusals included.
  if (options.metrics) app.use(httpMetricsMiddleware(options.metrics.http));
  const httpServer: Server = createServer(SERVER_TIMEOUTS, app);
  // An upload's 100 Continue waits for its headers to pass (batch-routes.ts), and with keys required a
  // GraphQL request's for its key (graphqlKeyCheck); everything else gets it at once.
  deferContinue(httpServer, (req) => isBatchUpload(req) || (gate.keysRequired && isGraphQLWithBody(req)));
  const ws = attachGraphQLWebSocket(httpServer, schema, services, gate, development, options.queryLimits, {
    maxPayload: options.bodyLimit,
    maxOperationsPerSocket: options.maxOperationsPerSocket,
    admit: (request) => originPolicy.upgradeRefusal(request),
  }, options.metrics?.sockets);
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    // SIFT_INTROSPECTION is one of queryLimits.rules, so that it holds over WebSocket too.
    introspection: true,
    // The composition root owns shutdown; Apollo's own signal handlers would race it.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: development,
    formatError: (formatted, error) => formatGraphQLError(formatted, error, development),
    validationRules: [...options.queryLimits.rules],
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: HTTP_DRAIN_GRACE_MS }),
      { serverWillStart: async () => ({ drainServer: () => ws.close() }) },
      landingPagePlugin(),
      // Sift sets no cache hints; the plugin would otherwise wrap every field resolver.
      ApolloServerPluginCacheControlDisabled(),
      queryLimitsPlugin(options.queryLimits),
      httpSubscriptionPlugin(),
      modelWorkRatePlugin(gate),
      ...(options.metrics ? [graphqlMetricsPlugin(options.metrics.http)] : []),
      ...(options.tracing ? [graphqlTracingPlugin()] : []),
    ],
  });
  await apollo.start();
  // Who asks, and whether it may ask now: a refusal is answered 401 or 429 with the error in the usual JSON body.
  const context = async ({ req, res }: { req: express.Request; res: express.Response }): Promise<GraphQLContext> => {
    try {
      // The key of a request with a body was checked on its headers already (graphqlKeyCheck); the others' here.
      const principal = principalFromKeyCheck(res) ?? (await gate.identify(req.headers.authorization, req.socket.remoteAddress));
      await gate.operation(principal);
      return { ...services, principal };
    } catch (error) {
      throw asRefusal(error);
    }
  };
  // Before all else, every request gets an id (X-Request-Id) that its log lines carry.
  app.use(requestIds(options.logger));
  if (options.tracing) app.use(traceContextFromHeaders());
  // First, for every answer: helmet's headers, then the Host check (DNS rebinding; off with auth on).
  app.use(securityHeaders(WEB_APP_DIR), originPolicy.hostGuard());
  // GraphQL next: nearly every request is one, and Express tries the routes in order.
  app.use(GRAPHQL_PATH, ...(options.tracing ? [graphqlSpans()] : []), originPolicy.cors(), refuseDeclaredBodyOver(options.bodyLimit), graphqlKeyCheck(gate, development, options.stopping), bodyDeadline(options.bodyTimeoutMs, options.logger, options.development), express.json({ limit: options.bodyLimit }), expressMiddleware(apollo, { context }));
  for (const { router, crossOrigin } of options.routes) {
    if (crossOrigin) app.use(crossOrigin, originPolicy.cors());
    app.use(router);
  }
  // Then the page and its assets, after every API route; what nothing answered is a JSON 404,
  // and every error Express sees is answered as JSON.
  app.use(webAppRoutes(WEB_APP_DIR));
  app.use(notFound());
  app.use(errorHandler(options.logger, development));

  return {
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        const fail = (error: NodeJS.ErrnoException) => reject(listenError(error, port, host));
        httpServer.once('error', fail);
        httpServer.listen(port, host, () => {
          httpServer.off('error', fail);
          const bound = (httpServer.address() as AddressInfo).port;
          const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
          resolve({ url: `http://${shown}:${bound}`, port: bound });
        });
      }),
    // Apollo's drain plugin closes the HTTP server (when it listens) and the WebSocket server.
    close: async () => {
      await apollo.stop();
      if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
