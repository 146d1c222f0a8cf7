import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { BatchDocument, SubmitBatchDocument } from '../../src/client/generated/graphql';
import { eventually, startTestApi, type TestApi } from '../support/api';
import { tinyModelsDir } from '../support/tiny-models';
import { startTestWorker, type TestWorker } from '../support/worker';
import { rawRequest } from './raw-http';

// SIFT_MAX_TEXTS_PER_REQUEST=5 makes the GraphQL body limit its floor of 1 MiB (tiny models: 5 x 500 characters x 4 bytes is less).
const BODY_LIMIT = 1 << 20;
const MAX_OPERATIONS = 3;

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi({ SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed', SIFT_MAX_TEXTS_PER_REQUEST: '5', SIFT_MAX_OPERATIONS_PER_SOCKET: String(MAX_OPERATIONS) });
});
afterAll(() => t.stop());

const wsUrl = () => `${t.api.url.replace(/^http/, 'ws')}/graphql`;

function client(): Client {
  return createClient({ url: wsUrl(), webSocketImpl: WebSocket, retryAttempts: 0 });
}

/** One query over a fresh socket. */
async function queryOverSocket(query: string, variables: Record<string, unknown> = {}): Promise<unknown> {
  const c = client();
  try {
    return await new Promise((resolve, reject) => c.subscribe({ query, variables }, { next: resolve, error: reject, complete: () => undefined }));
  } finally {
    await c.dispose();
  }
}

/** A socket past connection_init, speaking the protocol by hand. */
async function initialisedSocket(): Promise<WebSocket> {
  const socket = new WebSocket(wsUrl(), 'graphql-transport-ws');
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ type: 'connection_init' }));
  await new Promise<void>((resolve) => socket.once('message', () => resolve()));
  return socket;
}

describe('WebSocket messages are held to the HTTP body limit', () => {
  it('the HTTP route takes the same limit: 413 BODY_TOO_LARGE just over it', async () => {
    const answer = await rawRequest(t.api.url, 'POST', '/graphql', { 'content-type': 'application/json' }, JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(BODY_LIMIT) } }));
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error.code).toBe('BODY_TOO_LARGE');
  });

  it('a message just under the limit is answered', async () => {
    const id = 'x'.repeat(BODY_LIMIT - 1000);
    expect(await queryOverSocket('query($id: ID!) { batch(id: $id) { id } }', { id })).toEqual({ data: { batch: null } });
  });

  it('a message over the limit closes that socket with 1009 (message too big), and the server goes on', async () => {
    // The client's mistake is not printed as an internal error (graphql-ws would, with a stack).
    const printed = jest.spyOn(console, 'error');
    const socket = await initialisedSocket();
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ __typename }', variables: { pad: 'x'.repeat(BODY_LIMIT) } } }));
    expect(await closed).toBe(1009);
    expect(printed).not.toHaveBeenCalled();
    printed.mockRestore();
    expect(await queryOverSocket('{ __typename }')).toEqual({ data: { __typename: 'Query' } });
    expect((await fetch(`${t.api.url}/healthz`)).status).toBe(200);
  });
});

