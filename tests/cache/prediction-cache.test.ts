import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { encodeScores, PredictionCache, textHash } from '../../src/cache/prediction-cache';
import { distinctIndex, scoreThroughCache } from '../../src/predictions/cached-scoring';
import { createLogger } from '../../src/logger';
import { RedisConnections } from '../../src/redis/connections';
import { redisKeys } from '../../src/redis/keys';
import { freePort } from '../support/api';
import { startRedisServer } from '../support/redis-server';
import { deleteKeys, TEST_REDIS_URL, uniquePrefix } from '../support/redis';

const logger = createLogger('silent');
const prefix = uniquePrefix('cache');
let redis: Redis;
let cache: PredictionCache;
const model = { name: 'sentiment', version: 'v1' };

/** Reads texts of one model version through `target`, keying them the way the service does. */
function read(target: PredictionCache, texts: string[], key = model) {
  return target.read(texts.map((text) => target.key(key, text)));
}

function write(target: PredictionCache, entries: { text: string; scores: ArrayLike<number> }[]) {
  return target.write(entries.map(({ text, scores }) => ({ key: target.key(model, text), scores })));
}

/** A cache on the test's connection that notes the name of every command it sends. */
function countingCommands(): { cache: PredictionCache; calls: string[] } {
  const calls: string[] = [];
  const counting = new Proxy(redis, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        // A bulk command (bulk-command.ts) goes through sendCommand: noted by its command's name.
        calls.push(property === 'sendCommand' ? `bulk ${(args[0] as { name: string }).name}` : String(property));
        return value.apply(target, args);
      };
    },
  });
  return { cache: new PredictionCache(counting, redisKeys(prefix), 3600, logger), calls };
}

const connections = (url: string) => new RedisConnections({ url, role: 'api', logger });

