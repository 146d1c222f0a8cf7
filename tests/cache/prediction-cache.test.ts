import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { CacheWindows, SHARDS, shardOf } from '../../src/cache/cache-windows';
import { encodeScores, PredictionCache, textHash, type ModelKey } from '../../src/cache/prediction-cache';
import { distinctIndex, scoreThroughCache } from '../../src/predictions/cached-scoring';
import { createLogger } from '../../src/logger';
import { RedisConnections } from '../../src/redis/connections';
import { redisKeys } from '../../src/redis/keys';
import { eventually, freePort } from '../support/api';
import { deleteKeys, TEST_REDIS_URL, uniquePrefix } from '../support/redis';

const logger = createLogger('silent');
const prefix = uniquePrefix('cache');
let redis: Redis;
let cache: PredictionCache;
const model = { name: 'sentiment', version: 'v1' };

/** Reads texts of one model version through `target`, keying them the way the service does. */
function read(target: PredictionCache, texts: string[], key: ModelKey = model) {
  return target.read(key, texts.map(textHash));
}

function write(target: PredictionCache, entries: { text: string; scores: ArrayLike<number> }[], key: ModelKey = model) {
  return target.write(key, entries.map(({ text, scores }) => ({ hash: textHash(text), scores })));
}

/** Stores values as another writer of the shared cache might have: as they are, whatever they are. */
function writeRaw(target: PredictionCache, entries: [text: string, value: string][]) {
  return target.writeValues(model, entries.map(([text]) => textHash(text)), entries.map(([, value]) => value));
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
  return { cache: new PredictionCache(counting, redisKeys(prefix), 3600, logger, undefined, clock), calls };
}

/**
 * The test's caches' clock: the middle of the real window (of a TTL of 3600 s), so that no test
 * crosses into the next one unless it moves the clock; Redis's expiries stay in the future.
 */
const WINDOW_MS = 1_800_000;
const clockAt = (Math.floor(Date.now() / WINDOW_MS) + 0.5) * WINDOW_MS;
const clock = () => clockAt;
const windows = new CacheWindows(3600, clock);

/** Where a text's entry of the test's model lies in `window`: its hash's key and its field. */
function placeOf(text: string, window = windows.current(), modelPrefix = `${prefix}pred:sentiment:v1:`) {
  const field = textHash(text);
  return { key: windows.key(modelPrefix, window, shardOf(field)), field };
}

const connections = (url: string) => new RedisConnections({ url, role: 'api', logger });

