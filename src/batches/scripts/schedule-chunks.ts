import { luaScript } from '../../redis/lua-script';

/**
 * The schedule's key names and how a batch leaves it, for every script that changes it (these
 * below, and end-batch.ts): P is the schedule prefix (RedisKeys.schedulePrefix).
 */
export const SCHEDULE_RINGS = `
local function owner_ring(P, priority) return P .. 'level:' .. priority end
local function batch_ring(P, priority, owner) return P .. 'owner:' .. priority .. ':' .. owner end
local function scheduled_batch(P, id) return P .. 'batch:' .. id end
-- The member of a ring served last (see join). It outlives the member's leaving: a batch that has
-- handed out every chunk stored so far leaves its ring, and comes back as the next are stored,
-- still the one served last. It expires an hour after the ring's last serve.
local function served_key(ring) return ring .. ':served' end

local function leave(ring, member)
  redis.call('LREM', ring, 0, member)
end

-- Takes a batch out of its owner's ring, and the owner out of its priority's with its last batch.
local function leave_rings(P, priority, owner, id)
  local batches = batch_ring(P, priority, owner)
  leave(batches, id)
  if redis.call('EXISTS', batches) == 0 then leave(owner_ring(P, priority), owner) end
end

-- A batch that ended or was discarded: out of the schedule at once, whatever it had left. With
-- chunk_prefix (RedisKeys.batchChunkPrefix), the input of the chunks it had stored but
-- not handed out is deleted too: no worker will meet them to drop it.
local function unschedule(P, id, chunk_prefix)
  local key = scheduled_batch(P, id)
  local f = redis.call('HMGET', key, 'priority', 'owner', 'next', 'ready')
  if f[1] and f[2] then leave_rings(P, f[1], f[2], id) end
  local first, ready = tonumber(f[3]), tonumber(f[4])
  if chunk_prefix and first and ready then
    local inputs = {}
    for chunk = first, ready - 1 do
      table.insert(inputs, chunk_prefix .. chunk)
      if #inputs == 1000 then
        redis.call('DEL', unpack(inputs))
        inputs = {}
      end
    end
    if #inputs > 0 then redis.call('DEL', unpack(inputs)) end
  end
  redis.call('DEL', key)
end
`;

/**
 * The scheduling rule, in one place: which chunk goes to the workers next. bee-queue holds only a
 * small window of waiting chunk jobs; the rest wait here, in rings, and this picks who fills the
 * window:
 * - priority first: HIGH, then NORMAL, then LOW; but every LOW_SHARE-th turn asks LOW first, so a
 *   LOW batch is never starved for good, however much other work keeps arriving;
 * - within a priority, the owners (API keys) in turn, round robin;
 * - within an owner, its batches in turn, round robin; within a batch, its chunks in order.
 * A batch is in its owner's ring while it has chunks stored but not handed out; an owner is in its
 * priority's ring while it has such a batch. A ring is served from its tail: RPOPLPUSH serves the
 * tail and moves it to the head, the back of the line, and the ring remembers it as served last.
 * A newcomer joins behind every member waiting now, but before the one just served comes round
 * again (a small batch behind one big one goes next, not after the big one's next turn).
 *
 * Keys (under ARGV[1], the schedule prefix): `level:<priority>` (ring of owners),
 * `owner:<priority>:<owner>` (ring of that owner's batch ids), `<ring>:served` (the member of a
 * ring served last, for an hour), `batch:<id>` (hash: priority,
 * owner, trace, next = the next chunk to hand out, ready = chunks stored so far, listed = 1 while
 * in its ring, inputEnded), `turns` (counter of chunks handed out, for the LOW share).
 * A batch that ends (cancelled, failed) or is discarded leaves its rings and loses its hash at
 * once (`unschedule`, called by end-batch.ts and `dropScheduled`): it hands out nothing more.
 * A chunk handed out becomes a bee-queue job exactly as `enqueueChunk` makes one (id
 * `<batch>:<chunk>`, the same JSON, pushed on the waiting list), so bee-queue's retries, stall
 * recovery and the sweeper treat it as before.
 *
 * ARGV of every script below starts with: schedule prefix, bee-queue jobs key, bee-queue waiting
 * key, window (waiting jobs to keep), now (ms), retries, LOW share.
 */
