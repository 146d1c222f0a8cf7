import { luaScript } from '../../redis/lua-script';

/**
 * An idempotency key's claim, changed only by the submit that holds it: each claim's value is its
 * own (`pending:<random>`), so a submit whose claim lapsed (a pause of over 10 s) and was taken by
 * another can neither renew, overwrite nor delete what the other holds (a review: a paused API's
 * late record replaced the batch a second submit had recorded, and its release deleted it).
 * KEYS: the idempotency key. ARGV: the claim's value, then what the change needs.
 * Each returns 1 when it changed the key, 0 when the key held something else (or nothing).
 */

/** ARGV: the claim, its new lifetime (ms). */
export const renewClaim = luaScript({
  name: 'renewClaim',
  keys: ['claim'],
  args: ['value', 'ms'],
  lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`,
  reply: (raw) => raw === 1,
});

/** ARGV: the claim, the record that replaces it, the record's lifetime (s). */
export const recordClaim = luaScript({
  name: 'recordClaim',
  keys: ['claim'],
  args: ['value', 'record', 'seconds'],
  lua: `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1`,
  reply: (raw) => raw === 1,
});

/** ARGV: the claim. */
export const releaseClaim = luaScript({
  name: 'releaseClaim',
  keys: ['claim'],
  args: ['value'],
  lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
  reply: (raw) => raw === 1,
});
