import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { useServer } from './ws-adapter';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Principal } from '../auth/principal';
import { ErrorCodes, isPassingError, userError, type SiftError } from '../errors';
import type { GraphQLContext, GraphQLServices } from '../graphql/context';
import { asRefusal, type GraphQLGate } from './graphql-gate';
import { KEY_RECHECK_MS } from './authentication';
import { refuseUpgrade } from './origin-policy';
import { asOutageError } from '../redis/outage';
import { formatGraphQLError } from '../graphql/format-error';
import type { QueryLimits } from '../graphql/query-limits';
import { createSharedSubscribe } from '../graphql/shared-execution';
import type { SocketMetrics } from '../metrics/socket-metrics';
import { SocketKeyCheck } from './socket-key-check';

/** The path WebSocket clients connect to: the same as the HTTP endpoint. */
export const GRAPHQL_PATH = '/graphql';

const isErrors = (checked: unknown): checked is readonly GraphQLError[] => Array.isArray(checked);

/** The close code for a connection_init without a valid key (graphql-ws has 4403 for "forbidden", none for this). */
export const UNAUTHORIZED_CLOSE_CODE = 4401;

/**
 * The close code for a connection_init whose key could not be checked (Redis away): WebSocket's
 * "try again later", which clients reconnect after, unlike 4401 (a refused key), which the web page
 * and the command line take as final (found by a review: `sift watch` told the user the key was
 * wrong during a Redis restart).
 */
export const TRY_AGAIN_CLOSE_CODE = 1013;

/** The close code for a socket whose key lost a scope it had (graphql-ws's own "forbidden"). */
export const FORBIDDEN_CLOSE_CODE = 4403;

export { KEY_RECHECK_MS } from './authentication';

/** How long a socket closed for its key has to answer the close before it is cut off. */
const CLOSE_GRACE_MS = 1000;

/**
 * Bytes a client may send on a new socket before its connection_init is answered: the init
 * message (a key, a few parameters) with room to spare. ws buffers a message up to maxPayload
 * (the HTTP body limit, megabytes) before graphql-ws sees it, so without this a client with no
 * key held megabytes a socket for the 10 s the init may take (a review: 60 sockets, the API from
 * 163 to 605 MB). A client speaking graphql-ws sends nothing else before connection_ack.
 */
export const MAX_BYTES_BEFORE_ACK = 64 * 1024;

/**
 * Cuts off a socket whose client sends more than MAX_BYTES_BEFORE_ACK before `acknowledged`
 * says its connection_init was answered: closed with 1009 (message too big), terminated a moment
 * later if it does not answer the close. Counts what arrives on the raw socket, beside ws's reader.
 */
function limitBytesBeforeAck(raw: Duplex, head: Buffer, ws: WebSocket, acknowledged: () => boolean): void {
  let received = head.length;
  const count = (piece: Buffer) => {
    if (acknowledged()) {
      raw.off('data', count);
      return;
    }
    received += piece.length;
    if (received <= MAX_BYTES_BEFORE_ACK) return;
    raw.off('data', count);
    closeThenCut(ws, 1009, `More than ${MAX_BYTES_BEFORE_ACK} bytes before connection_ack: send connection_init first`);
  };
  raw.on('data', count);
}

/**
 * Closes a socket with `code` and `reason` (cut to fit the 123 bytes a close reason may have), and
 * cuts it off a moment later: a client that does not answer the close (it stopped reading) would
 * keep the socket, and the subscriptions on it, for ws's 30 s (a no-op on a socket that closed).
 */
function closeThenCut(socket: { close(code: number, reason: string): void; terminate(): void }, code: number, reason: string): void {
  socket.close(code, reason.slice(0, 120));
  setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
}

/** What one WebSocket may send, and who may open one. */
export interface WebSocketLimits {
  /** Largest message, in bytes: the HTTP body limit, so both transports take the same requests. */
  maxPayload: number;
  /** `SIFT_MAX_OPERATIONS_PER_SOCKET`: most operations one socket may run at once. */
  maxOperationsPerSocket: number;
  /** Why an upgrade is refused (its Host or Origin; see OriginPolicy), or null to let it through. */
  admit(request: IncomingMessage): SiftError | null;
}

