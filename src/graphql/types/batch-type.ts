import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { BatchPriority } from '../../batches/batch-priority';
import { BatchStatus } from '../../batches/batch-status';
import type { BatchSnapshot, LabelCount } from '../../batches/batch-types';

// The GraphQL enum is the batch module's status object itself: one definition, no mapping.
registerEnumType(BatchStatus, { name: 'BatchStatus' });
registerEnumType(BatchPriority, {
  name: 'BatchPriority',
  description: "How a batch's chunks are scheduled: HIGH before NORMAL before LOW, batches of one priority in turns; LOW still gets a tenth of the workers while others wait.",
});

@ObjectType('LabelCount', { simpleResolvers: true, description: "How many of a batch's rows got one label." })
export class LabelCountType implements LabelCount {
  @Field()
  label!: string;

  @Field(() => Int)
  count!: number;
}

/** The GraphQL `Batch`: the fields of a `BatchSnapshot` (which resolvers return as they are), plus `results` and `resultsUrl`. */
@ObjectType('Batch', { simpleResolvers: true })
export class BatchType implements Omit<BatchSnapshot, 'labels' | 'owner'> {
  @Field(() => ID)
  id!: string;

  @Field(() => BatchStatus)
  status!: BatchStatus;

  @Field(() => BatchPriority, { description: 'Where its chunks stand in the schedule (NORMAL unless submitted otherwise).' })
  priority!: BatchPriority;

  @Field()
  model!: string;

  @Field()
  modelVersion!: string;

  @Field(() => Int, { description: 'Number of input rows.' })
  total!: number;

  @Field(() => Int, { description: 'Rows finished so far: succeeded + failed.' })
  processed!: number;

  @Field(() => Int)
  succeeded!: number;

  @Field(() => Int)
  failed!: number;

  @Field(() => Int, { description: 'Rows answered from the shared cache.' })
  cached!: number;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  startedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  finishedAt!: Date | null;

  @Field(() => Float, { nullable: true })
  rowsPerSecond!: number | null;

  @Field(() => Float, { nullable: true })
  etaSeconds!: number | null;

  @Field(() => String, { nullable: true, description: 'Why the whole batch failed; null otherwise.' })
  error!: string | null;

  @Field(() => [LabelCountType], { description: "Succeeded rows by predicted label, in the model's label order (0 for a label no row got so far); counted as rows finish." })
  labelCounts!: LabelCountType[];
}
