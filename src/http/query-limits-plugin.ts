import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { QueryTooLargeError, type QueryLimits } from '../graphql/query-limits';

/** A refusal thrown from a request hook, as Apollo answers it: with HTTP 400 (Apollo keeps `http` out of what clients see). */
function answer(error: QueryTooLargeError): GraphQLError {
  return new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 400 } } });
}

/**
 * The Apollo side of `QueryLimits` (the rules themselves go in Apollo's `validationRules`):
 * - the token limit while Apollo is about to parse, so an oversized document is refused after
 *   counting as many tokens as the limit, before Apollo parses it all;
 * - the texts a request sends to the models, and the stored result rows it reads, once the
 *   operation is known, with its variables;
 * - errors: a limit keeps its `QUERY_TOO_LARGE` code (Apollo labels every validation error
 *   `GRAPHQL_VALIDATION_FAILED`), and suggestions are hidden when introspection is off.
 */
export function queryLimitsPlugin(limits: QueryLimits): ApolloServerPlugin<BaseContext> {
  return {
    // Apollo has no way to end a request from parsingDidStart but to throw: the error comes here, and what this throws is the answer.
    async unexpectedErrorProcessingRequest({ error }) {
      if (error instanceof QueryTooLargeError) throw answer(error);
    },
    async requestDidStart() {
      return {
        // Not called for a document Apollo parsed and validated before (its document cache).
        async parsingDidStart({ source }) {
          try {
            limits.parse(source);
          } catch (error) {
            if (error instanceof QueryTooLargeError) throw error;
            // A syntax error: Apollo's own parse reports it.
          }
        },
        async didResolveOperation({ schema, document, request }) {
          const error = limits.workError(schema, document, request.operationName, request.variables);
          if (error) throw answer(error);
        },
        async didEncounterErrors({ errors }) {
          for (const error of errors) {
            if (error.originalError instanceof QueryTooLargeError) (error.extensions as Record<string, unknown>).code = error.originalError.extensions.code;
          }
          limits.hideSuggestions(errors);
        },
      };
    },
  };
}
