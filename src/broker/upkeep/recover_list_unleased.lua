-- recover_list_unleased: lists the IDs in one chunk of a queue's active list that hold no lease (read-only).
-- Not an asynq operation (asynq's recoverer never sees such tasks, asynq#1144). The chunk and its
-- lease scores are read in one atomic step: read in two round trips, a task that finished between
-- them (it left active and lease together) would look lease-less, and be reported as such.
--
-- KEYS[1] -> asynq:{<q>}:active
-- KEYS[2] -> asynq:{<q>}:lease
--
-- ARGV[1] -> index of the chunk's first element in the active list (0-based)
-- ARGV[2] -> the chunk's size
--
-- Returns:
--   { n, id1, id2, ... }: n, how many IDs the chunk held (fewer than its size: the list ended), then
--   the IDs of the chunk that have no lease score, in list order
local first = tonumber(ARGV[1])
local ids = redis.call("LRANGE", KEYS[1], first, first + tonumber(ARGV[2]) - 1)
local out = { #ids }
for _, id in ipairs(ids) do
  if redis.call("ZSCORE", KEYS[2], id) == false then
    out[#out + 1] = id
  end
end
return out
