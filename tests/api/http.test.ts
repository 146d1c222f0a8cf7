import { CachedPredictionDocument, ModelsDocument, PredictDocument, PredictManyDocument } from '../../src/client/generated/graphql';
import { SiftRequestError } from '../../src/client/sift-client';
import { startTestApi, type TestApi } from '../support/api';
import { modelRunCounts } from '../support/prometheus';
import { tinyModelsDir } from '../support/tiny-models';

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi({ SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-transformer', SIFT_MAX_TEXTS_PER_REQUEST: '5' });
});
afterAll(() => t.stop());

async function userError(run: Promise<unknown>): Promise<SiftRequestError> {
  const error = await run.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SiftRequestError);
  return error as SiftRequestError;
}

async function metrics(): Promise<{ modelRuns: { rows: number } }> {
  return { modelRuns: await modelRunCounts(t.api.url) };
}

describe('GraphQL over HTTP', () => {
  it('lists the models with versions, labels and the default', async () => {
    const { models } = await t.client.request(ModelsDocument, {});
    expect(models).toEqual([
      { name: 'tiny-hashed', version: expect.stringMatching(/^[0-9a-f]{16}$/), labels: ['cold', 'warm', 'hot'], isDefault: false, maxTextLength: 200 },
      { name: 'tiny-transformer', version: expect.stringMatching(/^[0-9a-f]{16}$/), labels: ['NEGATIVE', 'POSITIVE'], isDefault: true, maxTextLength: 500 },
    ]);
  });

  it('predicts with the default model, then answers the same text from the cache', async () => {
    const text = `a great movie ${Date.now()}`;
    const first = (await t.client.request(PredictDocument, { text })).predict;
    expect(first).toMatchObject({ text, label: 'POSITIVE', model: 'tiny-transformer', cached: false });
    expect(first.scores.map((s) => s.label)).toEqual(['POSITIVE', 'NEGATIVE']);
    expect(first.scores[0].score + first.scores[1].score).toBeCloseTo(1, 5);
    const second = (await t.client.request(PredictDocument, { text })).predict;
    expect(second).toEqual({ ...first, cached: true });
  });

  it('predicts with a named model', async () => {
    const { predict } = await t.client.request(PredictDocument, { text: 'warm weather', model: 'tiny-hashed' });
    expect(predict.model).toBe('tiny-hashed');
    expect(['cold', 'warm', 'hot']).toContain(predict.label);
  });

  it('predictMany answers in input order, runs each distinct uncached text once, and reuses the cache', async () => {
    const stamp = Date.now();
    const seen = `an awful movie ${stamp}`;
    await t.client.request(PredictDocument, { text: seen });
    const texts = [`good ${stamp}`, seen, `bad ${stamp}`, `good ${stamp}`, seen];
    const before = (await metrics()).modelRuns.rows;
    const { predictMany } = await t.client.request(PredictManyDocument, { texts });
    expect((await metrics()).modelRuns.rows - before).toBe(2);
    expect(predictMany.map((p) => p.text)).toEqual(texts);
    expect(predictMany.map((p) => p.cached)).toEqual([false, true, false, false, true]);
    expect(predictMany.map((p) => p.label)).toEqual(['POSITIVE', 'NEGATIVE', 'NEGATIVE', 'POSITIVE', 'NEGATIVE']);
    const again = await t.client.request(PredictManyDocument, { texts });
    expect(again.predictMany.every((p) => p.cached)).toBe(true);
  });

  it('cachedPrediction returns null for an unseen text and never runs the model', async () => {
    const text = `never seen ${Date.now()}`;
    const before = (await metrics()).modelRuns.rows;
    expect((await t.client.request(CachedPredictionDocument, { text })).cachedPrediction).toBeNull();
    expect((await metrics()).modelRuns.rows).toBe(before);
    await t.client.request(PredictDocument, { text });
    expect((await t.client.request(CachedPredictionDocument, { text })).cachedPrediction).toMatchObject({ text, cached: true });
  });

  it('labels texts with lone surrogates, control characters and emoji', async () => {
    const texts = ['lone \ud800 surrogate', 'nul\u0000 bell\u0007 escape\u001b', '😀 good 😀'];
    const { predictMany } = await t.client.request(PredictManyDocument, { texts });
    expect(predictMany.map((p) => p.text)).toEqual(texts);
    expect(predictMany.every((p) => Number.isFinite(p.score))).toBe(true);
  });

  describe('bad input is BAD_USER_INPUT with a reason, and nothing else is affected', () => {
    it.each([
      ['an empty text', PredictDocument, { text: '' }, 'EMPTY_TEXT', /empty/],
      ['a whitespace-only text', PredictDocument, { text: ' \n\t ' }, 'EMPTY_TEXT', /empty/],
      ['a text over maxTextLength', PredictDocument, { text: 'good '.repeat(101) }, 'TEXT_TOO_LONG', /more than 500 characters/],
      ['an unknown model', PredictDocument, { text: 'hello', model: 'nope' }, 'UNKNOWN_MODEL', /Unknown model "nope".*tiny-hashed, tiny-transformer/],
      ['predictMany with no texts', PredictManyDocument, { texts: [] }, 'BAD_LIST_SIZE', /empty/],
      ['predictMany over the limit', PredictManyDocument, { texts: ['a', 'b', 'c', 'd', 'e', 'f'] }, 'BAD_LIST_SIZE', /6 texts, more than the limit of 5/],
      ['predictMany with one empty text', PredictManyDocument, { texts: ['fine', '  '] }, 'EMPTY_TEXT', /texts\[1\]/],
      ['cachedPrediction of a text too long', CachedPredictionDocument, { text: 'x'.repeat(501) }, 'TEXT_TOO_LONG', /500/],
    ] as const)('%s', async (_name, document, variables, reason, message) => {
      const error = await userError(t.client.request(document as typeof PredictDocument, variables as { text: string }));
      expect(error.code).toBe('BAD_USER_INPUT');
      expect(error.reason).toBe(reason);
      expect(error.message).toMatch(message);
      const ok = await t.client.request(PredictDocument, { text: 'still fine' });
      expect(ok.predict.text).toBe('still fine');
    });

    it('a missing argument is BAD_USER_INPUT or a validation error, never an internal error', async () => {
      const response = await fetch(`${t.api.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'query ($t: String!) { predict(text: $t) { label } }', variables: {} }),
      });
      const body = (await response.json()) as { errors: { extensions: { code: string; stacktrace?: unknown } }[] };
      expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(body.errors[0].extensions.stacktrace).toBeUndefined();
    });
  });

  it('answers null for a batch that does not exist', async () => {
    const response = await fetch(`${t.api.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ batch(id: "no-such-batch") { id } }' }),
    });
    expect(await response.json()).toEqual({ data: { batch: null } });
  });
});

describe('HTTP routes', () => {
  it('refuses a subscription over HTTP with 400 SUBSCRIPTION_NEEDS_WEBSOCKET, saying where subscriptions run', async () => {
    const response = await fetch(`${t.api.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'subscription { batchProgress(id: "nope") { batch { id } } }' }),
    });
    const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect({ status: response.status, code: body.errors[0].extensions.code }).toEqual({ status: 400, code: 'SUBSCRIPTION_NEEDS_WEBSOCKET' });
    expect(body.errors[0].message).toMatch(/WebSocket at \/graphql/);
  });

  it('answers an automatic persisted query it cannot take with 400 BAD_REQUEST, not an internal error', async () => {
    for (const persistedQuery of [{ version: 1, sha256Hash: 'not-the-hash' }, { version: 2, sha256Hash: 'x' }]) {
      const response = await fetch(`${t.api.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ models { name } }', extensions: { persistedQuery } }),
      });
      const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
      expect({ persistedQuery, status: response.status, code: body.errors[0].extensions.code }).toEqual({ persistedQuery, status: 400, code: 'BAD_REQUEST' });
    }
  });

  it('GET /graphql from a browser shows the Apollo Sandbox landing page', async () => {
    const response = await fetch(`${t.api.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect(await response.text()).toMatch(/embeddable-sandbox/);
  });

  it('GET /healthz says the process is alive', async () => {
    const response = await fetch(`${t.api.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok' });
  });

  it('GET /readyz says Redis and the queue answer and every inference thread has the models loaded', async () => {
    const response = await fetch(`${t.api.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'ready',
      checks: {
        redis: { ok: true, detail: 'ok' },
        queue: { ok: true, detail: expect.stringMatching(/^\d+ waiting, \d+ active, \d+ delayed chunk\(s\)$/) },
        models: { ok: true, detail: 'tiny-hashed, tiny-transformer loaded on 1 of 1 inference thread(s)' },
      },
    });
  });
});
