import { GraphQLError, Kind, type ASTVisitor, type FieldNode, type SelectionSetNode, type ValidationContext } from 'graphql';

/** The mutation that creates something the client can learn of only from its answer. */
const SUBMIT = 'submitBatch';

/** How many `submitBatch` and other mutation fields a selection asks for (`__typename` aside), up to 2 of each. */
interface RootFields {
  submits: number;
  others: number;
}

/**
 * Counts the fields an operation's root selection asks for, through fragments and inline
 * fragments, each as often as it is written (a field under `@skip` or `@include` counts too: the
 * rule looks at the document, not at the variables). A fragment spread twice counts twice, but is
 * counted once and remembered: fragments that each spread the next one twice would otherwise make
 * the count itself take 2^depth steps. A fragment that spreads itself counts nothing the second
 * time (graphql-js's NoFragmentCyclesRule refuses the document).
 */
class RootFieldCounter {
  private readonly fragments = new Map<string, RootFields>();
  private readonly counting = new Set<string>();
  /** The `submitBatch` fields met, each node once: where the error points. */
  readonly submitNodes = new Set<FieldNode>();

  constructor(private readonly context: ValidationContext) {}

  count(selectionSet: SelectionSetNode): RootFields {
    const total: RootFields = { submits: 0, others: 0 };
    // Capped at 2: the rule needs only none, one or more, and a document may hold 2^400 of them.
    const add = (fields: RootFields) => {
      total.submits = Math.min(2, total.submits + fields.submits);
      total.others = Math.min(2, total.others + fields.others);
    };
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === SUBMIT) {
          add({ submits: 1, others: 0 });
          this.submitNodes.add(selection);
        } else if (selection.name.value !== '__typename') add({ submits: 0, others: 1 });
      } else if (selection.kind === Kind.INLINE_FRAGMENT) add(this.count(selection.selectionSet));
      else add(this.fragment(selection.name.value));
    }
    return total;
  }

  private fragment(name: string): RootFields {
    const known = this.fragments.get(name);
    if (known) return known;
    const fragment = this.context.getFragment(name);
    if (!fragment || this.counting.has(name)) return { submits: 0, others: 0 };
    this.counting.add(name);
    const fields = this.count(fragment.selectionSet);
    this.counting.delete(name);
    this.fragments.set(name, fields);
    return fields;
  }
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
      const counter = new RootFieldCounter(context);
      const { submits, others } = counter.count(operation.selectionSet);
      if (submits === 0 || submits + others === 1) return false;
      const found = [submits > 1 ? 'submitBatch more than once' : 'submitBatch', ...(others > 0 ? [others > 1 ? 'other mutation fields' : 'another mutation field'] : [])].join(' and ');
      context.reportError(
        new GraphQLError(
          `An operation with submitBatch may ask for nothing else, and this one asks for ${found}. Mutation fields run one after the other: one that failed after submitBatch would leave the response without data, and so without the id of a batch already created. Send each submitBatch in a request of its own (with an idempotencyKey, sending one again is safe).`,
          { nodes: [...counter.submitNodes], extensions: { code: 'GRAPHQL_VALIDATION_FAILED', validationErrorCode: 'SUBMIT_BATCH_ALONE' } },
        ),
      );
      return false;
    },
  };
}
