import { ApiKeyStore } from '../../src/auth/api-key-store';
import { Authenticator } from '../../src/auth/authenticator';
import type { Principal } from '../../src/auth/principal';
import { redisKeys } from '../../src/redis/keys';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';

/** The real key store, counting the keys it was asked to verify (each one a Redis read). */
class CountingStore extends ApiKeyStore {
  readonly asked: string[] = [];

  override verify(key: string): Promise<Principal | null> {
    this.asked.push(key);
    return super.verify(key);
  }
}

describe('Authenticator: the cache of verified keys', () => {
  const redis = testRedis();
  const prefix = uniquePrefix('auth-cache');
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('when full, forgets the key verified longest ago, not every key: more keys in use than it holds still mostly answer from it', async () => {
    const store = new CountingStore(redis, redisKeys(prefix));
    const keys = await Promise.all(['a', 'b', 'c', 'd'].map(async (name) => (await store.create(name, ['predict'])).key));
    const authenticator = new Authenticator({ mode: 'keys', store, cacheMs: 60_000, maxCached: 3 });
    const use = (i: number) => authenticator.authenticate(`Bearer ${keys[i]}`);
    for (const i of [0, 1, 2, 3]) await use(i);
    expect(store.asked).toEqual(keys);
    // d took a's place: b, c and d answer from the cache, a is asked for again (and takes b's place).
    for (const i of [1, 2, 3, 0]) expect((await use(i)).name).toBe(['a', 'b', 'c', 'd'][i]);
    expect(store.asked).toEqual([...keys, keys[0]]);
    // A wrong key is remembered as wrong, and pushes out the oldest in turn (c).
    await expect(authenticator.authenticate('Bearer sift_0123456789abcdef_notakeynotakeynotakeynotakeynotakeynotakey')).rejects.toThrow(/not valid/);
    for (const i of [3, 0]) await use(i);
    expect(store.asked.length).toBe(6);
  });
});
