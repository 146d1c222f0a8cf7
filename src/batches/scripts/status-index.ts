/**
 * How a batch's status changes, in one place: every script that changes it calls `set_status`,
 * which also keeps the listing indices right, so `batches(status:)` reads one index page by page
 * instead of scanning every batch. A batch is listed (in the index of every batch, its owner's,
 * and the status ones) once its input is read; the index names follow RedisKeys.batchIndex.
 * ARGV of the calling script must carry the index prefix (`{prefix}batches`) for `index_prefix`.
 */
export const STATUS_INDEX = `
local function index_names(index_prefix, owner, status)
  local names = {index_prefix .. ':status:' .. status}
  if owner then table.insert(names, index_prefix .. ':owner:' .. owner .. ':status:' .. status) end
  return names
end

local function list_batch(batch, id, index_prefix)
  local owner = redis.call('HGET', batch, 'owner')
  local score = redis.call('HGET', batch, 'createdAtMs') or '0'
  local status = redis.call('HGET', batch, 'status')
  redis.call('ZADD', index_prefix, score, id)
  if owner then redis.call('ZADD', index_prefix .. ':owner:' .. owner, score, id) end
  for _, name in ipairs(index_names(index_prefix, owner, status)) do redis.call('ZADD', name, score, id) end
end

local function set_status(batch, id, index_prefix, status)
  local old = redis.call('HGET', batch, 'status')
  if old == status then return end
  redis.call('HSET', batch, 'status', status)
  if redis.call('HGET', batch, 'ingested') ~= '1' then return end
  local owner = redis.call('HGET', batch, 'owner')
  local score = redis.call('HGET', batch, 'createdAtMs') or '0'
  for _, name in ipairs(index_names(index_prefix, owner, old)) do redis.call('ZREM', name, id) end
  for _, name in ipairs(index_names(index_prefix, owner, status)) do redis.call('ZADD', name, score, id) end
end
`;
