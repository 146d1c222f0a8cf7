import { luaScript } from '../../redis/lua-script';

/**
 * A sign of life of an upload still being read: its record's `aliveAt`, and its place among the
 * active batches, only while the record exists. An HSET of its own would make a record of that one
 * field, with no expiry, for a batch already taken back or one Redis lost (a restart while the
 * upload ran): a key kept for ever that nothing lists or sweeps.
 * KEYS: batch (hash), active (sorted set of batches not ended). ARGV: now (ms), batch id.
 * Returns 1 when the record was there, else 0.
 */
export const uploadAlive = luaScript({
  name: 'uploadAlive',
  keys: ['batch', 'active'],
  args: ['now', 'id'],
  lua: `if redis.call('HEXISTS', KEYS[1], 'status') == 0 then return 0 end
redis.call('HSET', KEYS[1], 'aliveAt', ARGV[1])
redis.call('ZADD', KEYS[2], 'XX', ARGV[1], ARGV[2])
return 1`,
  reply: (raw) => raw === 1,
});
