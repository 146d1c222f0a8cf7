/**
 * Every change to a batch record is one Lua script, so workers and API processes can never
 * interleave a read-modify-write. Statuses only move forward: QUEUED -> RUNNING -> one final status.
 */

/**
 * Counts a finished chunk exactly once and stores its results.
 * KEYS: 1 batch hash, 2 results hash (one field per chunk).
 * ARGV: 1 chunk number, 2 rows, 3 succeeded, 4 failed, 5 cached, 6 now (ISO), 7 retention seconds,
 *       8 the chunk's results (row-codec.ts).
 * Returns {counted (1 new, 0 already counted, -1 no such batch), status}.
 */
export const RECORD_CHUNK = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, ''} end
-- A chunk run again after a crash finds its results stored and counts nothing.
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[8]) == 0 then return {0, redis.call('HGET', KEYS[1], 'status')} end
local rows = ARGV[2]
redis.call('EXPIRE', KEYS[2], ARGV[7])
redis.call('HINCRBY', KEYS[1], 'processed', rows)
redis.call('HINCRBY', KEYS[1], 'succeeded', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'failed', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'cached', ARGV[5])
if not redis.call('HGET', KEYS[1], 'startedAt') then redis.call('HSET', KEYS[1], 'startedAt', ARGV[6]) end
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'QUEUED' then
  status = 'RUNNING'
  redis.call('HSET', KEYS[1], 'status', status)
end
if status == 'RUNNING' and redis.call('HGET', KEYS[1], 'ingested') == '1'
  and tonumber(redis.call('HGET', KEYS[1], 'processed')) >= tonumber(redis.call('HGET', KEYS[1], 'total')) then
  status = 'COMPLETED'
  redis.call('HSET', KEYS[1], 'status', status, 'finishedAt', ARGV[6])
end
return {1, status}
`;

/**
 * Marks the input fully read: sets the total and the chunk count, and completes the batch when
 * workers already finished every row.
 * KEYS: 1 batch hash, 2 batch index (sorted set).
 * ARGV: 1 total rows, 2 chunks, 3 now (ISO), 4 batch id, 5 created-at score (ms).
 * Returns the status.
 */
export const FINISH_INGEST = `
redis.call('HSET', KEYS[1], 'total', ARGV[1], 'chunks', ARGV[2], 'ingested', '1')
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'RUNNING' and tonumber(redis.call('HGET', KEYS[1], 'processed')) >= tonumber(ARGV[1]) then
  status = 'COMPLETED'
  redis.call('HSET', KEYS[1], 'status', status, 'finishedAt', ARGV[3])
end
return status
`;

/**
 * Ends a batch that has not ended yet with a final status (CANCELLED or FAILED) and a reason.
 * KEYS: 1 batch hash. ARGV: 1 status, 2 now (ISO), 3 reason ('' for none).
 * Returns the status after the call ('' when there is no such batch).
 */
export const END_BATCH = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return '' end
if status == 'QUEUED' or status == 'RUNNING' then
  status = ARGV[1]
  redis.call('HSET', KEYS[1], 'status', status, 'finishedAt', ARGV[2])
  if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[3]) end
end
return status
`;
