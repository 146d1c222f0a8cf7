import { luaScript } from '../../redis/lua-script';
import { statusReply } from './script-replies';
import { STATUS_INDEX } from './status-index';

/**
 * Ends a batch that has not ended yet with a final status (CANCELLED or FAILED) and a reason; a
 * batch that already ended keeps its status.
 * KEYS: batch (hash), active (sorted set of batches not ended).
 * ARGV: status, now (ISO), reason ('' for none), batch id, index prefix (see status-index.ts).
 * Returns the status after the call ('' when there is no such batch).
 */
export const endBatch = luaScript({
  name: 'endBatch',
  keys: ['batch', 'active'],
  args: ['status', 'now', 'reason', 'id', 'indexPrefix'],
  lua: `${STATUS_INDEX}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return '' end
if status == 'QUEUED' or status == 'RUNNING' then
  status = ARGV[1]
  set_status(KEYS[1], ARGV[4], ARGV[5], status)
  redis.call('HSET', KEYS[1], 'finishedAt', ARGV[2])
  if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[3]) end
  redis.call('ZREM', KEYS[2], ARGV[4])
end
return status
`,
  reply: (raw) => statusReply('endBatch', raw),
});
