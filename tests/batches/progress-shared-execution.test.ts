import { parse, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { localPrincipal } from '../../src/auth/principal';
import type { BatchService } from '../../src/batches/batch-service';
import type { BatchRowResult, BatchSnapshot } from '../../src/batches/batch-types';
import type { WatchOptions } from '../../src/batches/progress-relay';
import type { WatchItem } from '../../src/batches/progress-watcher';
import { ErrorCodes, unavailableError } from '../../src/errors';
import type { GraphQLContext } from '../../src/graphql/context';
import { buildSiftSchema } from '../../src/graphql/schema';
import { createSharedSubscribe } from '../../src/graphql/shared-execution';

/** A source of events the test pushes by hand, as the relay's watchers are pushed. */
class Source implements AsyncIterableIterator<WatchItem> {
  private readonly queue: WatchItem[] = [];
  private waiting: ((step: IteratorResult<WatchItem>) => void) | undefined;
  returned = false;

  constructor(readonly options: WatchOptions) {}

  push(item: WatchItem): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) waiting({ done: false, value: item });
    else this.queue.push(item);
  }

  next(): Promise<IteratorResult<WatchItem>> {
    if (this.queue.length > 0) return Promise.resolve({ done: false, value: this.queue.shift()! });
    if (this.returned) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<WatchItem>> {
    this.returned = true;
    this.waiting?.({ done: true, value: undefined });
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<WatchItem> {
    return this;
  }
}

const snapshot: BatchSnapshot = {
  id: 'b1', owner: 'local', status: 'RUNNING' as BatchSnapshot['status'], priority: 'NORMAL', model: 'm', modelVersion: '1', labels: ['NEGATIVE', 'POSITIVE'],
  total: 10, processed: 2, succeeded: 2, failed: 0, cached: 0, createdAt: new Date(0), startedAt: new Date(1000), finishedAt: null,
  rowsPerSecond: 1, etaSeconds: 8, error: null, labelCounts: [{ label: 'NEGATIVE', count: 1 }, { label: 'POSITIVE', count: 1 }],
};
const row = (index: number): BatchRowResult => ({ index, id: null, text: `text ${index}`, prediction: null, error: 'EMPTY_TEXT' });

const ROWS = parse(`subscription Rows($id: ID!, $fromRow: Int) { batchProgress(id: $id, fromRow: $fromRow) { batch { processed } rows { index text } } }`);
const COUNTS = parse(`subscription Counts($id: ID!) { batchProgress(id: $id) { batch { status processed } } }`);
const RESULTS = parse(`subscription Results($id: ID!, $limit: Int!) { batchProgress(id: $id) { batch { processed results(limit: $limit) { index } } } }`);

describe('shared execution of batchProgress events', () => {
  let schema: GraphQLSchema;
  let sources: Source[];
  let resultsCalls: number;
  let context: GraphQLContext;
  beforeAll(async () => {
    schema = await buildSiftSchema();
  });
  beforeEach(() => {
    sources = [];
    resultsCalls = 0;
    const batches = {
      watch: async (_id: string, options: WatchOptions) => {
        const source = new Source(options);
        sources.push(source);
        return source;
      },
      results: async (_batch: BatchSnapshot, offset: number, limit: number) => {
        resultsCalls++;
        return Array.from({ length: limit }, (_, i) => row(offset + i));
      },
    } as unknown as BatchService;
    // Only what the batchProgress resolvers read.
    context = { batches, principal: localPrincipal('127.0.0.1') } as Partial<GraphQLContext> as GraphQLContext;
  });

  async function subscribeAll(subscribe: ReturnType<typeof createSharedSubscribe>, document = ROWS, variables: Record<string, unknown>[] = [{ id: 'b1' }]) {
    const streams: AsyncGenerator<ExecutionResult, void, void>[] = [];
    for (const variableValues of variables) {
      // A document of its own per subscriber, as each client's subscribe message is parsed apart.
      const result = await subscribe({ schema, document: parse(document.loc!.source.body), variableValues, contextValue: context });
      if (!(Symbol.asyncIterator in result)) throw new Error(`not a stream: ${JSON.stringify(result)}`);
      streams.push(result);
    }
    return streams;
  }

  it('gives every subscriber of one document the same result for the same event, with the right data', async () => {
    const streams = await subscribeAll(createSharedSubscribe(['batchProgress']), ROWS, [{ id: 'b1' }, { id: 'b1' }, { id: 'b1', fromRow: 0 }]);
    const event = { batch: snapshot, rows: [row(0), row(1)] };
    for (const source of sources) source.push(event);
    const results = await Promise.all(streams.map(async (stream) => (await stream.next()).value));
    expect(results[0]).toEqual({ data: { batchProgress: { batch: { processed: 2 }, rows: [{ index: 0, text: 'text 0' }, { index: 1, text: 'text 1' }] } } });
    // fromRow chose the source stream; below the root field it changes nothing, so it shares too.
    expect(results[1]).toBe(results[0]);
    expect(results[2]).toBe(results[0]);
    // A later event is executed again.
    const later = { batch: { ...snapshot, processed: 3 }, rows: [row(2)] };
    for (const source of sources) source.push(later);
    const next = await Promise.all(streams.map(async (stream) => (await stream.next()).value));
    expect(next[0]).not.toBe(results[0]);
    expect(next[0]).toEqual({ data: { batchProgress: { batch: { processed: 3 }, rows: [{ index: 2, text: 'text 2' }] } } });
    expect(next[1]).toBe(next[0]);
  });

  it('executes apart what differs: another document, or a variable used below the root field', async () => {
    const subscribe = createSharedSubscribe(['batchProgress']);
    const [rows] = await subscribeAll(subscribe, ROWS);
    const [counts] = await subscribeAll(subscribe, COUNTS);
    const [two, twoAgain, three] = await subscribeAll(subscribe, RESULTS, [{ id: 'b1', limit: 2 }, { id: 'b1', limit: 2 }, { id: 'b1', limit: 3 }]);
    const event = { batch: snapshot, rows: [row(0)] };
    for (const source of sources) source.push(event);
    const [a, b, c, d, e] = await Promise.all([rows, counts, two, twoAgain, three].map(async (stream) => (await stream.next()).value));
    expect(a).toEqual({ data: { batchProgress: { batch: { processed: 2 }, rows: [{ index: 0, text: 'text 0' }] } } });
    expect(b).toEqual({ data: { batchProgress: { batch: { status: 'RUNNING', processed: 2 } } } });
    expect(c).toEqual({ data: { batchProgress: { batch: { processed: 2, results: [{ index: 0 }, { index: 1 }] } } } });
    expect(d).toBe(c);
    expect(e).toEqual({ data: { batchProgress: { batch: { processed: 2, results: [{ index: 0 }, { index: 1 }, { index: 2 }] } } } });
    // One read of the results per distinct limit, not per subscriber.
    expect(resultsCalls).toBe(2);
  });

  it('without the field in the shared list, each subscriber gets a result of its own (graphql-js as is)', async () => {
    const streams = await subscribeAll(createSharedSubscribe([]), ROWS, [{ id: 'b1' }, { id: 'b1' }]);
    const event = { batch: snapshot, rows: [row(0)] };
    for (const source of sources) source.push(event);
    const [a, b] = await Promise.all(streams.map(async (stream) => (await stream.next()).value));
    expect(a).toEqual(b);
    expect(a).not.toBe(b);
  });

  it('an error item ends each subscription with a GraphQL error carrying the SiftError', async () => {
    const streams = await subscribeAll(createSharedSubscribe(['batchProgress']), ROWS, [{ id: 'b1' }, { id: 'b1' }]);
    const error = unavailableError(ErrorCodes.SUBSCRIBER_TOO_SLOW, 'too slow; subscribe again with fromRow: 7', 0);
    for (const source of sources) source.push({ error });
    const results = await Promise.all(streams.map(async (stream) => (await stream.next()).value as ExecutionResult));
    for (const result of results) {
      expect(result.data).toBeNull();
      expect(result.errors?.map((e) => [e.message, e.originalError])).toEqual([['too slow; subscribe again with fromRow: 7', error]]);
    }
  });

  it('refuses up front as graphql-js does (a resolver that throws while subscribing)', async () => {
    const subscribe = createSharedSubscribe(['batchProgress']);
    (context.batches as unknown as { watch: () => never }).watch = () => {
      throw new Error('no such batch');
    };
    const result = await subscribe({ schema, document: ROWS, variableValues: { id: 'nope' }, contextValue: context });
    expect(Symbol.asyncIterator in result).toBe(false);
    expect((result as ExecutionResult).errors?.map((e) => e.message)).toEqual(['no such batch']);
  });

  it('a subscriber that leaves closes its source', async () => {
    const [stream] = await subscribeAll(createSharedSubscribe(['batchProgress']));
    const pending = stream.next();
    await stream.return();
    expect(sources[0].returned).toBe(true);
    expect((await pending).done).toBe(true);
  });
});