const DISPATCH = `${SCHEDULE_RINGS}
local P, JOBS, WAITING = ARGV[1], ARGV[2], ARGV[3]
local WINDOW, NOW, RETRIES, LOW_SHARE = tonumber(ARGV[4]), ARGV[5], ARGV[6], tonumber(ARGV[7])
local MOST_URGENT_FIRST = {'HIGH', 'NORMAL', 'LOW'}
local LOW_FIRST = {'LOW', 'HIGH', 'NORMAL'}

-- Takes a batch with nothing to hand out now out of its rings. One whose input has ended has
-- nothing more to come: its entry goes too.
local function unlist(priority, owner, id)
  leave_rings(P, priority, owner, id)
  local key = scheduled_batch(P, id)
  if redis.call('HGET', key, 'inputEnded') == '1' then
    redis.call('DEL', key)
  elseif redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'listed', '0')
  end
end

-- Adds a newcomer to a ring, behind every member waiting: just behind the head when the head is
-- the member served last (it waits for a whole round again), else at the head.
local function join(ring, member)
  local head = redis.call('LINDEX', ring, 0)
  if head and head == redis.call('GET', served_key(ring)) then
    redis.call('LINSERT', ring, 'AFTER', head, member)
  else
    redis.call('LPUSH', ring, member)
  end
end

-- Serves a ring: its tail, moved to the head and marked as served last; nil when it is empty.
local function serve(ring)
  local member = redis.call('RPOPLPUSH', ring, ring)
  if member then redis.call('SET', served_key(ring), member, 'EX', 3600) end
  return member
end

-- Puts a batch with chunks to hand out in its owner's ring (and a new owner in its priority's).
local function list(id)
  local key = scheduled_batch(P, id)
  local f = redis.call('HMGET', key, 'priority', 'owner', 'listed', 'next', 'ready')
  if not f[1] or f[3] == '1' or tonumber(f[4]) >= tonumber(f[5]) then return end
  redis.call('HSET', key, 'listed', '1')
  local batches = batch_ring(P, f[1], f[2])
  if redis.call('LLEN', batches) == 0 then join(owner_ring(P, f[1]), f[2]) end
  join(batches, id)
end

-- The next chunk of one priority: {batch id, chunk, trace JSON}, or nil when it has none.
local function take(priority)
  local owners = owner_ring(P, priority)
  while true do
    local owner = serve(owners)
    if not owner then return nil end
    local batches = batch_ring(P, priority, owner)
    local id = serve(batches)
    if not id then
      leave(owners, owner)
    else
      local key = scheduled_batch(P, id)
      local f = redis.call('HMGET', key, 'next', 'ready', 'trace')
      local chunk, ready = tonumber(f[1]), tonumber(f[2])
      if chunk and ready and chunk < ready then
        redis.call('HSET', key, 'next', chunk + 1)
        if chunk + 1 >= ready then unlist(priority, owner, id) end
        return {id, chunk, f[3] or ''}
      end
      -- Nothing stored yet past what it handed out (or its entry is gone): out of the ring, and look again.
      unlist(priority, owner, id)
    end
  end
end

-- Fills bee-queue's waiting list up to WINDOW jobs; returns the job ids handed out, in order.
local function dispatch()
  local handed = {}
  local room = WINDOW - redis.call('LLEN', WAITING)
  while room > 0 do
    local turn = redis.call('INCR', P .. 'turns')
    local order = (turn % LOW_SHARE == 0) and LOW_FIRST or MOST_URGENT_FIRST
    local picked = nil
    for _, priority in ipairs(order) do
      picked = take(priority)
      if picked then break end
    end
    if not picked then
      redis.call('DECR', P .. 'turns')
      break
    end
    local job = picked[1] .. ':' .. picked[2]
    -- A job with this id still there (a sweeper's requeue) is left as it is, as enqueueChunk would.
    if redis.call('HEXISTS', JOBS, job) == 0 then
      local trace = picked[3] ~= '' and (',"trace":' .. picked[3]) or ''
      local data = '{"batchId":' .. cjson.encode(picked[1]) .. ',"chunk":' .. picked[2] .. trace .. '}'
      redis.call('HSET', JOBS, job, '{"data":' .. data .. ',"options":{"timestamp":' .. NOW .. ',"stacktraces":[],"retries":' .. RETRIES .. '},"status":"created","progress":0}')
      redis.call('LPUSH', WAITING, job)
      room = room - 1
    end
    table.insert(handed, job)
  end
  return handed
end
`;

