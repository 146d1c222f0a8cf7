import { STATUS_INDEX } from './status-index';

/**
 * The rule that ends a batch COMPLETED, in one place: both scripts that can make a batch complete
 * (a chunk counted, the input fully read) include it, so it can never be written two ways.
 * A running batch completes once its input is fully read and every one of its rows is counted;
 * it then leaves the index of active batches. Returns the status the batch has afterwards.
 */
export const COMPLETION_RULE = `${STATUS_INDEX}
local function complete_if_done(batch, now, active, id, index_prefix)
  local status = redis.call('HGET', batch, 'status')
  if status == 'RUNNING' and redis.call('HGET', batch, 'ingested') == '1'
    and tonumber(redis.call('HGET', batch, 'processed')) >= tonumber(redis.call('HGET', batch, 'total')) then
    set_status(batch, id, index_prefix, 'COMPLETED')
    redis.call('HSET', batch, 'finishedAt', now)
    redis.call('ZREM', active, id)
    return 'COMPLETED'
  end
  return status
end
`;
