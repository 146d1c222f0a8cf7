import { variadicLuaScript } from '../../redis/lua-script';

/**
 * The recorded outcomes of chunks without their input's ids and texts, the bulk of their bytes:
 * what a download that echoes neither needs (`sift batch` merges them into the file it holds).
 * Cut off in Redis, they are neither sent to the API nor read there: four fifths of a typical
 * chunk's bytes.
 * KEYS: the batch's results hash. ARGV: chunk numbers.
 * Returns, per chunk in ARGV's order: nil when it is not recorded; for one stored with its input
 * (row-codec.ts's joinChunkResults), {its first row's index, its outcomes}; for one stored before
 * outcomes were joined to the input, {the value as stored}. The first `},"output":` of a joined
 * value ends the input: a quote inside the input's strings is escaped. Its `}` is rare in the
 * input, so the search skips through it (memchr) rather than stopping at every comma.
 */
export const chunkOutcomes = variadicLuaScript(`local found = {}
for i = 1, #ARGV do
  local value = redis.call('HGET', KEYS[1], ARGV[i])
  if value then
    local first = string.match(value, '^{"input":{"first":(%d+),')
    local at = first and string.find(value, '},"output":', 1, true)
    if at then found[i] = {first, string.sub(value, at + 11, -2)} else found[i] = {value} end
  else
    found[i] = false
  end
end
return found`);