/**
 * The answer to one operation too many on a socket: an error for that operation alone, so the
 * client's other subscriptions go on (closing the socket would end them all, and a client that
 * reconnects would only open them again).
 */
function tooManyOperations(most: number): GraphQLError {
  return asRefusal(
    userError(
      ErrorCodes.TOO_MANY_OPERATIONS,
      `This WebSocket already runs ${most} operations, the most SIFT_MAX_OPERATIONS_PER_SOCKET allows at once; complete some (unsubscribe) before starting more, or open another connection.`,
    ),
  ) as GraphQLError;
}

/**
 * ws reports a client's protocol mistake (a message over maxPayload, a broken frame: codes
 * `WS_ERR_*`) by closing the socket with the fitting code (1009, 1002, …) and then emitting
 * 'error', which graphql-ws prints to stderr as an internal error, stack and all. Those are the
 * client's, already answered: they do not reach graphql-ws.
 */
function quietProtocolErrors(ws: WebSocket): WebSocket {
  const emit = ws.emit.bind(ws);
  ws.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event === 'error' && String((args[0] as NodeJS.ErrnoException | undefined)?.code).startsWith('WS_ERR_')) return true;
    return emit(event, ...args);
  }) as WebSocket['emit'];
  return ws;
}

/** A connection's principal, found at connection_init and checked again at each operation. */
interface SocketExtra {
  principal?: Principal;
  /** The Authorization value of connection_init, to verify the key again for each operation. */
  authorization?: unknown;
  socket: { close(code: number, reason: string): void; terminate(): void; readonly readyState: number; readonly OPEN: number };
  request: IncomingMessage;
}

/**
 * graphql-ws on the same port and path as the HTTP endpoint, for subscriptions (and any query a
 * WebSocket client sends). Errors go through the same formatter as over HTTP. The WebSocket server
 * takes upgrades from the HTTP server rather than attaching to it, so an HTTP server that cannot
 * listen (a port in use) reports that once, through its own caller, not as a WebSocket error.
 */
