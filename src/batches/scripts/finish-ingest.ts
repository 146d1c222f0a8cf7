import { luaScript } from '../../redis/lua-script';
import { COMPLETION_RULE } from './completion-rule';
import { statusReply } from './script-replies';

/**
 * Marks a batch's input fully read: sets the total and the chunk count, lists the batch, and
 * completes it when workers already counted every row.
 * KEYS: batch (hash), index (sorted set of batches by creation time), active (sorted set of batches not ended).
 * ARGV: total rows, chunks, now (ISO), batch id, created-at score (ms).
 * Returns the status.
 */
export const finishIngest = luaScript({
  name: 'finishIngest',
  keys: ['batch', 'index', 'active'],
  args: ['total', 'chunks', 'now', 'id', 'createdAtMs'],
  lua: `${COMPLETION_RULE}
local batch = KEYS[1]
redis.call('HSET', batch, 'total', ARGV[1], 'chunks', ARGV[2], 'ingested', '1')
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
return complete_if_done(batch, ARGV[3], KEYS[3], ARGV[4])
`,
  reply: (raw) => statusReply('finishIngest', raw),
});
