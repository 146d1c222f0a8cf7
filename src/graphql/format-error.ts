import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { isSiftError, TOP_LEVEL_CODES } from '../errors';
import { asOutageError } from '../redis/outage';

/**
 * The one place that decides what a client sees of an error, for HTTP and WebSocket alike.
 * Sift's own errors keep their message: input errors are `BAD_USER_INPUT` with the precise reason
 * (`EMPTY_TEXT`, `TEXT_TOO_LONG`, ...) beside it; a Redis outage is `REDIS_UNAVAILABLE` with
 * `retryAfterSeconds`. Any other failure is an internal error, whose
 * message and stack trace reach clients only in development.
 */
export function formatGraphQLError(formatted: GraphQLFormattedError, error: unknown, development: boolean): GraphQLFormattedError {
  const original = asOutageError(unwrapResolverError(error));
  if (isSiftError(original)) {
    const code = original.userError && !TOP_LEVEL_CODES.has(original.code) ? 'BAD_USER_INPUT' : original.code;
    const retry = original.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: original.retryAfterSeconds };
    return {
      message: original.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code, reason: original.code, ...original.details, ...retry },
    };
  }
  const code = formatted.extensions?.code;
  // Apollo's own refusals of a request it cannot take (an automatic persisted query whose hash
  // does not match, an unknown version) carry a 4xx status and no code, which Apollo labels
  // INTERNAL_SERVER_ERROR: the client's mistake, as their status says.
  const status = (original as { extensions?: { http?: { status?: unknown } } } | null)?.extensions?.http?.status;
  if (code === 'INTERNAL_SERVER_ERROR' && typeof status === 'number' && status >= 400 && status < 500) return { ...formatted, extensions: { ...formatted.extensions, code: 'BAD_REQUEST' } };
  // Errors graphql-js raises itself (syntax, validation) carry no original error and are safe to show.
  const raisedByGraphQL = original instanceof GraphQLError && original.originalError === undefined;
  if (development || raisedByGraphQL || (code !== undefined && code !== 'INTERNAL_SERVER_ERROR')) return formatted;
  return { message: 'Internal server error', locations: formatted.locations, path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}
