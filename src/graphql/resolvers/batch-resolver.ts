import { Arg, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { ErrorCodes, SiftError } from '../../errors';
import {
  BatchConnectionType,
  BatchProgressType,
  BatchRowType,
  BatchStatus,
  BatchType,
  SubmitBatchInput,
} from '../types/batch-types';

function notYet(): never {
  throw new SiftError(ErrorCodes.NOT_IMPLEMENTED, 'Batches are not available on this server yet; use predictMany for up to a request\'s limit of texts.', false);
}

/**
 * The batch part of the contract. The schema is complete so clients can be generated against it;
 * every entry answers NOT_IMPLEMENTED until batch processing lands.
 */
@Resolver(() => BatchType)
export class BatchResolver {
  @Query(() => BatchType, { nullable: true })
  batch(@Arg('id', () => ID) _id: string): BatchType | null {
    return notYet();
  }

  @Query(() => BatchConnectionType, { description: 'Most recent first.' })
  batches(
    @Arg('first', () => Int, { defaultValue: 20 }) _first: number,
    @Arg('after', () => String, { nullable: true }) _after: string | null,
    @Arg('status', () => BatchStatus, { nullable: true }) _status: BatchStatus | null,
  ): BatchConnectionType {
    return notYet();
  }

  @Mutation(() => BatchType)
  submitBatch(@Arg('input', () => SubmitBatchInput) _input: SubmitBatchInput): BatchType {
    return notYet();
  }

  @Mutation(() => BatchType)
  cancelBatch(@Arg('id', () => ID) _id: string): BatchType {
    return notYet();
  }

  @Subscription(() => BatchProgressType, {
    description: 'Live progress of one batch. The first event is the current snapshot; the last has a final status, after which the subscription completes.',
    subscribe: () => notYet(),
  })
  batchProgress(@Arg('id', () => ID) _id: string): BatchProgressType {
    return notYet();
  }

  @FieldResolver(() => [BatchRowType], { description: 'Finished rows in input order.' })
  results(
    @Root() _batch: BatchType,
    @Arg('offset', () => Int, { defaultValue: 0 }) _offset: number,
    @Arg('limit', () => Int, { defaultValue: 100 }) _limit: number,
  ): BatchRowType[] {
    return notYet();
  }

  @FieldResolver(() => String, { description: 'Path of the HTTP download of all results in input order, e.g. /batches/{id}/results.csv' })
  resultsUrl(@Root() batch: BatchType): string {
    return `/batches/${encodeURIComponent(batch.id)}/results.csv`;
  }
}
