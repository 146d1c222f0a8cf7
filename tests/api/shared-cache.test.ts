import { readFileSync, writeFileSync } from 'node:fs';
import { PredictDocument, PredictManyDocument } from '../../src/client/generated/graphql';
import { startTestApi, type TestApi } from '../support/api';
import { uniquePrefix } from '../support/redis';
import { tinyModelsDir } from '../support/tiny-models';

describe('the cache is shared by every process on the same Redis and prefix', () => {
  let a: TestApi;
  let b: TestApi;
  beforeAll(async () => {
    const prefix = uniquePrefix('shared');
    const models = tinyModelsDir();
    a = await startTestApi({ SIFT_MODELS_DIR: models, SIFT_DEFAULT_MODEL: 'tiny-transformer', SIFT_KEY_PREFIX: prefix });
    b = await startTestApi({ SIFT_MODELS_DIR: models, SIFT_DEFAULT_MODEL: 'tiny-transformer', SIFT_KEY_PREFIX: prefix });
  });
  afterAll(async () => {
    await a.stop();
    await b.stop();
  });

  it('a text labelled by one server is cached in the other', async () => {
    const text = `good, labelled by A ${Date.now()}`;
    expect((await a.client.request(PredictDocument, { text })).predict.cached).toBe(false);
    expect((await b.client.request(PredictDocument, { text })).predict).toMatchObject({ text, cached: true, label: 'POSITIVE' });
    const { predictMany } = await b.client.request(PredictManyDocument, { texts: [`bad, labelled by B ${text}`] });
    expect(predictMany[0].cached).toBe(false);
    expect((await a.client.request(PredictDocument, { text: predictMany[0].text })).predict.cached).toBe(true);
  });
});

describe('a new model version never serves the old version\'s cache', () => {
  it('misses after the model files change', async () => {
    const prefix = uniquePrefix('versions');
    const models = tinyModelsDir();
    const text = 'a great movie';
    const first = await startTestApi({ SIFT_MODELS_DIR: models, SIFT_DEFAULT_MODEL: 'tiny-transformer', SIFT_KEY_PREFIX: prefix });
    const v1 = (await first.client.request(PredictDocument, { text })).predict;
    expect((await first.client.request(PredictDocument, { text })).predict.cached).toBe(true);
    await first.api.close();

    // Retrain: a changed config.json changes the folder's content hash, so the version moves on.
    const config = `${models}/tiny-transformer/config.json`;
    writeFileSync(config, readFileSync(config, 'utf8').replace('TinyForSequenceClassification', 'TinyForSequenceClassificationV2'));
    const second = await startTestApi({ SIFT_MODELS_DIR: models, SIFT_DEFAULT_MODEL: 'tiny-transformer', SIFT_KEY_PREFIX: prefix });
    try {
      const v2 = (await second.client.request(PredictDocument, { text })).predict;
      expect(v2.modelVersion).not.toBe(v1.modelVersion);
      expect(v2.cached).toBe(false);
    } finally {
      await second.stop();
    }
  });
});
