import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { ApiKeyStore } from '../../src/auth/api-key-store';
import { redisKeys } from '../../src/redis/keys';
import { ModelsDocument, PredictDocument } from '../../src/client/generated/graphql';
import { eventually, freePort, startTestApi, type TestApi } from '../support/api';
import { startRedisServer, type TestRedisServer } from '../support/redis-server';
import { tinyModelsDir } from '../support/tiny-models';

// A hang shows up as a request that never answers; a few seconds is far beyond a healthy answer.
async function withinSeconds<T>(promise: Promise<T>, seconds = 5): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${seconds}s`)), seconds * 1000);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function ready(t: TestApi): Promise<number> {
  return (await fetch(`${t.api.url}/readyz`)).status;
}

describe('Redis lost while running', () => {
  let port: number;
  let redis: TestRedisServer;
  let t: TestApi;
  beforeAll(async () => {
    port = await freePort();
    redis = await startRedisServer(port);
    t = await startTestApi({ SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-transformer', REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await t.stop();
    await redis.kill();
  });

  it('keeps answering by running the model, reports not ready, and uses the cache again once Redis is back', async () => {
    const text = 'a good movie';
    await t.client.request(PredictDocument, { text });
    expect((await t.client.request(PredictDocument, { text })).predict.cached).toBe(true);

    await redis.kill();
    await eventually(async () => (await ready(t)) === 503, 10_000, '/readyz to report Redis down');
    const during = await withinSeconds(t.client.request(PredictDocument, { text }));
    expect(during.predict).toMatchObject({ text, label: 'POSITIVE', cached: false });
    expect(t.logs.join('')).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+\/? is not answering/);

    redis = await startRedisServer(port);
    await eventually(async () => (await ready(t)) === 200, 15_000, '/readyz to report Redis back');
    // The new Redis is empty: the first answer fills the cache again, the second comes from it.
    expect((await t.client.request(PredictDocument, { text })).predict.cached).toBe(false);
    expect((await t.client.request(PredictDocument, { text })).predict.cached).toBe(true);
    expect(t.logs.join('')).toMatch(/is back; the cache is in use again/);
  }, 60_000);
});

describe('Redis lost while running, with API keys', () => {
  it('a key the server checked in the last minute still predicts; one it has not seen is refused with 503, Retry-After and REDIS_UNAVAILABLE, not a 500', async () => {
    const port = await freePort();
    let redis = await startRedisServer(port);
    const prefix = `sift-test-outage-keys-${process.pid}-${Date.now()}:`;
    const store = new Redis(redis.url);
    const keys = new ApiKeyStore(store, redisKeys(prefix));
    const seen = (await keys.create('seen', ['predict'])).key;
    const unseen = (await keys.create('unseen', ['predict'])).key;
    store.disconnect();
    const t = await startTestApi({ SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed', SIFT_AUTH: 'keys', REDIS_URL: redis.url, SIFT_KEY_PREFIX: prefix });
    const predict = (key: string) =>
      fetch(`${t.api.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: '{ predict(text: "a good movie") { label } }' }),
      }).then(async (r) => ({ status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as { data?: { predict: { label: string } } | null; errors?: { message: string; extensions: { code: string } }[] } }));
    try {
      expect((await predict(seen)).status).toBe(200);
      await redis.kill();
      await eventually(async () => (await ready(t)) === 503, 10_000, '/readyz to report Redis down');
      // Past the authenticator's 2 s cache: the key must be checked again, and Redis cannot answer.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const during = await withinSeconds(predict(seen), 10);
      expect({ status: during.status, label: during.body.data?.predict.label, errors: during.body.errors }).toEqual({ status: 200, label: expect.any(String), errors: undefined });
      const refused = await withinSeconds(predict(unseen), 10);
      expect({ status: refused.status, retryAfter: refused.retryAfter, code: refused.body.errors?.[0].extensions.code }).toEqual({ status: 503, retryAfter: '2', code: 'REDIS_UNAVAILABLE' });
      expect(refused.body.errors?.[0].message).toMatch(/cannot check the API key/);
      // Over WebSocket: "try again later" (1013), which clients reconnect after; not 4401, a refused key.
      const socket = new WebSocket(`${t.api.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
      socket.on('error', () => undefined);
      const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${unseen}` } })));
      expect(await withinSeconds(closed, 10)).toBe(1013);
      redis = await startRedisServer(port);
      await eventually(async () => (await predict(unseen)).status === 401, 15_000, 'the unseen key to be checked again (the new Redis is empty: it is unknown there)');
    } finally {
      await t.stop();
      await redis.kill();
    }
  }, 60_000);
});

describe('Redis unreachable at start-up', () => {
  it('starts anyway, logs that it retries, answers without the cache, and is not ready', async () => {
    const t = await startTestApi({ SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed', REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    try {
      const { predict } = await withinSeconds(t.client.request(PredictDocument, { text: 'hot day' }));
      expect(predict.cached).toBe(false);
      expect((await t.client.request(ModelsDocument, {})).models).toHaveLength(2);
      expect(await ready(t)).toBe(503);
      expect(t.logs.join('')).toMatch(/is not answering .*retrying in the background/);
    } finally {
      await t.stop();
    }
  });

  it('once closed, tries Redis no more: its queue clients, which never reached Redis, stop reconnecting', async () => {
    const port = await freePort();
    const t = await startTestApi({ SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed', REDIS_URL: `redis://127.0.0.1:${port}` });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await t.stop();
    // A reconnect timer set before the close fires within 2 s (its attempt then ends the client).
    await new Promise((resolve) => setTimeout(resolve, 2500));
    // Something now listens where Redis should be: a client still retrying (every 2 s at most) connects to it.
    let connections = 0;
    const listener = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(port, '127.0.0.1', resolve));
    try {
      await new Promise((resolve) => setTimeout(resolve, 3000));
    } finally {
      listener.close();
    }
    // bee-queue never got the clients it was still making when it closed, so it did not close
    // them, and they reconnected for good (the process, or Jest's worker, could not end by itself).
    expect(connections).toBe(0);
  }, 30_000);
});
