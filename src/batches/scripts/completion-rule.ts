/**
 * The rule that ends a batch COMPLETED, in one place: both scripts that can make a batch complete
 * (a chunk counted, the input fully read) include it, so it can never be written two ways.
 * A running batch completes once its input is fully read and every one of its rows is counted.
 * Returns the status the batch has afterwards.
 */
export const COMPLETION_RULE = `
local function complete_if_done(batch, now)
  local status = redis.call('HGET', batch, 'status')
  if status == 'RUNNING' and redis.call('HGET', batch, 'ingested') == '1'
    and tonumber(redis.call('HGET', batch, 'processed')) >= tonumber(redis.call('HGET', batch, 'total')) then
    redis.call('HSET', batch, 'status', 'COMPLETED', 'finishedAt', now)
    return 'COMPLETED'
  end
  return status
end
`;