beforeAll(() => {
  redis = connections(TEST_REDIS_URL).connect('cache', { kind: 'fail-fast', commandTimeoutMs: 1000 });
  cache = new PredictionCache(redis, redisKeys(prefix), 3600, logger);
  return new Promise((resolve) => redis.once('ready', resolve));
});
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe('PredictionCache', () => {
  it('misses, then hits after a write, with the probabilities intact', async () => {
    expect(await read(cache, ['hello'])).toEqual([null]);
    await write(cache, [{ text: 'hello', scores: Float32Array.from([0.25, 0.75]) }]);
    expect(await read(cache, ['hello', 'other'])).toEqual([[0.25, 0.75], null]);
  });

  it('takes an entry that is not encodeScores\'s for a miss, and writes the fresh scores over it', async () => {
    const damaged = ['not json', '{"a":1}', '[]', '["0.5"]', '[0.5,true]', '0.5', '[1e400,0]', '[-5,2]', '[0.5,1.5]', '[-0.1,1]'];
    const texts = damaged.map((_, i) => `damaged ${i}`);
    await Promise.all(texts.map((text, i) => redis.set(cache.key(model, text), damaged[i])));
    expect(await read(cache, texts)).toEqual(texts.map(() => null));
    const scored = await scoreThroughCache(cache, model, texts, async (misses) => misses.map(() => Float32Array.from([0.25, 0.75])));
    expect(scored).toHaveLength(texts.length);
    for (const found of scored) expect(found).toMatchObject({ cached: false, scoresJson: '[0.25,0.75]' });
    expect(await read(cache, texts)).toEqual(texts.map(() => [0.25, 0.75]));
  });

  it('takes an entry with another number of scores than the model has labels for a miss', async () => {
    const labelled = { ...model, labels: ['NEG', 'POS'] };
    await redis.set(cache.key(model, 'three scores'), '[0.1,0.2,0.7]');
    expect(await cache.read([cache.key(model, 'three scores')], labelled)).toEqual([null]);
    expect(await cache.read([cache.key(model, 'three scores')], model)).toEqual([[0.1, 0.2, 0.7]]);
    const scored = await scoreThroughCache(cache, labelled, ['three scores'], async (misses) => misses.map(() => Float32Array.from([0.5, 0.5])));
    expect(scored[0]).toMatchObject({ cached: false, scoresJson: '[0.5,0.5]' });
  });

  it('gives a hit\'s JSON as stored where no reader could tell, and encoded again where one could', async () => {
    const entries: [text: string, value: string][] = [
      ['spaced', '[0.10000000000000001, 9e-1,null]'],
      ['compact', '[0.25,0.75]'],
      ['spelled otherwise', '[0.10,9e-1]'],
      // Equal scores spelled apart: a download comparing their text would take the second as larger.
      ['a tie spelled apart', '[0.1,0.10000000000000001]'],
      ['null beside 0', '[null,0e0,1]'],
      ['long', `[0.${'1'.repeat(60)},0.5]`],
    ];
    await Promise.all(entries.map(([text, value]) => redis.set(cache.key(model, text), value)));
    const scored = await scoreThroughCache(cache, model, entries.map(([text]) => text), async (misses) => {
      if (misses.length > 0) throw new Error('a hit runs no model');
      return [];
    });
    expect(scored.map(({ scoresJson }) => scoresJson)).toEqual([
      '[0.1,0.9,null]',
      '[0.25,0.75]',
      // Another writer's spelling, kept: every reader of stored outcomes takes JSON numbers.
      '[0.10,9e-1]',
      '[0.1,0.1]',
      '[null,0,1]',
      '[0.1111111111111111,0.5]',
    ]);
    expect(scored.every(({ cached }) => cached)).toBe(true);
    expect(scored[0].scores).toEqual([0.1, 0.9, null]);
  });

  it('gives each text its own scores, in the order given, hits among misses', async () => {
    await write(cache, [{ text: 'order hit', scores: [0.5, 0.5] }]);
    const texts = ['order miss 1', 'order hit', 'order miss 2'];
    const scored = await scoreThroughCache(cache, model, texts, async (misses) => {
      expect(misses).toEqual(['order miss 1', 'order miss 2']);
      return [Float32Array.from([0.25, 0.75]), Float32Array.from([0.75, 0.25])];
    });
    expect(scored.map(({ scoresJson, cached }) => [scoresJson, cached])).toEqual([
      ['[0.25,0.75]', false],
      ['[0.5,0.5]', true],
      ['[0.75,0.25]', false],
    ]);
  });

  it('indexes texts by their first appearance, and a missing one as -1', () => {
    const { distinct, positions } = distinctIndex(['b', 'a', null, 'b', 'a', 'c']);
    expect(distinct).toEqual(['b', 'a', 'c']);
    expect([...positions]).toEqual([0, 1, -1, 0, 1, 2]);
  });

  it('keys by model name, model version and the exact text', async () => {
    await write(cache, [{ text: 'Exact', scores: [0.5, 0.5] }]);
    expect(await read(cache, ['Exact'], { name: 'sentiment', version: 'v2' })).toEqual([null]);
    expect(await read(cache, ['Exact'], { name: 'other', version: 'v1' })).toEqual([null]);
    expect(await read(cache, ['exact', 'Exact ', 'Exact'])).toEqual([null, null, [0.5, 0.5]]);
    expect(await redis.exists(`${prefix}pred:sentiment:v1:${textHash('Exact')}`)).toBe(1);
  });

  it('encodes probabilities as JSON.stringify does, from a Float32Array as from numbers', () => {
    const random = Float32Array.from({ length: 1000 }, (_, i) => Math.abs(Math.sin(i * 12.9898)) ** (i % 7));
    const odd = [0, -0, 1, 1e-7, 1e21, 5e-324, NaN, Infinity, -Infinity, 0.1 + 0.2];
    for (const scores of [random, odd, Float32Array.from(odd), [], [0.5]]) {
      expect(encodeScores(scores)).toBe(JSON.stringify(Array.from(scores)));
    }
  });

  it('keys a text by the SHA-256 of its UTF-16 code units, its first 22 base64url characters', () => {
    // A text longer than the hash's scratch space, one that fills it, short ones after them, and
    // texts of one length (hashed through one view of the scratch space) one after another.
    for (const text of ['Exact', 'café ☺ 𝄞', 'a\ud800', 'long ☺'.repeat(2000), 'x'.repeat(4096), 'x'.repeat(4097), 'Exact', 'Other', 'b\udc00', '']) {
      expect(textHash(text)).toBe(createHash('sha256').update(text, 'utf16le').digest('base64url').slice(0, 22));
    }
    expect(textHash('Exact')).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('tells texts apart that differ only in lone surrogates', async () => {
    expect(textHash('a\ud800')).not.toBe(textHash('a\udbff'));
    await write(cache, [{ text: 'a\ud800', scores: [1, 0] }]);
    expect(await read(cache, ['a\ud800', 'a\udbff'])).toEqual([[1, 0], null]);
  });

  it('sets the configured TTL on every entry, written alone or with others', async () => {
    await write(cache, [{ text: 'ttl', scores: [0.1, 0.9] }]);
    await write(cache, [{ text: 'ttl a', scores: [0.2, 0.8] }, { text: 'ttl b', scores: [0.3, 0.7] }]);
    for (const text of ['ttl', 'ttl a', 'ttl b']) {
      const ttl = await redis.ttl(`${prefix}pred:sentiment:v1:${textHash(text)}`);
      expect(ttl).toBeGreaterThan(3500);
      expect(ttl).toBeLessThanOrEqual(3600);
    }
    expect(await read(cache, ['ttl b', 'ttl a'])).toEqual([[0.3, 0.7], [0.2, 0.8]]);
  });

  it('reads many texts in one round trip', async () => {
    const texts = Array.from({ length: 50 }, (_, i) => `text ${i}`);
    const { cache: countingCache, calls } = countingCommands();
    await write(countingCache, texts.map((text, i) => ({ text, scores: [i / 100, 1 - i / 100] })));
    calls.length = 0;
    expect((await read(countingCache, texts)).map((scores) => scores?.[0])).toEqual(texts.map((_, i) => i / 100));
    expect(calls).toEqual(['mget']);
  });

  it('writes many entries in a few script calls, not a command each, every one with the TTL', async () => {
    // 2,500 entries: three groups (WRITE_GROUP is 1,000), so the last group is a partial one.
    const texts = Array.from({ length: 2500 }, (_, i) => `grouped ${i}`);
    const { cache: countingCache, calls } = countingCommands();
    await write(countingCache, texts.map((text, i) => ({ text, scores: [i / 10_000, 1 - i / 10_000] })));
    // ('bulk eval' too when this Redis had not loaded the script yet: NOSCRIPT, then the script itself.)
    expect(calls.filter((call) => call !== 'bulk eval')).toEqual(['bulk evalsha', 'bulk evalsha', 'bulk evalsha']);
    const found = await read(cache, texts);
    expect(found.map((scores) => scores?.[0])).toEqual(texts.map((_, i) => i / 10_000));
    for (const text of [texts[0], texts[999], texts[1000], texts[2499]]) {
      expect(await redis.ttl(`${prefix}pred:sentiment:v1:${textHash(text)}`)).toBeGreaterThan(3500);
    }
  });

  it('reads a chunk\'s many texts in one bulk MGET, and an online request\'s few in an auto-pipelined one', async () => {
    const texts = Array.from({ length: 300 }, (_, i) => `bulk read ${i}`);
    await write(cache, texts.map((text, i) => ({ text, scores: [i / 1000, 1 - i / 1000] })));
    const { cache: countingCache, calls } = countingCommands();
    const found = await read(countingCache, [...texts, 'bulk read, never written']);
    expect(found.map((scores) => scores?.[0] ?? null)).toEqual([...texts.map((_, i) => i / 1000), null]);
    await read(countingCache, texts.slice(0, 3));
    expect(calls).toEqual(['bulk mget', 'mget']);
  });

  it('writes and reads keys and values that are not ASCII, in bulk as alone', async () => {
    // A bulk command counts bytes, not characters, for any argument that is not ASCII.
    const wide = new PredictionCache(redis, redisKeys(`${prefix}café✓:`), 3600, logger);
    const wideModel = { name: 'модель', version: 'v𝟙' };
    const texts = Array.from({ length: 100 }, (_, i) => `wide ${i}`);
    await wide.write(texts.map((text, i) => ({ key: wide.key(wideModel, text), scores: [i / 100, 1 - i / 100] })));
    expect((await wide.read(texts.map((text) => wide.key(wideModel, text)))).map((scores) => scores?.[0])).toEqual(texts.map((_, i) => i / 100));
    expect(await redis.exists(`${prefix}café✓:pred:модель:v𝟙:${textHash('wide 99')}`)).toBe(1);
    expect(await redis.ttl(`${prefix}café✓:pred:модель:v𝟙:${textHash('wide 0')}`)).toBeGreaterThan(3500);
  });

  it('writes still land after Redis forgets its scripts (as on a restart)', async () => {
    const port = await freePort();
    const server = await startRedisServer(port);
    const own = connections(server.url).connect('cache', { kind: 'fail-fast', commandTimeoutMs: 1000 });
    await new Promise((resolve) => own.once('ready', resolve));
    try {
      const ownCache = new PredictionCache(own, redisKeys(prefix), 3600, logger);
      await write(ownCache, [{ text: 'before the flush', scores: [0.4, 0.6] }]);
      await own.script('FLUSH');
      await write(ownCache, [{ text: 'after the flush', scores: [0.7, 0.3] }]);
      expect(await read(ownCache, ['before the flush', 'after the flush'])).toEqual([[0.4, 0.6], [0.7, 0.3]]);
      // A bulk write (a chunk's) reloads the script too.
      await own.script('FLUSH');
      const many = Array.from({ length: 200 }, (_, i) => `after the flush ${i}`);
      await write(ownCache, many.map((text) => ({ text, scores: [0.25, 0.75] })));
      expect(await read(ownCache, many)).toEqual(many.map(() => [0.25, 0.75]));
    } finally {
      own.disconnect();
      await server.kill();
    }
  });

  it('answers misses and drops writes when Redis cannot be reached, without hanging', async () => {
    const down = connections(`redis://127.0.0.1:${await freePort()}`).connect('cache', { kind: 'fail-fast', commandTimeoutMs: 200 });
    const downCache = new PredictionCache(down, redisKeys(prefix), 3600, logger);
    await expect(read(downCache, ['hello', 'world'])).resolves.toEqual([null, null]);
    await expect(write(downCache, [{ text: 'hello', scores: [1, 0] }])).resolves.toBeUndefined();
    const many = Array.from({ length: 100 }, (_, i) => `down ${i}`);
    await expect(read(downCache, many)).resolves.toEqual(many.map(() => null));
    await expect(write(downCache, many.map((text) => ({ text, scores: [1, 0] })))).resolves.toBeUndefined();
    down.disconnect();
  });
});