describe('operations one socket may run at once (SIFT_MAX_OPERATIONS_PER_SOCKET)', () => {
  it(`refuses operation ${MAX_OPERATIONS + 1} with TOO_MANY_OPERATIONS and keeps the socket and the others; one ended frees a place`, async () => {
    // A batch with no worker stays QUEUED: its progress subscription sends its snapshot and stays open.
    const submitted = await rawRequest(t.api.url, 'POST', '/graphql', { 'content-type': 'application/json' }, JSON.stringify({ query: 'mutation { submitBatch(input: { texts: ["warm", "cold"] }) { id } }' }));
    const { id } = (JSON.parse(submitted.body) as { data: { submitBatch: { id: string } } }).data.submitBatch;
    const subscription = `subscription { batchProgress(id: "${id}") { batch { status } } }`;

    const socket = await initialisedSocket();
    const messages: { id?: string; type: string; payload?: unknown }[] = [];
    let closedWith: number | undefined;
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    socket.on('close', (code) => (closedWith = code));
    const until = async (check: () => boolean, what: string) => {
      const deadline = Date.now() + 10_000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; messages: ${JSON.stringify(messages)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const of = (opId: string) => messages.filter((m) => m.id === opId);
    const subscribe = (opId: string) => socket.send(JSON.stringify({ id: opId, type: 'subscribe', payload: { query: subscription } }));

    for (let i = 1; i <= MAX_OPERATIONS; i++) subscribe(`s${i}`);
    await until(() => Array.from({ length: MAX_OPERATIONS }, (_, i) => of(`s${i + 1}`)).every((m) => m.some((x) => x.type === 'next')), 'every snapshot');

    subscribe('extra');
    await until(() => of('extra').length > 0, 'the answer to the extra operation');
    expect(of('extra')).toEqual([
      {
        id: 'extra',
        type: 'error',
        payload: [expect.objectContaining({ message: expect.stringMatching(/SIFT_MAX_OPERATIONS_PER_SOCKET/), extensions: expect.objectContaining({ code: 'TOO_MANY_OPERATIONS' }) })],
      },
    ]);
    // The socket and its subscriptions are untouched: none completed, none errored.
    for (let i = 1; i <= MAX_OPERATIONS; i++) expect(of(`s${i}`).map((m) => m.type)).toEqual(['next']);
    expect(closedWith).toBeUndefined();

    // Once one subscription ends, a new one fits.
    socket.send(JSON.stringify({ id: 's1', type: 'complete' }));
    subscribe('after');
    await until(() => of('after').some((m) => m.type === 'next'), 'the snapshot of the operation after one ended');
    expect(of('after').map((m) => m.type)).toEqual(['next']);
    socket.close();
  });
});

describe('a subscription reads at most SIFT_MAX_RESULT_ROWS_PER_REQUEST result rows over all its events', () => {
  const env = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed', SIFT_MAX_RESULT_ROWS_PER_REQUEST: '100', SIFT_CHUNK_SIZE: '10' };
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi(env);
  });
  afterAll(() => api.stop());

  /** Every result of one subscription to a 100-row batch, from before its worker starts to the subscription's end. */
  async function follow(selection: string): Promise<{ results: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] }[]; error?: unknown }> {
    const texts = Array.from({ length: 100 }, (_, i) => `row ${i} of a budgeted subscription ${selection.length}`);
    const { submitBatch } = await api.client.request(SubmitBatchDocument, { input: { texts } });
    const c = createClient({ url: `${api.api.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    const results: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] }[] = [];
    let worker: TestWorker | undefined;
    try {
      const ended = new Promise<unknown>((resolve) =>
        c.subscribe({ query: `subscription($id: ID!) { batchProgress(id: $id) { batch { status ${selection} } } }`, variables: { id: submitBatch.id } }, {
          next: (result) => void results.push(result as never),
          error: resolve,
          complete: () => resolve(undefined),
        }),
      );
      await eventually(async () => results.length > 0, 10_000, 'the first event');
      worker = await startTestWorker({ ...env, SIFT_KEY_PREFIX: api.prefix, SIFT_WORKER_CONCURRENCY: '1' });
      return { results, error: await ended };
    } finally {
      await worker?.stop();
      await c.dispose();
    }
  }

  it('a results page of 40 under batchProgress: two events, then QUERY_TOO_LARGE, and the subscription ends', async () => {
    const { results, error } = await follow('results(limit: 40) { index }');
    expect(error).toBeUndefined();
    // Before, every event read the page again, for as many events as the batch had.
    expect(results.map((result) => (result.errors ? 'refused' : 'event'))).toEqual(['event', 'event', 'refused']);
    expect(results[2].errors).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/^Subscription too large: each of its events reads 40 result rows again .* its 2 events read 80; the next would pass the limit of 100 a request \(SIFT_MAX_RESULT_ROWS_PER_REQUEST\)/),
        extensions: { code: 'QUERY_TOO_LARGE', setting: 'SIFT_MAX_RESULT_ROWS_PER_REQUEST', limit: 100 },
      }),
    ]);
  }, 60_000);

  it('a subscription whose batch ends within its budget ends as ever, with no refusal', async () => {
    const texts = Array.from({ length: 10 }, (_, i) => `row ${i} of a batch that ends within the budget`);
    const { submitBatch } = await api.client.request(SubmitBatchDocument, { input: { texts } });
    const worker = await startTestWorker({ ...env, SIFT_KEY_PREFIX: api.prefix });
    try {
      await eventually(async () => (await api.client.request(BatchDocument, { id: submitBatch.id })).batch?.status === 'COMPLETED', 20_000, 'the batch to complete');
    } finally {
      await worker.stop();
    }
    const c = createClient({ url: `${api.api.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const results: { data?: unknown; errors?: unknown[] }[] = [];
      // 100 rows an event, 100 a subscription: one event, which is also its last (the batch has ended).
      const error = await new Promise<unknown>((resolve) =>
        c.subscribe({ query: 'subscription($id: ID!) { batchProgress(id: $id) { batch { status results(limit: 100) { index } } } }', variables: { id: submitBatch.id } }, {
          next: (result) => void results.push(result as never),
          error: resolve,
          complete: () => resolve(undefined),
        }),
      );
      expect(error).toBeUndefined();
      // Before, the refusal came after the one event the budget allows, though no other was coming.
      expect(results).toEqual([{ data: { batchProgress: { batch: { status: 'COMPLETED', results: texts.map((_, index) => ({ index })) } } } }]);
    } finally {
      await c.dispose();
    }
  }, 60_000);

  it('a subscription that selects no results gets every event to the end', async () => {
    const { results, error } = await follow('processed');
    expect(error).toBeUndefined();
    expect(results.every((result) => result.errors === undefined)).toBe(true);
    expect(results.length).toBeGreaterThan(3);
    expect(results.at(-1)?.data).toEqual({ batchProgress: { batch: { status: 'COMPLETED', processed: 100 } } });
  }, 60_000);
});