beforeAll(() => {
  redis = connections(TEST_REDIS_URL).connect('cache', { kind: 'fail-fast', commandTimeoutMs: 1000 });
  cache = new PredictionCache(redis, redisKeys(prefix), 3600, logger, undefined, clock);
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
    await writeRaw(cache, texts.map((text, i) => [text, damaged[i]]));
    expect(await read(cache, texts)).toEqual(texts.map(() => null));
    const scored = await scoreThroughCache(cache, model, texts, async (misses) => misses.map(() => Float32Array.from([0.25, 0.75])));
    expect(scored).toHaveLength(texts.length);
    for (const found of scored) expect(found).toMatchObject({ cached: false, scoresJson: '[0.25,0.75]' });
    expect(await read(cache, texts)).toEqual(texts.map(() => [0.25, 0.75]));
  });

  it('takes an entry with another number of scores than the model has labels for a miss', async () => {
    const labelled = { ...model, labels: ['NEG', 'POS'] };
    await writeRaw(cache, [['three scores', '[0.1,0.2,0.7]']]);
    expect(await read(cache, ['three scores'], labelled)).toEqual([null]);
    expect(await read(cache, ['three scores'])).toEqual([[0.1, 0.2, 0.7]]);
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
    await writeRaw(cache, entries);
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
    const { key, field } = placeOf('Exact');
    expect(await redis.hget(key, field)).toBe('[0.5,0.5]');
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

  it('keeps an entry at least the TTL and at most half as long again, then unlinks its window', async () => {
    const windowPrefix = uniquePrefix('cache-windows');
    let at = 0;
    const timed = new PredictionCache(redis, redisKeys(windowPrefix), 3600, logger, undefined, () => at);
    const first = Math.floor(Date.now() / WINDOW_MS);
    try {
      // Written at the very start of a window and at its very end.
      at = first * WINDOW_MS;
      await write(timed, [{ text: 'early', scores: [0.1, 0.9] }]);
      at = (first + 1) * WINDOW_MS - 1;
      await write(timed, [{ text: 'late', scores: [0.2, 0.8] }, { text: 'late too', scores: [0.3, 0.7] }]);
      const hashes = Array.from({ length: SHARDS }, (_, shard) => windows.key(`${windowPrefix}pred:sentiment:v1:`, first, shard));
      // Each hash of the window expires a window after the last read that looks in it.
      const expiries = await Promise.all(hashes.map((key) => redis.pexpiretime(key)));
      expect(expiries.filter((expiry) => expiry !== -2).length).toBeGreaterThan(0); // -2: a shard none of the three fell in
      for (const expiry of expiries) if (expiry !== -2) expect(expiry).toBe((first + 4) * WINDOW_MS);
      // 'late' 1 ms short of the TTL after its write, 'early' 1 ms short of one and a half.
      at = (first + 3) * WINDOW_MS - 2;
      expect(await read(timed, ['late', 'early', 'late too'])).toEqual([[0.2, 0.8], [0.1, 0.9], [0.3, 0.7]]);
      expect(await redis.exists(...hashes)).toBeGreaterThan(0);
      // A window later than that, all three are out of reach, and the first read there unlinks their hashes.
      at = (first + 3) * WINDOW_MS;
      expect(await read(timed, ['late', 'early', 'late too'])).toEqual([null, null, null]);
      await eventually(async () => (await redis.exists(...hashes)) === 0, 2000, 'the window out of reach unlinked');
    } finally {
      await deleteKeys(redis, windowPrefix);
    }
  });

  it('gives the newest window\'s value of a text written in two', async () => {
    const windowPrefix = uniquePrefix('cache-newest');
    let at = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
    const timed = new PredictionCache(redis, redisKeys(windowPrefix), 3600, logger, undefined, () => at);
    try {
      await timed.writeValues(model, [textHash('twice')], ['[0.25,0.75]']);
      at += WINDOW_MS;
      await timed.writeValues(model, [textHash('twice')], ['[0.5,0.5]']);
      expect(await read(timed, ['twice'])).toEqual([[0.5, 0.5]]);
      at += WINDOW_MS;
      expect(await read(timed, ['twice'])).toEqual([[0.5, 0.5]]);
    } finally {
      await deleteKeys(redis, windowPrefix);
    }
  });

  it('takes a key of its names that holds no hash for a miss of its own texts alone, and makes a hash there again', async () => {
    // Two texts in different shards of the current window.
    const texts = Array.from({ length: 20 }, (_, i) => `wrong type ${i}`);
    const first = texts[0];
    const other = texts.find((text) => shardOf(textHash(text)) !== shardOf(textHash(first)))!;
    await write(cache, [{ text: first, scores: [0.25, 0.75] }, { text: other, scores: [0.5, 0.5] }]);
    const { key } = placeOf(first);
    await redis.set(key, 'not a hash');
    expect(await read(cache, [first, other])).toEqual([null, [0.5, 0.5]]);
    // Its write is refused for the key's type: the key goes, and the next write makes the hash.
    await write(cache, [{ text: first, scores: [0.25, 0.75] }]);
    await eventually(async () => (await redis.exists(key)) === 0, 2000, 'the key of the wrong type removed');
    await write(cache, [{ text: first, scores: [0.25, 0.75] }]);
    expect(await read(cache, [first, other])).toEqual([[0.25, 0.75], [0.5, 0.5]]);
    // An older window's key of the wrong type takes nothing found in a newer one.
    const older = placeOf(first, windows.current() - 1).key;
    await redis.set(older, 'not a hash either');
    try {
      expect(await read(cache, [first, other])).toEqual([[0.25, 0.75], [0.5, 0.5]]);
    } finally {
      await redis.del(older);
    }
  });

  it('reads many texts in one round trip: an HMGET of each shard in each window read', async () => {
    const texts = Array.from({ length: 50 }, (_, i) => `text ${i}`);
    const { cache: countingCache, calls } = countingCommands();
    await write(countingCache, texts.map((text, i) => ({ text, scores: [i / 100, 1 - i / 100] })));
    calls.length = 0;
    expect((await read(countingCache, texts)).map((scores) => scores?.[0])).toEqual(texts.map((_, i) => i / 100));
    // 50 texts fall in every shard; few a shard, so auto-pipelined, all in one write.
    expect(calls).toEqual(Array.from({ length: SHARDS * 3 }, () => 'hmget'));
  });

  it('writes many entries in an HSET per shard and 1,000 fields, each with its window\'s expiry', async () => {
    const texts = Array.from({ length: 4500 }, (_, i) => `grouped ${i}`);
    const { cache: countingCache, calls } = countingCommands();
    await write(countingCache, texts.map((text, i) => ({ text, scores: [i / 10_000, 1 - i / 10_000] })));
    const perShard = new Array<number>(SHARDS).fill(0);
    for (const text of texts) perShard[shardOf(textHash(text))]++;
    const groups = perShard.reduce((sum, count) => sum + Math.ceil(count / 1000), 0);
    expect(groups).toBeGreaterThan(SHARDS); // some shard has more than 1,000 texts: cut in two
    expect(calls.filter((call) => call !== 'unlink')).toEqual(Array.from({ length: groups }, () => ['bulk hset', 'bulk pexpireat']).flat());
    const found = await read(cache, texts);
    expect(found.map((scores) => scores?.[0])).toEqual(texts.map((_, i) => i / 10_000));
    for (const shard of [0, 1, 2, 3]) {
      expect(await redis.pexpiretime(windows.key(`${prefix}pred:sentiment:v1:`, windows.current(), shard))).toBe(windows.expiresAt(windows.current()));
    }
  });

  it('reads a chunk\'s many texts in bulk HMGETs, and an online request\'s few in auto-pipelined ones', async () => {
    const texts = Array.from({ length: 600 }, (_, i) => `bulk read ${i}`);
    await write(cache, texts.map((text, i) => ({ text, scores: [i / 1000, 1 - i / 1000] })));
    const { cache: countingCache, calls } = countingCommands();
    const found = await read(countingCache, [...texts, 'bulk read, never written']);
    expect(found.map((scores) => scores?.[0] ?? null)).toEqual([...texts.map((_, i) => i / 1000), null]);
    expect(calls.filter((call) => call !== 'unlink')).toEqual(Array.from({ length: SHARDS * 3 }, () => 'bulk hmget'));
    calls.length = 0;
    await read(countingCache, texts.slice(0, 1));
    expect(calls).toEqual(['hmget', 'hmget', 'hmget']);
  });

  it('writes and reads keys and values that are not ASCII, in bulk as alone', async () => {
    // A bulk command counts bytes, not characters, for any argument that is not ASCII.
    const wide = new PredictionCache(redis, redisKeys(`${prefix}café✓:`), 3600, logger, undefined, clock);
    const wideModel = { name: 'модель', version: 'v𝟙' };
    const texts = Array.from({ length: 400 }, (_, i) => `wide ${i}`);
    await write(wide, texts.map((text, i) => ({ text, scores: [i / 1000, 1 - i / 1000] })), wideModel);
    await write(wide, [{ text: 'wide alone', scores: [0.5, 0.5] }], wideModel);
    expect((await read(wide, [...texts, 'wide alone'], wideModel)).map((scores) => scores?.[0])).toEqual([...texts.map((_, i) => i / 1000), 0.5]);
    const { key, field } = placeOf('wide 99', windows.current(), `${prefix}café✓:pred:модель:v𝟙:`);
    expect(await redis.hget(key, field)).toBe('[0.099,0.901]');
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
