import { Redis } from 'ioredis';
import { PredictDocument, SubmitBatchDocument } from '../../src/client/generated/graphql';
import { freePort, startTestApi } from '../support/api';
import { finished } from '../support/batches';
import { startRedisServer, type TestRedisServer } from '../support/redis-server';
import { tinyModelsDir } from '../support/tiny-models';
import { startWorkerProcess } from '../support/worker-process';

const shared = { SIFT_MODELS_DIR: tinyModelsDir(), SIFT_DEFAULT_MODEL: 'tiny-transformer' };

/** A Redis with a password, as docs/security.md tells operators to run it. */
describe('a Redis that wants a password', () => {
  let redis: TestRedisServer;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    redis = await startRedisServer(port, { password: 's3cret' });
  });
  afterAll(() => redis.kill());

  it.each([
    ['a wrong password', 'redis://:wrong@127.0.0.1', /refused the password in REDIS_URL \(WRONGPASS.*put the right one in REDIS_URL: redis:\/\/:PASSWORD@host:port/],
    ['no password', 'redis://127.0.0.1', /wants a password, and REDIS_URL gives none \(NOAUTH.*put it in REDIS_URL/],
  ])('with %s: the API says so at error level, naming REDIS_URL and what to put there, and keeps answering predictions', async (_what, url, said) => {
    // Before, a wrong password ended the API with a stack trace (an error of bee-queue's client
    // that nothing listened to), and a missing one was "not answering; retrying".
    const t = await startTestApi({ ...shared, REDIS_URL: `${url}:${port}` });
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const errors = t.logs.filter((line) => JSON.parse(line).level === 'error').map((line) => JSON.parse(line).msg as string);
      expect(errors).toEqual(expect.arrayContaining([expect.stringMatching(said)]));
      expect(t.logs.join('')).not.toContain('s3cret');
      expect((await t.client.request(PredictDocument, { text: 'a good movie' })).predict.label).toBe('POSITIVE');
    } finally {
      await t.stop();
    }
  }, 30_000);

  it('with the right one in REDIS_URL: a batch runs end to end', async () => {
    const t = await startTestApi({ ...shared, REDIS_URL: redis.url });
    const worker = await startWorkerProcess({ ...shared, REDIS_URL: redis.url, SIFT_KEY_PREFIX: t.prefix });
    try {
      const { submitBatch } = await t.client.request(SubmitBatchDocument, { input: { texts: ['a good movie', 'an awful movie'] } });
      expect(await finished(t.client, submitBatch.id)).toMatchObject({ status: 'COMPLETED', succeeded: 2 });
    } finally {
      await worker.stop();
      await t.stop();
    }
  }, 30_000);
});

describe('a Redis at its maxmemory (noeviction)', () => {
  it('an upload is refused with 503 REDIS_OUT_OF_MEMORY saying what to do, logged at error level, and nothing is left of it', async () => {
    const port = await freePort();
    const redis = await startRedisServer(port);
    const t = await startTestApi({ ...shared, REDIS_URL: redis.url });
    const filler = new Redis(redis.url);
    try {
      // Past the limit: every write from now on is refused (OOM), reads still answer.
      await filler.set('filler', 'x'.repeat(6 * 1024 * 1024));
      await filler.config('SET', 'maxmemory-policy', 'noeviction');
      await filler.config('SET', 'maxmemory', '4mb');
      const response = await fetch(`${t.api.url}/batches`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'text\na good movie\nan awful one\n' });
      const body = (await response.json()) as { error: { code: string; message: string } };
      // Before: 500 INTERNAL_SERVER_ERROR, "Internal server error", and a log line blaming Redis for not answering.
      expect({ status: response.status, retryAfter: response.headers.get('retry-after'), code: body.error.code }).toEqual({ status: 503, retryAfter: '30', code: 'REDIS_OUT_OF_MEMORY' });
      expect(body.error.message).toMatch(/Redis is full \(it reached its maxmemory\).*raise Redis's maxmemory/);
      expect(t.logs.some((line) => JSON.parse(line).level === 'error' && /REDIS_OUT_OF_MEMORY|Redis is full/.test(JSON.parse(line).msg))).toBe(true);
      expect(await filler.keys(`${t.prefix}batch:*`)).toEqual([]);
      await filler.del('filler');
      await filler.config('SET', 'maxmemory', '0');
      // Room again: the same upload is taken.
      const again = await fetch(`${t.api.url}/batches`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'text\na good movie\nan awful one\n' });
      expect(again.status).toBe(202);
    } finally {
      filler.disconnect();
      await t.stop();
      await redis.kill();
    }
  }, 30_000);
});
