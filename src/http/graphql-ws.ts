import type { Server } from 'node:http';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { GraphQLContext } from '../graphql/context';
import { formatGraphQLError } from '../graphql/format-error';

/**
 * graphql-ws on the same port and path as the HTTP endpoint, for subscriptions (and any query a
 * WebSocket client sends). Errors go through the same formatter as over HTTP.
 */
export function attachGraphQLWebSocket(
  httpServer: Server,
  schema: GraphQLSchema,
  context: GraphQLContext,
  development: boolean,
): { close(): Promise<void> } {
  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql' });
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
      await cleanup.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}
