import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { BatchStatus } from '../../batches/batch-status';
import { checkResultsPage } from '../../batches/batch-service';
import type { BatchPage } from '../../batches/batch-store';
import type { BatchRowResult, BatchSnapshot } from '../../batches/batch-types';
import type { ProgressEvent, WatchItem } from '../../batches/progress-watcher';
import { requireScope } from '../../auth/authenticator';
import type { GraphQLContext } from '../context';
import { selectedFieldArguments, selectsField } from '../selection';
import { BatchConnectionType } from '../types/batch-connection-type';
import { BatchProgressType } from '../types/batch-progress-type';
import { BatchRowType } from '../types/batch-row-type';
import { BatchType } from '../types/batch-type';
import { SubmitBatchInput } from '../types/submit-batch-input';

/** The GraphQL `BatchConnection` of a page of batches. */
type BatchConnection = { edges: BatchPage['edges']; pageInfo: { hasNextPage: boolean; endCursor: string | null } };

/**
 * Batches: thin calls into `BatchService`. Resolvers return the service's own shapes
 * (`BatchSnapshot`, `BatchRowResult`, `ProgressEvent`); the object types declare which of their
 * fields GraphQL shows.
 */
@Resolver(() => BatchType)
export class BatchResolver {
  @Query(() => BatchType, { nullable: true })
  batch(@Arg('id', () => ID) id: string, @Ctx() { batches, principal }: GraphQLContext): Promise<BatchSnapshot | null> {
    requireScope(principal, 'batches');
    return batches.get(id, principal);
  }

  @Query(() => BatchConnectionType, { description: 'Most recent first.' })
  async batches(
    @Arg('first', () => Int, { defaultValue: 20 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('status', () => BatchStatus, { nullable: true }) status: BatchStatus | null,
    @Ctx() { batches, principal }: GraphQLContext,
  ): Promise<BatchConnection> {
    requireScope(principal, 'batches');
    const page = await batches.list(first, after, status, principal);
    return { edges: page.edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor } };
  }

  @Mutation(() => BatchType, {
    description:
      'Queues a batch and answers it at once (QUEUED). Alone in its operation (__typename aside): beside another mutation field it is refused with SUBMIT_BATCH_ALONE before anything runs, as a later failure would null the answer and with it this batch\'s id.',
  })
  async submitBatch(@Arg('input', () => SubmitBatchInput) input: SubmitBatchInput, @Ctx() { batches, principal }: GraphQLContext, @Info() info: GraphQLResolveInfo): Promise<BatchSnapshot> {
    requireScope(principal, 'batches');
    // Batch! is non-null: a `results` page refused after the batch exists would null the whole
    // answer, and the new batch's id with it. Refused first instead, with the same error.
    for (const { offset, limit } of selectedFieldArguments(info, 'results')) checkResultsPage(offset, limit);
    return batches.submitInline(input, principal);
  }

  @Mutation(() => BatchType)
  cancelBatch(@Arg('id', () => ID) id: string, @Ctx() { batches, principal }: GraphQLContext): Promise<BatchSnapshot> {
    requireScope(principal, 'batches');
    return batches.cancel(id, principal);
  }

  @Subscription(() => BatchProgressType, {
    description:
      'Live progress of one batch. The first event is the current snapshot; rows come in input order; the last event has a final status, after which the subscription completes. With fromRow, the finished rows from that index are sent first (on a batch that already ended, in events that all carry its final status), so a client that lost its connection resumes from the row after the last it holds, with no gap and no duplicate.',
    subscribe: ({ args, context, info }) => {
      const { id, fromRow } = args as { id: string; fromRow?: number | null };
      const { batches, principal } = context as GraphQLContext;
      requireScope(principal, 'batches');
      return batches.watch(id, { fromRow: fromRow ?? null, withRows: selectsField(info, 'rows') }, principal);
    },
  })
  batchProgress(
    @Arg('id', () => ID) _id: string,
    @Arg('fromRow', () => Int, { nullable: true, description: 'Send the finished rows from this 0-based row index first, then live ones (to resume after a dropped connection).' }) _fromRow: number | null,
    @Root() item: WatchItem,
  ): ProgressEvent {
    // A subscription that cannot go on (Redis away too long, a subscriber too slow) ends with an error that says what to do.
    if ('error' in item) throw item.error;
    return item;
  }

  @FieldResolver(() => [BatchRowType], { description: 'Finished rows in input order.' })
  results(
    @Root() batch: BatchSnapshot,
    @Arg('offset', () => Int, { defaultValue: 0 }) offset: number,
    @Arg('limit', () => Int, { defaultValue: 100 }) limit: number,
    @Ctx() { batches }: GraphQLContext,
  ): Promise<BatchRowResult[]> {
    return batches.results(batch, offset, limit);
  }

  @FieldResolver(() => String, { description: 'Path of the HTTP download of all results in input order, e.g. /batches/{id}/results.csv' })
  resultsUrl(@Root() batch: BatchSnapshot): string {
    return `/batches/${encodeURIComponent(batch.id)}/results.csv`;
  }
}
