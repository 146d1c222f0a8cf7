import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { GraphQLContext } from '../graphql/context';
import { formatGraphQLError } from '../graphql/format-error';

/** The path WebSocket clients connect to: the same as the HTTP endpoint. */
export const GRAPHQL_PATH = '/graphql';

/**
 * graphql-ws on the same port and path as the HTTP endpoint, for subscriptions (and any query a
 * WebSocket client sends). Errors go through the same formatter as over HTTP. The WebSocket server
 * takes upgrades from the HTTP server rather than attaching to it, so an HTTP server that cannot
 * listen (a port in use) reports that once, through its own caller, not as a WebSocket error.
 */
export function attachGraphQLWebSocket(
  httpServer: Server,
  schema: GraphQLSchema,
  context: GraphQLContext,
  development: boolean,
): { close(): Promise<void> } {
  const wsServer = new WebSocketServer({ noServer: true });
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== GRAPHQL_PATH) {
      socket.destroy();
      return;
    }
    wsServer.handleUpgrade(request, socket, head, (ws) => wsServer.emit('connection', ws, request));
  };
  httpServer.on('upgrade', onUpgrade);
  const format = (error: GraphQLError) => formatGraphQLError(error.toJSON(), error, development);
  const cleanup = useServer(
    {
      schema,
      context: () => context,
      onError: (_ctx, _id, _payload, errors) => errors.map(format),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map(format) } : undefined,
    },
    wsServer,
  );
  return {
    close: async () => {
      httpServer.off('upgrade', onUpgrade);
      await cleanup.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}
