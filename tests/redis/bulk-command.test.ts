import type { Redis } from 'ioredis';
import { encodeArgs, encodeCommand, sendBulk } from '../../src/redis/bulk-command';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';

describe('encodeCommand', () => {
  it('writes RESP bulk strings with their lengths for ASCII arguments', () => {
    expect(encodeCommand('mget', ['a', 'bc', 7])).toBe('*4\r\n$4\r\nmget\r\n$1\r\na\r\n$2\r\nbc\r\n$1\r\n7\r\n');
  });

  it('counts the UTF-8 bytes of an argument that is not ASCII, not its UTF-16 length', () => {
    // 'é' is 2 bytes, '✓' 3, '𝟙' (a surrogate pair) 4, a lone surrogate 3 (as U+FFFD).
    expect(encodeCommand('get', ['é✓𝟙', 'x\ud800'])).toBe('*3\r\n$3\r\nget\r\n$9\r\né✓𝟙\r\n$4\r\nx\ud800\r\n');
    expect(encodeCommand('get', [''])).toBe('*2\r\n$3\r\nget\r\n$0\r\n\r\n');
  });

  it('ends a command with arguments encoded once, as if they were given with it', () => {
    const tail = encodeArgs(['f1', 'é✓', 42]);
    expect(encodeCommand('hmget', ['k1'], tail)).toBe(encodeCommand('hmget', ['k1', 'f1', 'é✓', 42]));
    expect(encodeCommand('hmget', ['ü'], tail)).toBe(encodeCommand('hmget', ['ü', 'f1', 'é✓', 42]));
    expect(encodeCommand('hmget', ['k2'], encodeArgs([]))).toBe(encodeCommand('hmget', ['k2']));
  });
});

describe('sendBulk', () => {
  const prefix = uniquePrefix('bulk');
  let redis: Redis;

  beforeAll(() => {
    redis = testRedis();
  });

  afterAll(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('answers as the named command does: text for values, null for a missing key, numbers as numbers', async () => {
    await redis.set(`${prefix}a`, '[0.1,0.9]');
    await redis.set(`${prefix}é`, 'ü');
    const keys = [`${prefix}a`, `${prefix}missing`, `${prefix}é`];
    expect(await sendBulk(redis, 'mget', keys)).toEqual(await redis.mget(keys));
    expect(await sendBulk(redis, 'mget', keys)).toEqual(['[0.1,0.9]', null, 'ü']);
    expect(await sendBulk(redis, 'eval', ['return #KEYS + tonumber(ARGV[1])', 2, `${prefix}a`, `${prefix}b`, 40])).toBe(42);
  });

  it('answers a command whose last arguments were encoded once as it answers them given with it', async () => {
    await redis.hset(`${prefix}h1`, 'f1', '[0.2,0.8]', 'é', 'ü');
    await redis.hset(`${prefix}h2`, 'f2', '[0.3,0.7]');
    const fields = encodeArgs(['f1', 'f2', 'é']);
    expect(await sendBulk(redis, 'hmget', [`${prefix}h1`], fields)).toEqual(['[0.2,0.8]', null, 'ü']);
    expect(await sendBulk(redis, 'hmget', [`${prefix}h2`], fields)).toEqual([null, '[0.3,0.7]', null]);
  });

  it('rejects with Redis\'s error', async () => {
    await expect(sendBulk(redis, 'evalsha', ['0'.repeat(40), 0])).rejects.toThrow(/NOSCRIPT/);
  });
});
