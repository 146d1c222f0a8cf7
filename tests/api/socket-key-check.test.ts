import { Redis } from 'ioredis';
import { ApiKeyStore } from '../../src/auth/api-key-store';
import { Authenticator } from '../../src/auth/authenticator';
import { SocketKeyCheck, type KeyedSocket } from '../../src/http/socket-key-check';
import { redisKeys } from '../../src/redis/keys';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';

/** A socket as graphql-ws.ts keeps it, with the key of its connection_init. */
const socket = (key: string): KeyedSocket => ({ authorization: `Bearer ${key}`, request: { socket: { remoteAddress: '127.0.0.1' } } });

describe('SocketKeyCheck: the keys of open sockets, checked again', () => {
  const redis = testRedis();
  const prefix = uniquePrefix('socket-keys');
  const store = new ApiKeyStore(redis, redisKeys(prefix));
  // No caching: each check asks Redis, as the first check after the authenticator's few seconds does.
  const authenticator = new Authenticator({ mode: 'keys', store, cacheMs: 0 });

  afterAll(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  /** A check over the real authenticator, counting its verifications, and the sockets it says were revoked. */
  function check(verify = (authorization: unknown) => authenticator.authenticate(authorization)) {
    const revoked: KeyedSocket[] = [];
    const verified: unknown[] = [];
    const keyCheck = new SocketKeyCheck({
      verify: (authorization) => {
        verified.push(authorization);
        return verify(authorization);
      },
      revoked: (s) => revoked.push(s),
      everyMs: 60_000,
    });
    return { keyCheck, revoked, verified };
  }

  it("tells of every socket of a revoked key, and of no other, checking each key once a round", async () => {
    const kept = await store.create('kept', ['batches']);
    const gone = await store.create('gone', ['batches']);
    const sockets = { kept: socket(kept.key), gone1: socket(gone.key), gone2: socket(gone.key) };
    const { keyCheck, revoked, verified } = check();
    for (const s of Object.values(sockets)) keyCheck.add(s);
    try {
      await keyCheck.checkAll();
      expect(revoked).toEqual([]);
      expect(verified).toHaveLength(2);

      expect(await store.revoke(gone.info.id)).toBe(true);
      await keyCheck.checkAll();
      expect(revoked).toEqual([sockets.gone1, sockets.gone2]);
      expect(verified).toHaveLength(4);

      // A socket that has closed is neither checked nor told of again.
      keyCheck.delete(sockets.gone1);
      keyCheck.delete(sockets.gone2);
      await keyCheck.checkAll();
      expect(revoked).toHaveLength(2);
      expect(verified).toHaveLength(5);
    } finally {
      keyCheck.stop();
    }
  });

  it('a round asked for while one runs is that round, not a second', async () => {
    const { key } = await store.create('busy', ['batches']);
    const { keyCheck, verified } = check();
    keyCheck.add(socket(key));
    try {
      const [first, second] = [keyCheck.checkAll(), keyCheck.checkAll()];
      expect(second).toBe(first);
      await first;
      expect(verified).toHaveLength(1);
    } finally {
      keyCheck.stop();
    }
  });

  it('closes nothing when Redis does not answer: an outage is no revocation', async () => {
    // An authenticator whose Redis is a port nothing listens on, failing each command at once.
    const absent = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const unreachable = new Authenticator({ mode: 'keys', store: new ApiKeyStore(absent, redisKeys(prefix)), cacheMs: 0 });
    const { key } = await store.create('during-outage', ['batches']);
    await expect(unreachable.authenticate(`Bearer ${key}`)).rejects.toThrow();
    const { keyCheck, revoked, verified } = check((authorization) => unreachable.authenticate(authorization));
    keyCheck.add(socket(key));
    try {
      await keyCheck.checkAll();
      expect(verified).toHaveLength(1);
      expect(revoked).toEqual([]);
    } finally {
      keyCheck.stop();
      absent.disconnect();
    }
  });
});
