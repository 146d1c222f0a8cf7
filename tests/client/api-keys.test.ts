import { BatchProgressCountsDocument, ModelsDocument, PredictDocument, SubmitBatchDocument } from '../../src/client/generated/graphql';
import { authErrorOf, SiftAuthError, SiftClient, SiftConnectionError, SiftRequestError } from '../../src/client';
import { createTestKey, freePort, startTestApi, type TestApi } from '../support/api';
import { tinyModelsDir } from '../support/tiny-models';
import { startTestWorker, type TestWorker } from '../support/worker';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-transformer' };

/** What `run` rejects with (fails the test when it resolves). */
async function rejection(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Every event of a subscription until it ends. */
async function events<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const event of iterable) all.push(event);
  return all;
}

describe('SiftClient with an API key, against a server that needs one', () => {
  let t: TestApi;
  let worker: TestWorker;
  let predictOnly: string;
  const clients: SiftClient[] = [];
  const client = (apiKey?: string) => {
    const made = new SiftClient(t.api.url, { apiKey });
    clients.push(made);
    return made;
  };
  beforeAll(async () => {
    t = await startTestApi({ ...shared, SIFT_AUTH: 'keys' });
    worker = await startTestWorker({ ...shared, SIFT_KEY_PREFIX: t.prefix });
    predictOnly = await createTestKey(t.prefix, 'predict only', ['predict']);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await worker.stop();
    await t.stop();
  });

  it('sends the key on HTTP requests, on the WebSocket and on plain routes (uploads, downloads)', async () => {
    const sift = client(t.apiKey);
    expect(sift.hasApiKey).toBe(true);
    expect((await sift.request(PredictDocument, { text: 'a great movie' })).predict.label).toBe('POSITIVE');
    const { submitBatch } = await sift.request(SubmitBatchDocument, { input: { texts: ['a great movie', 'an awful film'] } });
    const seen = await events(sift.subscribe(BatchProgressCountsDocument, { id: submitBatch.id }));
    expect(seen.at(-1)!.batchProgress.batch).toMatchObject({ status: 'COMPLETED', processed: 2 });
    const download = await sift.fetch(`/batches/${submitBatch.id}/results.jsonl`);
    expect(download.status).toBe(200);
    expect((await download.text()).trim().split('\n')).toHaveLength(2);
    const upload = await sift.fetch('/batches', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'text\nhello\n' });
    expect(upload.status).toBe(202);
  });

  it('without a key: a SiftAuthError (UNAUTHENTICATED) over HTTP, and over the WebSocket (close code 4401), not a connection error', async () => {
    const sift = client();
    const http = await rejection(() => sift.request(ModelsDocument, {}));
    expect(http).toBeInstanceOf(SiftAuthError);
    expect(http).toBeInstanceOf(SiftRequestError);
    expect(http).toMatchObject({ name: 'SiftAuthError', code: 'UNAUTHENTICATED', status: 401 });
    expect((http as Error).message).toMatch(/^This server needs an API key\./);

    const socket = await rejection(() => events(sift.subscribe(BatchProgressCountsDocument, { id: 'any' })));
    expect(socket).toBeInstanceOf(SiftAuthError);
    expect(socket).not.toBeInstanceOf(SiftConnectionError);
    expect(socket).toMatchObject({ code: 'UNAUTHENTICATED', closeCode: 4401 });
    expect((socket as Error).message).toContain(`The server at ${t.api.url} refused the WebSocket (close code 4401): This server needs an API key.`);

    // A plain route answers 401 with Sift's JSON; authErrorOf reads it.
    const response = await sift.fetch('/batches/any');
    expect(response.status).toBe(401);
    expect(authErrorOf(response.status, (await response.json()) as never)).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });

    // A wrong key is refused the same way.
    const wrong = await rejection(() => client(`sift_0123456789abcdef_${'x'.repeat(43)}`).request(ModelsDocument, {}));
    expect(wrong).toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/^The API key is not valid \(mistyped, or revoked\)\./) });
  });

  it('a key without the scope: a SiftAuthError (FORBIDDEN) that names the scope, over HTTP (403) and on a subscription', async () => {
    const sift = client(predictOnly);
    expect((await sift.request(PredictDocument, { text: 'a great movie' })).predict.label).toBe('POSITIVE');
    const http = await rejection(() => sift.request(SubmitBatchDocument, { input: { texts: ['a'] } }));
    expect(http).toBeInstanceOf(SiftAuthError);
    expect(http).toMatchObject({ code: 'FORBIDDEN', status: 403, message: expect.stringContaining('does not have the batches scope') });
    const subscription = await rejection(() => events(sift.subscribe(BatchProgressCountsDocument, { id: 'any' })));
    expect(subscription).toBeInstanceOf(SiftAuthError);
    expect(subscription).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('does not have the batches scope') });
  });
});

describe('SiftClient options', () => {
  it('refuses an API key with spaces or line breaks at once, without repeating it', async () => {
    for (const apiKey of ['', 'sift_ab cd', 'sift_abc\n']) {
      let thrown: unknown;
      try {
        new SiftClient('http://127.0.0.1:4000', { apiKey });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(TypeError);
      expect((thrown as Error).message).toBe('SiftClient: apiKey must be the key as sift keys create printed it: one word, without spaces or line breaks.');
    }
  });

  it('a server that is not there is still a SiftConnectionError, with a key too', async () => {
    const sift = new SiftClient(`http://127.0.0.1:${await freePort()}`, { apiKey: 'sift_0123456789abcdef_key' });
    try {
      const error = await rejection(() => events(sift.subscribe(BatchProgressCountsDocument, { id: 'any' })));
      expect(error).toBeInstanceOf(SiftConnectionError);
      expect(error).not.toBeInstanceOf(SiftAuthError);
    } finally {
      await sift.close();
    }
  });
});
