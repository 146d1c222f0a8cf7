import type { ExecutionArgs, ExecutionResult, GraphQLError } from 'graphql';

type Subscribe = (args: ExecutionArgs) => Promise<AsyncGenerator<ExecutionResult, void, void> | ExecutionResult>;

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
 * `subscribe`, with every subscription held to the result rows one request may read, over all its
 * events: each event executes the whole selection again, so a `results` page under
 * `batchProgress`'s batch was read anew on every event (a review: 5,000 rows an event, 940 MB
 * sent over 39 events of one 579-byte subscription, other keys' predicts slowed to seconds). A
 * subscription whose events read no rows (Sift's own clients') is left as it is; one that reads
 * some gets `floor(limit / rowsPerEvent)` events (at least one: the query limits refuse a single
 * event past the limit), then one result with the refusal, and ends. The next event is not
 * executed: it is not asked for.
 */
export function withEventRowBudget(subscribe: Subscribe, budget: EventRowBudget): Subscribe {
  return async (args) => {
    const results = await subscribe(args);
    if (!(Symbol.asyncIterator in results)) return results;
    const perEvent = budget.rowsPerEvent(args);
    if (perEvent === 0) return results;
    return budgeted(results, Math.max(1, Math.floor(budget.limit / perEvent)), (events) => budget.refusal(perEvent, events));
  };
}

/**
 * `results` for `maxEvents` events, then the refusal and the end. Written as an iterator object
 * rather than an async generator function, as graphql-js writes its own: `return()` (the client
 * unsubscribing) must reach the source at once, not after an event that may be minutes away.
 */
function budgeted(results: AsyncGenerator<ExecutionResult, void, void>, maxEvents: number, refusal: (events: number) => GraphQLError): AsyncGenerator<ExecutionResult, void, void> {
  let events = 0;
  let ended = false;
  const generator = {
    next: async (): Promise<IteratorResult<ExecutionResult, void>> => {
      if (ended) return { done: true, value: undefined };
      if (events >= maxEvents) {
        ended = true;
        await results.return(undefined).catch(() => undefined);
        return { done: false, value: { errors: [refusal(events)] } };
      }
      const step = await results.next();
      if (step.done) ended = true;
      else events++;
      return step;
    },
    return: async (): Promise<IteratorResult<ExecutionResult, void>> => {
      ended = true;
      return results.return(undefined);
    },
    throw: async (error: unknown): Promise<IteratorResult<ExecutionResult, void>> => {
      ended = true;
      return results.throw(error);
    },
    [Symbol.asyncIterator]: () => generator,
  };
  return generator as unknown as AsyncGenerator<ExecutionResult, void, void>;
}
