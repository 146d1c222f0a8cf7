import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { ErrorCodes } from '../errors';
import { GRAPHQL_PATH } from './graphql-ws';

/**
 * A subscription sent over HTTP is refused with 400 SUBSCRIPTION_NEEDS_WEBSOCKET, saying where
 * subscriptions run. Apollo would otherwise execute it as a query: its resolver, which expects an
 * event as its root, failed with an internal error that said nothing of why (found by a review).
 */
export function httpSubscriptionPlugin(): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation !== 'subscription') return;
          throw new GraphQLError(
            `Subscriptions run over the WebSocket at ${GRAPHQL_PATH} (the graphql-ws protocol, graphql-transport-ws), not over HTTP. Connect a graphql-ws client there, or send queries and mutations over HTTP.`,
            { extensions: { code: ErrorCodes.SUBSCRIPTION_NEEDS_WEBSOCKET, http: { status: 400 } } },
          );
        },
      };
    },
  };
}
