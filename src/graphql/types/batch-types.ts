import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { PredictionType } from './prediction-type';

export enum BatchStatus {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(BatchStatus, { name: 'BatchStatus' });

@ObjectType('BatchRow', { simpleResolvers: true, description: 'One input row of a batch and its outcome.' })
export class BatchRowType {
  @Field(() => Int, { description: '0-based position of the row in the input.' })
  index!: number;

  @Field(() => String, { nullable: true, description: "Value of the batch's id column for this row, when one was given." })
  id!: string | null;

  @Field()
  text!: string;

  @Field(() => PredictionType, { nullable: true, description: 'Null when the row failed.' })
  prediction!: PredictionType | null;

  @Field(() => String, { nullable: true, description: 'Why the row failed (empty text, text too long, ...); null when it succeeded.' })
  error!: string | null;
}

@ObjectType('Batch', { simpleResolvers: true })
export class BatchType {
  @Field(() => ID)
  id!: string;

  @Field(() => BatchStatus)
  status!: BatchStatus;

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
}

@ObjectType('BatchEdge', { simpleResolvers: true })
export class BatchEdgeType {
  @Field()
  cursor!: string;

  @Field(() => BatchType)
  node!: BatchType;
}

@ObjectType('PageInfo', { simpleResolvers: true })
export class PageInfoType {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType('BatchConnection', { simpleResolvers: true })
export class BatchConnectionType {
  @Field(() => [BatchEdgeType])
  edges!: BatchEdgeType[];

  @Field(() => PageInfoType)
  pageInfo!: PageInfoType;
}

@InputType('SubmitBatchInput')
export class SubmitBatchInput {
  @Field(() => [String], { nullable: true, description: 'Inline rows, one text each. Give exactly one of texts or csv.' })
  texts?: string[] | null;

  @Field(() => String, { nullable: true, description: 'Inline CSV document with a header row. Give exactly one of texts or csv.' })
  csv?: string | null;

  @Field(() => String, { defaultValue: 'text', description: 'CSV column holding the text.' })
  textColumn!: string;

  @Field(() => String, { nullable: true, description: 'CSV column whose value is reported as BatchRow.id.' })
  idColumn?: string | null;

  @Field(() => String, { nullable: true, description: 'Model name; the default model when null.' })
  model?: string | null;

  @Field(() => String, { nullable: true, description: 'Submitting twice with the same key returns the first batch instead of creating a second.' })
  idempotencyKey?: string | null;
}

@ObjectType('BatchProgress', { simpleResolvers: true, description: 'A progress event of one batch.' })
export class BatchProgressType {
  @Field(() => BatchType, { description: 'Snapshot of the batch at the time of the event.' })
  batch!: BatchType;

  @Field(() => [BatchRowType], { description: 'Rows that finished since the previous event of this subscription.' })
  rows!: BatchRowType[];
}
