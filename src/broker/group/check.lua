-- check: the aggregation check of one group (wire-format §4.19, asynq's AggregationCheck): moves the
-- oldest members of the group into a new aggregation set when the group reached its maximum size, its
-- oldest member waited the maximum delay, or no member arrived during the grace period. The set keeps
-- the members' scores and is registered in `aggregation_sets` with its deadline; the group name leaves
-- `groups` when the move empties the group (by the size rule only when the group held exactly max size).
--
-- KEYS[1] -> asynq:{<q>}:g:<g>
-- KEYS[2] -> asynq:{<q>}:g:<g>:<set> (the new set; <set> is a fresh UUID v4)
-- KEYS[3] -> asynq:{<q>}:aggregation_sets
-- KEYS[4] -> asynq:{<q>}:groups
--
-- ARGV[1] -> max size, an integer (0 = no maximum)
-- ARGV[2] -> max delay, whole seconds (0 = no maximum)
-- ARGV[3] -> grace period, whole seconds
-- ARGV[4] -> the set's deadline, unix seconds (check time + 120)
-- ARGV[5] -> the check time, unix seconds
-- ARGV[6] -> <g>, the group name
--
-- Returns:
--   1  a set was created at KEYS[2]
--   0  nothing to aggregate yet, or the group is empty
local size = redis.call("ZCARD", KEYS[1])
if size == 0 then
  return 0
end
local max_size = tonumber(ARGV[1])
local max_delay = tonumber(ARGV[2])
local grace = tonumber(ARGV[3])
local now = tonumber(ARGV[5])

-- Moves the `count` oldest members (0: all) with their scores, and registers the set.
local function move(count, unregister)
  local stop = -1
  if count > 0 then
    stop = count - 1
  end
  redis.call("ZRANGESTORE", KEYS[2], KEYS[1], 0, stop)
  redis.call("ZREMRANGEBYRANK", KEYS[1], 0, stop)
  redis.call("ZADD", KEYS[3], ARGV[4], KEYS[2])
  if unregister then
    redis.call("SREM", KEYS[4], ARGV[6])
  end
  return 1
end

if max_size ~= 0 and size >= max_size then
  return move(max_size, size == max_size)
end
local whole = max_size == 0 or size <= max_size
if max_delay ~= 0 then
  local oldest = redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")
  if tonumber(oldest[2]) <= now - max_delay then
    return move(max_size, whole)
  end
end
local newest = redis.call("ZRANGE", KEYS[1], -1, -1, "WITHSCORES")
if tonumber(newest[2]) <= now - grace then
  return move(max_size, whole)
end
return 0
