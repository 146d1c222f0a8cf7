import { BatchProgressDocument, ModelsDocument, PredictDocument, PredictManyDocument } from '../../src/client/generated/graphql';
import { SiftRequestError } from '../../src/client/sift-client';
import { startTestApi, type TestApi } from '../support/api';
import { tinyModelsDir } from '../support/tiny-models';

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi({ SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-transformer' });
});
afterAll(() => t.stop());

describe('GraphQL over a graphql-ws WebSocket on the same port and path', () => {
  it('answers queries', async () => {
    const [{ models }] = await t.client.collect(ModelsDocument, {});
    expect(models.map((m) => m.name)).toEqual(['tiny-hashed', 'tiny-transformer']);
  });

  it('shares the cache with HTTP requests', async () => {
    const text = `good over a socket ${Date.now()}`;
    const [overSocket] = await t.client.collect(PredictDocument, { text });
    expect(overSocket.predict).toMatchObject({ text, label: 'POSITIVE', cached: false });
    const overHttp = await t.client.request(PredictDocument, { text });
    expect(overHttp.predict.cached).toBe(true);
    const [{ predictMany }] = await t.client.collect(PredictManyDocument, { texts: [text, `bad ${text}`] });
    expect(predictMany.map((p) => p.cached)).toEqual([true, false]);
  });

  it('answers bad input with BAD_USER_INPUT and its reason, like HTTP', async () => {
    const error = await t.client.collect(PredictDocument, { text: '   ' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SiftRequestError);
    expect((error as SiftRequestError).code).toBe('BAD_USER_INPUT');
    expect((error as SiftRequestError).reason).toBe('EMPTY_TEXT');
  });

  it('answers a subscription to an unknown batch with BAD_USER_INPUT', async () => {
    const error = await t.client.collect(BatchProgressDocument, { id: 'b1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SiftRequestError);
    expect((error as SiftRequestError).code).toBe('BAD_USER_INPUT');
    expect((error as SiftRequestError).reason).toBe('UNKNOWN_BATCH');
  });
});
