import { Field, ObjectType } from 'type-graphql';
import { BatchRowType } from './batch-row-type';
import { BatchType } from './batch-type';

@ObjectType('BatchProgress', { simpleResolvers: true, description: 'A progress event of one batch.' })
export class BatchProgressType {
  @Field(() => BatchType, { description: 'Snapshot of the batch at the time of the event.' })
  batch!: BatchType;

  @Field(() => [BatchRowType], { description: 'Rows that finished since the previous event of this subscription.' })
  rows!: BatchRowType[];
}
