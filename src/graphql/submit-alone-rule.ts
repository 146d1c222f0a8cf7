import { GraphQLError, Kind, type ASTVisitor, type FieldNode, type SelectionSetNode, type ValidationContext } from 'graphql';

/** The mutation that creates something the client can learn of only from its answer. */
const SUBMIT = 'submitBatch';

/**
 * The fields an operation's root selection asks for, through fragments and inline fragments, each
 * as often as it is written (a field under `@skip` or `@include` counts too: the rule looks at the
 * document, not at the variables). A fragment spread twice counts twice; a fragment that spreads
 * itself is graphql-js's NoFragmentCyclesRule's to refuse, and is followed once here.
 */
function rootFields(context: ValidationContext, selectionSet: SelectionSetNode, followed = new Set<string>()): FieldNode[] {
  const fields: FieldNode[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) fields.push(selection);
    else if (selection.kind === Kind.INLINE_FRAGMENT) fields.push(...rootFields(context, selection.selectionSet, followed));
    else {
      const fragment = context.getFragment(selection.name.value);
      if (!fragment || followed.has(fragment.name.value)) continue;
      fields.push(...rootFields(context, fragment.selectionSet, new Set([...followed, fragment.name.value])));
    }
  }
  return fields;
}

/**
 * Refuses a mutation operation that asks for `submitBatch` beside another mutation field (a
 * second `submitBatch`, or `cancelBatch`). Mutation fields run one after the other, and
 * `submitBatch` answers a non-null `Batch!`: when a field after it fails, graphql-js nulls the
 * whole `data`, and the client never learns the id of the batch already created, which then runs
 * unseen. Refused before any field runs, so nothing is created; `__typename` may stand beside it.
 */
export function submitAloneRule(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(operation) {
      if (operation.operation !== 'mutation') return false;
      const fields = rootFields(context, operation.selectionSet).filter((field) => field.name.value !== '__typename');
      const submits = fields.filter((field) => field.name.value === SUBMIT);
      if (submits.length === 0 || fields.length === 1) return false;
      const others = fields.length - submits.length;
      const found = submits.length > 1 ? `${submits.length} submitBatch fields` : `submitBatch beside ${others === 1 ? 'another mutation field' : `${others} other mutation fields`}`;
      context.reportError(
        new GraphQLError(
          `An operation with submitBatch may ask for nothing else, and this one asks for ${found}. A failure of a later field would leave the response without data, and so without the id of a batch already created. Send each submitBatch in a request of its own (with an idempotencyKey, sending one again is safe).`,
          { nodes: submits, extensions: { code: 'GRAPHQL_VALIDATION_FAILED', validationErrorCode: 'SUBMIT_BATCH_ALONE' } },
        ),
      );
      return false;
    },
  };
}
