import { Redis } from 'ioredis';
import { BatchStore, PENDING_BATCH } from '../../src/batches/batch-store';
import { redisKeys } from '../../src/redis/keys';
import { deleteKeys, TEST_REDIS_URL, uniquePrefix } from '../support/redis';

/**
 * An idempotency key's claim after it lapsed while its submit still ran (a paused API process, in a
 * review) and another submit took the key: the first submit's late renewal, record and release
 * must leave the second's claim, and then its record, as they are.
 */
describe('an idempotency key claimed again after its first claim lapsed', () => {
  const prefix = uniquePrefix('idem-claim');
  const redis = new Redis(TEST_REDIS_URL);
  const store = new BatchStore(redis, redisKeys(prefix), 3600);
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('the first submit can neither renew, overwrite nor delete what the second holds', async () => {
    const first = await store.claimIdempotencyKey('local:k', 200);
    expect(first).toMatch(/^pending:/);
    // Another submit while the first holds it: no claim.
    expect(await store.claimIdempotencyKey('local:k', 200)).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 400));
    const second = await store.claimIdempotencyKey('local:k', 10_000);
    expect(second).toMatch(/^pending:/);
    expect(second).not.toBe(first);
    expect(await store.idempotentBatch('local:k')).toBe(PENDING_BATCH);
    // The first one wakes up.
    expect(await store.renewIdempotencyClaim('local:k', first!, 10_000)).toBe(false);
    expect(await store.recordIdempotentBatch('local:k', first!, 'batch-of-the-first', 'f1')).toBe(false);
    expect(await store.idempotentBatch('local:k')).toBe(PENDING_BATCH);
    // The second records its batch; then the first one's release (its client gone) changes nothing.
    expect(await store.recordIdempotentBatch('local:k', second!, 'batch-of-the-second', 'f2')).toBe(true);
    await store.releaseIdempotencyKey('local:k', first!);
    expect(await store.idempotentBatch('local:k')).toEqual({ batch: 'batch-of-the-second', fingerprint: 'f2' });
    // Before, a plain SET and a plain DEL: the record was the first one's, or gone.
  });

  it('a claim written by a release before claims of their own ("pending") still reads as pending', async () => {
    await redis.set(redisKeys(prefix).idempotency('local:old'), 'pending', 'EX', 60);
    expect(await store.idempotentBatch('local:old')).toBe(PENDING_BATCH);
  });
});
