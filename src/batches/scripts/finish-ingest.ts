import { luaScript } from '../../redis/lua-script';
import { COMPLETION_RULE } from './completion-rule';
import { statusReply } from './script-replies';

/**
 * Marks a batch's input fully read: sets the total, the chunk count and the chunks cut short (how
 * many in the record's `cutChunks`, which they are under `cuts`, to expire with the batch; see
 * chunk-layout.ts; nothing when none was), lists the batch (in the index of every batch, its
 * owner's and its status's, see status-index.ts), and completes it when workers already counted
 * every row.
 * KEYS: batch (hash), active (sorted set of batches not ended), cuts (string).
 * ARGV: total rows, chunks, now (ISO), batch id, index prefix, the cuts ('' for none), how many,
 * the batch retention (s).
 * Returns the status; '' when the batch has no record (Redis lost it while its input was read),
 * changing nothing.
 */
export const finishIngest = luaScript({
  name: 'finishIngest',
  keys: ['batch', 'active', 'cuts'],
  args: ['total', 'chunks', 'now', 'id', 'indexPrefix', 'chunkCuts', 'cutChunks', 'retentionSeconds'],
  lua: `${COMPLETION_RULE}
local batch = KEYS[1]
if not redis.call('HGET', batch, 'status') then return '' end
redis.call('HSET', batch, 'total', ARGV[1], 'chunks', ARGV[2], 'ingested', '1')
if ARGV[6] ~= '' then
  redis.call('SET', KEYS[3], ARGV[6], 'EX', ARGV[8])
  redis.call('HSET', batch, 'cutChunks', ARGV[7])
end
list_batch(batch, ARGV[4], ARGV[5])
return complete_if_done(batch, ARGV[3], KEYS[2], ARGV[4], ARGV[5])
`,
  reply: (raw) => statusReply('finishIngest', raw),
});
