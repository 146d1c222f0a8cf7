import { Field, InputType } from 'type-graphql';
import type { InlineBatchInput } from '../../batches/batch-service';

@InputType('SubmitBatchInput')
export class SubmitBatchInput implements InlineBatchInput {
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
