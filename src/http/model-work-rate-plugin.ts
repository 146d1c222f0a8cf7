import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLContext } from '../graphql/context';
import { asRefusal, type GraphQLGate } from './graphql-gate';

/** Counts the texts each operation sends to the models against its client's texts a second, once the operation is known. */
export function modelWorkRatePlugin(gate: GraphQLGate): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, request, contextValue }) {
          try {
            await gate.modelWork(contextValue.principal, schema, document, request.operationName, request.variables);
          } catch (error) {
            throw asRefusal(error);
          }
        },
      };
    },
  };
}