export function attachGraphQLWebSocket(
  httpServer: Server,
  schema: GraphQLSchema,
  services: GraphQLServices,
  gate: GraphQLGate,
  development: boolean,
  limits: QueryLimits,
  transport: WebSocketLimits,
  sockets?: SocketMetrics,
): { close(): Promise<void> } {
  // A message larger than an HTTP request may be closes the socket with 1009 (ws's default is 100 MiB).
  const wsServer = new WebSocketServer({ noServer: true, maxPayload: transport.maxPayload });
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== GRAPHQL_PATH) {
      refuseUpgrade(socket, 404, 'Not Found', { code: ErrorCodes.NOT_FOUND, message: `WebSockets connect to ${GRAPHQL_PATH} (graphql-ws).` });
      return;
    }
    // Browsers let any page open a WebSocket anywhere, and send no preflight: the server must check.
    const refusal = transport.admit(request);
    if (refusal) {
      refuseUpgrade(socket, 403, 'Forbidden', refusal);
      return;
    }
    wsServer.handleUpgrade(request, socket, head, (ws) => {
      limitBytesBeforeAck(socket, head, ws, () => acknowledged.has(ws));
      wsServer.emit('connection', quietProtocolErrors(ws), request);
    });
  };
  httpServer.on('upgrade', onUpgrade);
  // Sockets whose connection_init was accepted (onConnect): no longer held to MAX_BYTES_BEFORE_ACK.
  const acknowledged = new WeakSet<object>();
  const format = (error: GraphQLError) => formatGraphQLError(error.toJSON(), error, development);
  const unauthorized = (extra: SocketExtra, message: string, code = UNAUTHORIZED_CLOSE_CODE) =>
    closeThenCut(extra.socket, code, `${code === UNAUTHORIZED_CLOSE_CODE ? 'Unauthorized' : 'Forbidden'}: ${message}`);
  const keyCheck = gate.keysRequired
    ? new SocketKeyCheck({
        verify: (authorization, clientAddress) => gate.identify(authorization, clientAddress),
        revoked: (socket, message) => unauthorized(socket as SocketExtra, message),
        narrowed: (socket, message) => unauthorized(socket as SocketExtra, message, FORBIDDEN_CLOSE_CODE),
        everyMs: KEY_RECHECK_MS,
      })
    : null;
  const cleanup = useServer(
    {
      schema,
      // Every subscriber of a batch gets the same progress event objects: each is executed once per document, not once per subscriber.
      // Each subscription is one request over its life: its events' result rows together stay within the request's.
      subscribe: createSharedSubscribe(['batchProgress'], limits.eventRowBudget()),
      // The same limits as over HTTP (tokens, aliases, depth, directives, texts, introspection), checked before anything runs.
      // Then the operation counts against the client's rate limits (operations, and texts to the models).
      onSubscribe: async (ctx, _id, payload) => {
        // graphql-ws holds every operation of the socket in ctx.subscriptions (this one included)
        // from its subscribe message to its end: past the cap, refuse the new one, not the socket.
        if (Object.keys(ctx.subscriptions).length > transport.maxOperationsPerSocket) return [tooManyOperations(transport.maxOperationsPerSocket)];
        const checked = limits.check(schema, payload);
        if (isErrors(checked)) return checked;
        const extra = ctx.extra as unknown as SocketExtra;
        let principal: Principal;
        try {
          // The key again (a cached read, at most one Redis read per key per couple of seconds): a
          // socket opened before its key was revoked may not start new operations.
          principal = extra.principal = await gate.identify(extra.authorization, extra.request.socket.remoteAddress);
        } catch (error) {
          const refusal = asRefusal(asOutageError(error));
          if (!(refusal instanceof GraphQLError)) throw error;
          // A revoked key: the socket and what runs on it end as at connection_init. Anything else
          // (Redis not answering) refuses this operation only.
          if (refusal.extensions.code === ErrorCodes.UNAUTHENTICATED) unauthorized(extra, refusal.message);
          return [refusal];
        }
        try {
          await gate.operation(principal);
          await gate.modelWork(principal, schema, checked.document, checked.operationName, checked.variableValues);
        } catch (error) {
          const refusal = asRefusal(error);
          if (refusal instanceof GraphQLError) return [refusal];
          throw error;
        }
        return checked;
      },
      // A client gets this long to send connection_init once its socket is open (graphql-ws's
      // default of 3 s closed busy clients with 4408 when a thousand connected at once).
      connectionInitWaitTimeout: 10_000,
      // The key comes once, as {"authorization": "Bearer <key>"} in connection_init; a socket without a valid one is closed with 4401.
      onConnect: async (ctx) => {
        sockets?.connected(ctx);
        const extra = ctx.extra as unknown as SocketExtra;
        try {
          extra.authorization = ctx.connectionParams?.authorization;
          extra.principal = await gate.identify(extra.authorization, extra.request.socket.remoteAddress);
          // A socket that closed while its key was checked had its onClose already: not kept.
          if (extra.socket.readyState === extra.socket.OPEN) keyCheck?.add(extra);
          acknowledged.add(extra.socket);
          return true;
        } catch (error) {
          const cause = asOutageError(error);
          if (isPassingError(cause)) {
            closeThenCut(extra.socket, TRY_AGAIN_CLOSE_CODE, cause.message);
            return false;
          }
          unauthorized(extra, (error as Error).message);
          return false;
        }
      },
      context: (ctx): GraphQLContext => ({ ...services, principal: (ctx.extra as unknown as SocketExtra).principal! }),
      onError: (_ctx, _id, _payload, errors) => errors.map(format),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map(format) } : undefined,
      // sift_subscriptions_active and sift_websocket_connections_active: graphql-ws calls onComplete
      // after every operation that ran, and onClose once per socket, which lets go of the rest.
      onOperation: (ctx, id, _payload, _args, result) => {
        if (Symbol.asyncIterator in result) sockets?.subscribed(ctx, id);
        return undefined;
      },
      onComplete: (ctx, id) => sockets?.ended(ctx, id),
      onClose: (ctx) => {
        keyCheck?.delete(ctx.extra as unknown as SocketExtra);
        sockets?.closed(ctx);
      },
    },
    wsServer,
  );
  return {
    close: async () => {
      httpServer.off('upgrade', onUpgrade);
      keyCheck?.stop();
      await cleanup.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}
