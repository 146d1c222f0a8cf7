/**
 * Sift's typed client, as the `sift-client` package (packages/client) ships it: `SiftClient` and
 * its errors (SiftRequestError, SiftAuthError for a refused API key, SiftConnectionError,
 * ServerUrlError), the typed documents of every operation in operations.graphql with their
 * result and variable types, and the batch status helpers.
 */
export {
  authErrorOf,
  SiftAuthError,
  SiftClient,
  SiftConnectionError,
  SiftProtocolError,
  SiftRequestError,
  UNAUTHORIZED_CLOSE_CODE,
  type SiftClientOptions,
  type SiftGraphQLError,
} from './sift-client';
export { ServerUrlError } from './server-url';
export * from './generated/graphql';
export { BATCH_STATUSES, FINAL_STATUSES, isFinalStatus } from '../batches/batch-status';
