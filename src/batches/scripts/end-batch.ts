import { luaScript } from '../../redis/lua-script';
import type { BatchStatus } from '../batch-status';
import { statusReply } from './script-replies';
import { SCHEDULE_RINGS } from './schedule-chunks';
import { STATUS_INDEX } from './status-index';

/** What ending a batch did. */
export interface EndedBatch {
  /** The status afterwards; null when there is no such batch. */
  status: BatchStatus | null;
  /** True when this call ended it (false: it had ended already, or does not exist). */
  ended: boolean;
}

/**
 * Ends a batch that has not ended yet with a final status (CANCELLED or FAILED) and a reason; a
 * batch that already ended keeps its status.
 * Its chunks not handed out yet leave the chunk schedule at once, their stored input with them
 * (see schedule-chunks.ts); chunks already in the queue find it ended and are skipped, which
 * drops theirs.
 * KEYS: batch (hash), active (sorted set of batches not ended).
 * ARGV: status, now (ISO), reason ('' for none), batch id, index prefix (see status-index.ts),
 * schedule prefix (see schedule-chunks.ts), the batch's chunk key prefix (RedisKeys.batchChunkPrefix).
 * Returns {status after the call ('' when there is no such batch), 1 when this call ended it}.
 */
export const endBatch = luaScript({
  name: 'endBatch',
  keys: ['batch', 'active'],
  args: ['status', 'now', 'reason', 'id', 'indexPrefix', 'schedulePrefix', 'chunkPrefix'],
  lua: `${STATUS_INDEX}${SCHEDULE_RINGS}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'', 0} end
if status ~= 'QUEUED' and status ~= 'RUNNING' then return {status, 0} end
do
  status = ARGV[1]
  set_status(KEYS[1], ARGV[4], ARGV[5], status)
  redis.call('HSET', KEYS[1], 'finishedAt', ARGV[2])
  if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[3]) end
  redis.call('ZREM', KEYS[2], ARGV[4])
  unschedule(ARGV[6], ARGV[4], ARGV[7])
end
return {status, 1}
`,
  reply(raw): EndedBatch {
    const [status, ended] = raw as [string, number];
    return { status: statusReply('endBatch', status), ended: ended === 1 };
  },
});
