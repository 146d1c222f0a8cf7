import { budgetedEvents, type EventRowBudget } from './subscription-row-budget';
import {
  createSourceEventStream,
  execute,
  getOperationAST,
  Kind,
  print,
  visit,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';

type Result = ExecutionResult | Promise<ExecutionResult>;

/**
 * graphql-js's `subscribe` (the source stream of the root field, each event mapped through
 * `execute`), except that for the root fields named in `sharedFields` an event handed to several
 * subscriptions is executed once per distinct (document, operation name, variables that reach
 * below the root field), and every one of those subscriptions gets the same `ExecutionResult`.
 *
 * The progress relay hands every subscriber of a batch the same event object, so 1,000 subscribers
 * of one document cost one execution per event instead of 1,000. It holds only where:
 * - the root field's resolver passes the event on whatever its arguments (they chose the source
 *   stream, already authorized when the subscription began): `batchProgress` does;
 * - no field below it reads the request's context (the principal): none of `BatchProgress`,
 *   `Batch` and `BatchRow` does, so what one subscriber of a batch may see, every other may too.
 *
 * Results live as long as their event: a WeakMap keyed by the event object. Events that are not
 * objects, and operations whose root field is not a plain field named in `sharedFields`, are
 * executed per subscription as graphql-js would.
 */
export function createSharedSubscribe(sharedFields: readonly string[], budget?: EventRowBudget): (args: ExecutionArgs) => Promise<AsyncGenerator<ExecutionResult, void, void> | ExecutionResult> {
  const shared = new Set(sharedFields);
  const results = new WeakMap<object, Map<string, Result>>();
  const bodies = new WeakMap<DocumentNode, string>();

  const bodyOf = (document: DocumentNode): string => {
    let body = bodies.get(document);
    if (body === undefined) bodies.set(document, (body = document.loc?.source.body ?? print(document)));
    return body;
  };

  return async (args) => {
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source;
    // Each subscription is one request over its life: its events' result rows together stay within the request's.
    const { events: stream, refusalOf } = budgetedEvents(source, args, budget);
    const key = sharingKey(args, shared, bodyOf);
    // The refusal stands in for an event of this subscription alone (an object of its own), so it
    // goes through the shared path unshared.
    const run = (event: unknown): Result => refusalOf(event) ?? execute({ ...args, rootValue: event });
    if (key === undefined) return mapEvents(stream, run);
    return mapEvents(stream, (event) => {
      if (typeof event !== 'object' || event === null) return run(event);
      let byKey = results.get(event);
      if (!byKey) results.set(event, (byKey = new Map()));
      let result = byKey.get(key);
      if (result === undefined) byKey.set(key, (result = run(event)));
      return result;
    });
  };
}

/**
 * What decides the result of one event for this subscription: the document's text, the operation
 * name and the values of the variables used anywhere but in the root field's arguments. Undefined
 * when the operation is not one to share.
 */
function sharingKey(args: ExecutionArgs, shared: ReadonlySet<string>, bodyOf: (document: DocumentNode) => string): string | undefined {
  const operation = getOperationAST(args.document, args.operationName);
  const root = operation?.selectionSet.selections;
  if (!operation || root?.length !== 1 || root[0].kind !== Kind.FIELD || !shared.has(root[0].name.value)) return undefined;
  const rootArguments = new Set(root[0].arguments ?? []);
  const used = new Set<string>();
  visit(args.document, {
    VariableDefinition: () => false,
    Argument: (node) => (rootArguments.has(node) ? false : undefined),
    Variable: (node) => void used.add(node.name.value),
  });
  const variables = args.variableValues ?? {};
  const values = [...used].sort().map((name) => [name, variables[name] ?? null]);
  return JSON.stringify([bodyOf(args.document), args.operationName ?? null, values]);
}

/** graphql-js's mapAsyncIterator: each value through `map`; a failing `map` closes the source. */
function mapEvents(source: AsyncIterable<unknown>, map: (event: unknown) => Result): AsyncGenerator<ExecutionResult, void, void> {
  const iterator = source[Symbol.asyncIterator]();
  const closeQuietly = async () => {
    await iterator.return?.().catch(() => undefined);
  };
  const mapped = async (step: IteratorResult<unknown>): Promise<IteratorResult<ExecutionResult, void>> => {
    if (step.done) return { done: true, value: undefined };
    try {
      return { done: false, value: await map(step.value) };
    } catch (error) {
      await closeQuietly();
      throw error;
    }
  };
  const generator = {
    next: async () => mapped(await iterator.next()),
    return: async () => (iterator.return ? mapped(await iterator.return()) : { done: true as const, value: undefined }),
    throw: async (error: unknown) => {
      if (iterator.throw) return mapped(await iterator.throw(error));
      await closeQuietly();
      throw error;
    },
    [Symbol.asyncIterator]: () => generator,
  };
  return generator as unknown as AsyncGenerator<ExecutionResult, void, void>;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof Object(value)[Symbol.asyncIterator] === 'function';
}
