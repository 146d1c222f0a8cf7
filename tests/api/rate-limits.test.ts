import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ApiKeyStore } from '../../src/auth/api-key-store';
import { RateLimit } from '../../src/limits/rate-limits';
import { redisKeys } from '../../src/redis/keys';
import { freePort, startTestApi, type TestApi } from '../support/api';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';
import { startSiftUp } from '../support/sift-up';
import { tinyModelsDir } from '../support/tiny-models';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-hashed', SIFT_AUTH: 'keys' };

async function graphql(url: string, key: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { errors?: { message: string; extensions: { code: string; retryAfterSeconds?: number } }[] };
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body };
}

describe('rate limits', () => {
  const redis = testRedis();
  afterAll(() => redis.disconnect());

  it('requests a second: the key past its limit gets 429 RATE_LIMITED with Retry-After, over HTTP and WebSocket; another key is not touched; two API processes share the count', async () => {
    const prefix = uniquePrefix('rate');
    const env = { ...shared, SIFT_KEY_PREFIX: prefix, SIFT_RATE_REQUESTS_PER_SECOND: '6' };
    const port = await freePort();
    const t = await startTestApi(env);
    const other = startSiftUp({ ...env, PORT: String(port), SIFT_WORKERS: '0', SIFT_LOG_LEVEL: 'warn' });
    const otherUrl = `http://127.0.0.1:${port}`;
    try {
      await other.waitFor(/Sift is ready|auth:/).catch(() => undefined);
      for (let i = 0; i < 100 && (await fetch(`${otherUrl}/healthz`).catch(() => null))?.status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
      const store = new ApiKeyStore(redis, redisKeys(prefix));
      const busy = (await store.create('busy', ['predict'])).key;
      const calm = (await store.create('calm', ['predict'])).key;
      // Wait for the start of a fresh second, so every request below falls in one window.
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000)));
      const answers = [];
      // Half to each process: the limit counts them together.
      for (let i = 0; i < 8; i++) answers.push(await graphql(i % 2 === 0 ? t.api.url : otherUrl, busy, '{ models { name } }'));
      const limited = answers.filter((a) => a.status === 429);
      expect(answers.filter((a) => a.status === 200).length).toBe(6);
      expect(limited.length).toBe(2);
      expect(limited.map((a) => a.body.errors?.[0].extensions.code)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);
      expect(limited[0].retryAfter).toMatch(/^[1-9]\d*$/);
      expect(limited[0].body.errors?.[0].message).toMatch(/at most 6 every second \(SIFT_RATE_REQUESTS_PER_SECOND\)/);
      expect((await graphql(otherUrl, calm, '{ models { name } }')).status).toBe(200);
      // Over the WebSocket, an operation past the limit gets the same code.
      const client = createClient({ url: `${t.api.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${busy}` } });
      try {
        const codes: string[] = [];
        for (let i = 0; i < 10; i++) {
          const result = await new Promise<{ errors?: { extensions: { code: string } }[] }>((resolve) => {
            let last: { errors?: { extensions: { code: string } }[] } = {};
            client.subscribe({ query: '{ models { name } }' }, { next: (r) => (last = r as never), error: (e) => resolve({ errors: e as never }), complete: () => resolve(last) });
          });
          codes.push(result.errors?.[0]?.extensions.code ?? 'ok');
        }
        expect(codes).toContain('RATE_LIMITED');
      } finally {
        await client.dispose();
      }
    } finally {
      await other.stop();
      await t.stop();
      await deleteKeys(redis, prefix);
    }
  }, 60_000);

  it('texts a second and batches a minute', async () => {
    const t: TestApi = await startTestApi({ ...shared, SIFT_RATE_TEXTS_PER_SECOND: '100', SIFT_RATE_BATCHES_PER_MINUTE: '2' });
    try {
      const key = (await new ApiKeyStore(redis, redisKeys(t.prefix)).create('heavy', ['predict', 'batches'])).key;
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000)));
      const texts = Array.from({ length: 80 }, (_, i) => `text ${i}`);
      const query = 'query($texts: [String!]!) { predictMany(texts: $texts) { label } }';
      expect((await graphql(t.api.url, key, query, { texts })).status).toBe(200);
      const second = await graphql(t.api.url, key, query, { texts });
      expect(second.status).toBe(429);
      expect(second.body.errors?.[0].extensions.code).toBe('RATE_LIMITED');
      expect(second.body.errors?.[0].message).toMatch(/texts sent to the models/);

      const upload = () => fetch(`${t.api.url}/batches`, { method: 'POST', headers: { 'content-type': 'text/csv', authorization: `Bearer ${key}` }, body: 'text\nhello\n' });
      expect((await upload()).status).toBe(202);
      expect((await upload()).status).toBe(202);
      const third = await upload();
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect(((await third.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
      const inline = await graphql(t.api.url, key, 'mutation { submitBatch(input: { texts: ["a"] }) { id } }');
      expect(inline.body.errors?.[0].extensions.code).toBe('RATE_LIMITED');
    } finally {
      await t.stop();
    }
  }, 30_000);

  it('a pace that waits instead of refusing (the rows a batch queues): three windows of points take about two windows', async () => {
    const prefix = uniquePrefix('pace');
    const limit = new RateLimit(redis, `${prefix}rl:test`, 100, 1, 'rows', 'TEST');
    try {
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000)));
      const started = Date.now();
      await limit.wait('client', 300);
      // 100 now, 100 after the first window, 100 after the second: never before the second window ends.
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
      await expect(limit.take('client', 1000)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    } finally {
      await deleteKeys(redis, prefix);
    }
  });
});
