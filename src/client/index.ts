/**
 * Sift's typed client, as the `sift-client` package (packages/client) ships it: `SiftClient`,
 * the typed documents of every operation in operations.graphql with their result and variable
 * types, and the batch status helpers.
 */
export { SiftClient, SiftRequestError, type SiftGraphQLError } from './sift-client';
export * from './generated/graphql';
export { BATCH_STATUSES, FINAL_STATUSES, isFinalStatus } from '../batches/batch-status';
