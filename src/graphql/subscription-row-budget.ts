import type { ExecutionArgs, ExecutionResult, GraphQLError } from 'graphql';

/** What a subscription may read: its events' result rows, and the refusal that ends it past them. */
export interface EventRowBudget {
  /** Stored result rows one event of this subscription reads (`batch { results }` under it), 0 for none. */
  rowsPerEvent(args: ExecutionArgs): number;
  /** Result rows one request may read (SIFT_MAX_RESULT_ROWS_PER_REQUEST): a subscription is one request over its life. */
  limit: number;
  /** The error the subscription ends with once its next event would read past the limit. */
  refusal(rowsPerEvent: number, events: number): GraphQLError;
}

/**
 * The source events of one subscription, held to the result rows one request may read over all of
 * them: each event executes the whole selection again, so a `results` page under `batchProgress`'s
 * batch was read anew on every event (a review: 5,000 rows an event, 940 MB sent over 39 events of
 * one 579-byte subscription, other keys' predicts slowed to seconds). A subscription whose events
 * read no rows (Sift's own clients'), or with no budget, gets its source as it is; one that reads some gets
 * `floor(limit / rowsPerEvent)` events (at least one: the query limits refuse a single event past
 * the limit). Counted on the source, before execution: an event past the budget is never executed
 * (`map` gets the refusal for it instead, and the source is closed), and a source that ends within
 * it ends as ever.
 */
export function budgetedEvents(source: AsyncIterable<unknown>, args: ExecutionArgs, budget: EventRowBudget | undefined): { events: AsyncIterable<unknown>; refusalOf(event: unknown): ExecutionResult | undefined } {
  const perEvent = budget ? budget.rowsPerEvent(args) : 0;
  if (!budget || perEvent === 0) return { events: source, refusalOf: () => undefined };
  const maxEvents = Math.max(1, Math.floor(budget.limit / perEvent));
  const refused = { refusal: budget.refusal(perEvent, maxEvents) };
  const iterator = source[Symbol.asyncIterator]();
  let events = 0;
  let ended = false;
  const generator = {
    next: async (): Promise<IteratorResult<unknown>> => {
      if (ended) return { done: true, value: undefined };
      const step = await iterator.next();
      if (step.done) {
        ended = true;
        return step;
      }
      if (events++ < maxEvents) return step;
      ended = true;
      await iterator.return?.().catch(() => undefined);
      return { done: false, value: refused };
    },
    return: async (): Promise<IteratorResult<unknown>> => {
      ended = true;
      return iterator.return ? iterator.return() : { done: true, value: undefined };
    },
    [Symbol.asyncIterator]: () => generator,
  };
  return { events: generator, refusalOf: (event) => (event === refused ? { errors: [refused.refusal] } : undefined) };
}
