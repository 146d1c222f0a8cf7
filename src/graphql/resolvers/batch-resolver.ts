import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { GraphQLContext } from '../context';
import {
  BatchConnectionType,
  BatchProgressType,
  BatchRowType,
  BatchStatus,
  BatchType,
  SubmitBatchInput,
} from '../types/batch-types';

/** Batches: thin calls into `BatchService`. */
@Resolver(() => BatchType)
export class BatchResolver {
  @Query(() => BatchType, { nullable: true })
  batch(@Arg('id', () => ID) id: string, @Ctx() { batches }: GraphQLContext): Promise<BatchType | null> {
    return batches.get(id) as Promise<BatchType | null>;
  }

  @Query(() => BatchConnectionType, { description: 'Most recent first.' })
  async batches(
    @Arg('first', () => Int, { defaultValue: 20 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('status', () => BatchStatus, { nullable: true }) status: BatchStatus | null,
    @Ctx() { batches }: GraphQLContext,
  ): Promise<BatchConnectionType> {
    const page = await batches.list(first, after, status);
    return { edges: page.edges as BatchConnectionType['edges'], pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor } };
  }

  @Mutation(() => BatchType)
  submitBatch(@Arg('input', () => SubmitBatchInput) input: SubmitBatchInput, @Ctx() { batches }: GraphQLContext): Promise<BatchType> {
    return batches.submitInline(input) as Promise<BatchType>;
  }

  @Mutation(() => BatchType)
  cancelBatch(@Arg('id', () => ID) id: string, @Ctx() { batches }: GraphQLContext): Promise<BatchType> {
    return batches.cancel(id) as Promise<BatchType>;
  }

  @Subscription(() => BatchProgressType, {
    description: 'Live progress of one batch. The first event is the current snapshot; the last has a final status, after which the subscription completes.',
    subscribe: ({ args, context }) => (context as GraphQLContext).batches.watch((args as { id: string }).id),
  })
  batchProgress(@Arg('id', () => ID) _id: string, @Root() event: BatchProgressType): BatchProgressType {
    return event;
  }

  @FieldResolver(() => [BatchRowType], { description: 'Finished rows in input order.' })
  results(
    @Root() batch: BatchType,
    @Arg('offset', () => Int, { defaultValue: 0 }) offset: number,
    @Arg('limit', () => Int, { defaultValue: 100 }) limit: number,
    @Ctx() { batches }: GraphQLContext,
  ): Promise<BatchRowType[]> {
    return batches.results(batch.id, offset, limit) as Promise<BatchRowType[]>;
  }

  @FieldResolver(() => String, { description: 'Path of the HTTP download of all results in input order, e.g. /batches/{id}/results.csv' })
  resultsUrl(@Root() batch: BatchType): string {
    return `/batches/${encodeURIComponent(batch.id)}/results.csv`;
  }
}
