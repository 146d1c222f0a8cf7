import { luaScript } from '../../redis/lua-script';
import type { BatchStatus } from '../batch-status';
import { COMPLETION_RULE } from './completion-rule';
import { statusReply } from './script-replies';

/** What recording a chunk did. */
export interface RecordedChunk {
  /**
   * 'counted' the first time; 'already-counted' for a chunk run again; 'batch-ended' when the batch
   * was cancelled or failed meanwhile (nothing is counted: its counts stay as they were when it
   * ended); 'no-batch' when the record is gone.
   */
  outcome: 'counted' | 'already-counted' | 'batch-ended' | 'no-batch';
  /** The batch's status afterwards (null when there is no batch). */
  status: BatchStatus | null;
  /** True when this chunk was the batch's first counted (it moved QUEUED -> RUNNING). */
  started: boolean;
}

const OUTCOMES = { '1': 'counted', '0': 'already-counted', '2': 'batch-ended', '-1': 'no-batch' } as const;

/**
 * Counts a finished chunk exactly once, stores its results (the worker's encodeChunkOutput, see
 * row-codec.ts) and renames its input to its recorded input, for downloads that echo each row's id
 * and text. The input is renamed, not read: a script that reads a large value into Lua, or joins
 * two, costs Redis far more than one that is handed a value (see docs/performance.md).
 * KEYS: batch (hash), results (hash, one field per chunk), input (the chunk's input rows), active
 *       (sorted set of batches not ended, by last sign of life), recorded input (the name the
 *       input takes).
 * ARGV: chunk number, rows, succeeded, failed, cached, now (ISO), retention seconds, the chunk's
 *       results (row-codec.ts's encodeChunkOutput), its rows per predicted label (a JSON object,
 *       label -> count), the batch id, now (ms), the index prefix (see status-index.ts).
 * Returns {1 counted | 0 already counted | 2 batch ended | -1 no such batch, status, 1 when this
 * chunk started the batch}; an error when the chunk is neither recorded nor has its input (it
 * cannot be: the input goes only with the recording or with the whole batch).
 *
 * The record keeps `contiguousChunks`: how many chunks from the first are all recorded. Progress
 * relays read rows in input order up to there, without probing the results for gaps; it moves
 * past each chunk once, so keeping it costs O(1) per chunk over a batch.
 */
export const recordChunk = luaScript({
  name: 'recordChunk',
  keys: ['batch', 'results', 'input', 'active', 'recordedInput'],
  args: ['chunk', 'rows', 'succeeded', 'failed', 'cached', 'now', 'retentionSeconds', 'output', 'labelCounts', 'id', 'nowMs', 'indexPrefix'],
  lua: `${COMPLETION_RULE}
local batch, results = KEYS[1], KEYS[2]
local status = redis.call('HGET', batch, 'status')
if not status then return {-1, ''} end
-- A batch that ended (cancelled, failed) keeps the counts it ended with: a chunk still in flight
-- then adds nothing, so the last progress event's counts are the batch's final counts.
if status == 'CANCELLED' or status == 'FAILED' then
  redis.call('DEL', KEYS[3])
  return {2, status}
end
-- A chunk run again after a crash finds its results stored and counts nothing.
if redis.call('HEXISTS', results, ARGV[1]) == 1 then return {0, status} end
if redis.call('EXISTS', KEYS[3]) == 0 then return redis.error_reply('chunk ' .. ARGV[1] .. ' of batch ' .. ARGV[10] .. ' has no input to record its results with') end
redis.call('HSET', results, ARGV[1], ARGV[8])
redis.call('RENAME', KEYS[3], KEYS[5])
redis.call('EXPIRE', KEYS[5], ARGV[7])
redis.call('EXPIRE', results, ARGV[7])
redis.call('HINCRBY', batch, 'processed', ARGV[2])
redis.call('HINCRBY', batch, 'succeeded', ARGV[3])
redis.call('HINCRBY', batch, 'failed', ARGV[4])
redis.call('HINCRBY', batch, 'cached', ARGV[5])
-- Rows per label, counted with the rows (so exactly once), as fields 'label:<name>' of the record.
for label, count in pairs(cjson.decode(ARGV[9])) do redis.call('HINCRBY', batch, 'label:' .. label, count) end
local contiguous = tonumber(redis.call('HGET', batch, 'contiguousChunks') or '0')
if tonumber(ARGV[1]) == contiguous then
  repeat contiguous = contiguous + 1 until redis.call('HEXISTS', results, tostring(contiguous)) == 0
  redis.call('HSET', batch, 'contiguousChunks', contiguous)
end
if not redis.call('HGET', batch, 'startedAt') then redis.call('HSET', batch, 'startedAt', ARGV[6]) end
local started = 0
if status == 'QUEUED' then
  set_status(batch, ARGV[10], ARGV[12], 'RUNNING')
  started = 1
end
-- A sign of life for the sweeper (XX: a batch that left the index stays out).
redis.call('ZADD', KEYS[4], 'XX', ARGV[11], ARGV[10])
return {1, complete_if_done(batch, ARGV[6], KEYS[4], ARGV[10], ARGV[12]), started}
`,
  reply(raw): RecordedChunk {
    const [counted, status, started] = raw as [number, string, number | undefined];
    return { outcome: OUTCOMES[String(counted) as keyof typeof OUTCOMES], status: statusReply('recordChunk', status), started: started === 1 };
  },
});
