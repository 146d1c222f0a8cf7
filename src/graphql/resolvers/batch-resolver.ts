import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { BatchStatus } from '../../batches/batch-status';
import type { BatchPage } from '../../batches/batch-store';
import type { BatchRowResult, BatchSnapshot } from '../../batches/batch-types';
import type { ProgressEvent } from '../../batches/progress-feed';
import type { GraphQLContext } from '../context';
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
  batch(@Arg('id', () => ID) id: string, @Ctx() { batches }: GraphQLContext): Promise<BatchSnapshot | null> {
    return batches.get(id);
  }

  @Query(() => BatchConnectionType, { description: 'Most recent first.' })
  async batches(
    @Arg('first', () => Int, { defaultValue: 20 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('status', () => BatchStatus, { nullable: true }) status: BatchStatus | null,
    @Ctx() { batches }: GraphQLContext,
  ): Promise<BatchConnection> {
    const page = await batches.list(first, after, status);
    return { edges: page.edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor } };
  }

  @Mutation(() => BatchType)
  submitBatch(@Arg('input', () => SubmitBatchInput) input: SubmitBatchInput, @Ctx() { batches }: GraphQLContext): Promise<BatchSnapshot> {
    return batches.submitInline(input);
  }

  @Mutation(() => BatchType)
  cancelBatch(@Arg('id', () => ID) id: string, @Ctx() { batches }: GraphQLContext): Promise<BatchSnapshot> {
    return batches.cancel(id);
  }

  @Subscription(() => BatchProgressType, {
    description: 'Live progress of one batch. The first event is the current snapshot; the last has a final status, after which the subscription completes.',
    subscribe: ({ args, context }) => (context as GraphQLContext).batches.watch((args as { id: string }).id),
  })
  batchProgress(@Arg('id', () => ID) _id: string, @Root() event: ProgressEvent): ProgressEvent {
    return event;
  }

  @FieldResolver(() => [BatchRowType], { description: 'Finished rows in input order.' })
  results(
    @Root() batch: BatchSnapshot,
    @Arg('offset', () => Int, { defaultValue: 0 }) offset: number,
    @Arg('limit', () => Int, { defaultValue: 100 }) limit: number,
    @Ctx() { batches }: GraphQLContext,
  ): Promise<BatchRowResult[]> {
    return batches.results(batch.id, offset, limit);
  }

  @FieldResolver(() => String, { description: 'Path of the HTTP download of all results in input order, e.g. /batches/{id}/results.csv' })
  resultsUrl(@Root() batch: BatchSnapshot): string {
    return `/batches/${encodeURIComponent(batch.id)}/results.csv`;
  }
}
