import { Field, Int, ObjectType } from 'type-graphql';
import type { BatchRowResult } from '../../batches/batch-types';
import { PredictionType } from './prediction-type';

@ObjectType('BatchRow', { simpleResolvers: true, description: 'One input row of a batch and its outcome.' })
export class BatchRowType implements BatchRowResult {
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