/** The arguments every scheduling script starts with. */
export const DISPATCH_ARGS = ['schedulePrefix', 'jobsKey', 'waitingKey', 'window', 'now', 'retries', 'lowShare'] as const;

function jobIds(name: string) {
  return (raw: unknown): string[] => {
    if (!Array.isArray(raw)) throw new Error(`${name}: expected a list of job ids, got ${JSON.stringify(raw)}`);
    return raw.map(String);
  };
}

/** Fills the window; returns the job ids handed out. */
export const dispatchChunks = luaScript({
  name: 'dispatchChunks',
  keys: [],
  args: DISPATCH_ARGS,
  lua: `${DISPATCH}
return dispatch()
`,
  reply: jobIds('dispatchChunks'),
});

/**
 * Says a batch has `ready` chunks stored (0 to ready - 1), lists it when it has some to hand out,
 * then fills the window. A batch with no schedule hash (ended, or never opened) is left out.
 */
export const chunksReady = luaScript({
  name: 'chunksReady',
  keys: [],
  args: [...DISPATCH_ARGS, 'id', 'ready'],
  lua: `${DISPATCH}
local key = scheduled_batch(P, ARGV[8])
if redis.call('EXISTS', key) == 1 then
  redis.call('HSET', key, 'ready', ARGV[9])
  list(ARGV[8])
end
return dispatch()
`,
  reply: jobIds('chunksReady'),
});

/**
 * Says a batch's input has ended: its hash goes once its last chunk is handed out (now, when it
 * is out of its ring already).
 */
export const inputEnded = luaScript({
  name: 'inputEnded',
  keys: ['batch'],
  args: [],
  lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'listed') == '1' then
  redis.call('HSET', KEYS[1], 'inputEnded', '1')
else
  redis.call('DEL', KEYS[1])
end
return 1
`,
  reply: (raw) => Number(raw) === 1,
});

/** Takes a batch out of the schedule at once (a failed upload's, see BatchStore.discard). */
export const dropScheduled = luaScript({
  name: 'dropScheduled',
  keys: [],
  args: ['schedulePrefix', 'id'],
  lua: `${SCHEDULE_RINGS}
unschedule(ARGV[1], ARGV[2])
return 1
`,
  reply: () => undefined,
});

/**
 * Chunks stored but not handed out yet, by priority {HIGH, NORMAL, LOW}: what waits in the
 * schedule (for sift_schedule_chunks). Reads every listed batch's entry: bounded by the batches
 * running, not by their rows.
 */
export const waitingChunks = luaScript({
  name: 'waitingChunks',
  keys: [],
  args: ['schedulePrefix'],
  lua: `${SCHEDULE_RINGS}
local P = ARGV[1]
local counts = {}
for i, priority in ipairs({'HIGH', 'NORMAL', 'LOW'}) do
  local total = 0
  for _, owner in ipairs(redis.call('LRANGE', owner_ring(P, priority), 0, -1)) do
    for _, id in ipairs(redis.call('LRANGE', batch_ring(P, priority, owner), 0, -1)) do
      local f = redis.call('HMGET', scheduled_batch(P, id), 'next', 'ready')
      local handed, ready = tonumber(f[1]), tonumber(f[2])
      if handed and ready and ready > handed then total = total + ready - handed end
    end
  end
  counts[i] = total
end
return counts
`,
  reply(raw): Record<'HIGH' | 'NORMAL' | 'LOW', number> {
    if (!Array.isArray(raw) || raw.length !== 3) throw new Error(`waitingChunks: expected three counts, got ${JSON.stringify(raw)}`);
    const [high, normal, low] = raw.map(Number);
    return { HIGH: high, NORMAL: normal, LOW: low };
  },
});
