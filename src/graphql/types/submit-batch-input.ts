import { Field, InputType } from 'type-graphql';
import { BatchPriority } from '../../batches/batch-priority';
import type { InlineBatchInput } from '../../batches/batch-service';

@InputType('SubmitBatchInput')
export class SubmitBatchInput implements InlineBatchInput {
  @Field(() => [String], { nullable: true, description: 'Inline rows, one text each. Give exactly one of texts or csv.' })
  texts?: string[] | null;

  @Field(() => String, { nullable: true, description: 'Inline CSV document with a header row. Give exactly one of texts or csv.' })
  csv?: string | null;

  // The contract has `String! = "text"`. Nullable without a default is compatible (a client that
  // leaves it out or gives it is served as before), and lets the server tell a textColumn given
  // from the default, so that textColumn and textColumns together are refused, not half ignored.
  @Field(() => String, { nullable: true, description: 'CSV column holding the text; "text" when neither textColumn nor textColumns is given.' })
  textColumn?: string | null;

  @Field(() => [String], {
    nullable: true,
    description:
      'Several CSV columns labelled together, instead of textColumn: in each row, the non-blank cells of these columns, in this order, joined with a line break ("\\n"), are the one text labelled (one prediction per row). The header must have every one of them.',
  })
  textColumns?: string[] | null;

  @Field(() => String, { nullable: true, description: 'CSV column whose value is reported as BatchRow.id.' })
  idColumn?: string | null;

  @Field(() => String, { nullable: true, description: 'Model name; the default model when null.' })
  model?: string | null;

  @Field(() => String, { nullable: true, description: 'Submitting twice with the same key returns the first batch instead of creating a second.' })
  idempotencyKey?: string | null;

  @Field(() => BatchPriority, { nullable: true, description: 'NORMAL when null. HIGH chunks go before NORMAL ones, LOW after (with a share, so LOW still finishes). With API keys on, HIGH needs a key with the priority scope (else FORBIDDEN).' })
  priority?: BatchPriority | null;
}
