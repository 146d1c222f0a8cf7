import { luaScript } from '../../redis/lua-script';

/**
 * Extends an idempotency key's claim while it still holds the claim's value: once the submit has
 * recorded its batch there (kept for the batch retention), or given the key up, a late renewal
 * must change nothing.
 * KEYS: the idempotency key. ARGV: the claim's value, its new lifetime (ms).
 * Returns 1 when renewed, 0 when the key held something else (or nothing).
 */
export const renewClaim = luaScript({
  name: 'renewClaim',
  keys: ['claim'],
  args: ['value', 'ms'],
  lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`,
  reply: (raw) => raw === 1,
});
