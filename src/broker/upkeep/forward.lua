-- forward: moves due scheduled or retry tasks to pending, or back into their group (wire-format §4.16).
-- The caller reads the candidates first (ZRANGEBYSCORE src -inf now LIMIT 0 100, oldest first, then
-- HGET group of each), because the group key depends on a hash field and a script may only touch
-- keys passed in KEYS. Each candidate is re-verified here: it must still be in src with a score <= now
-- and its `group` field must still be what the caller read; the script stops at the first candidate
-- that fails this, so tasks are pushed in score order and nothing is moved on stale information.
-- Unlike asynq, routing into a group also SADDs the group name to the groups set (wire-format §9.2), and an ID
-- in src with no task hash is dropped from src instead of getting a state-only hash.
--
-- KEYS[1] -> asynq:{<q>}:scheduled or asynq:{<q>}:retry (the source zset)
-- KEYS[2] -> asynq:{<q>}:pending
-- KEYS[3] -> asynq:{<q>}:groups
-- KEYS[4...] -> for each candidate i = 1..n in order: asynq:{<q>}:t:<id i>, followed by
--               asynq:{<q>}:g:<group i> only when the caller read a non-empty group for candidate i
--
-- ARGV[1] -> now, unix seconds (a candidate is due when its score is <= this)
-- ARGV[2] -> now, unix nanoseconds (the new pending_since)
-- ARGV[1+2i] -> task ID of candidate i = 1..n
-- ARGV[2+2i] -> the `group` field of candidate i as the caller read it ("" when absent or empty)
--
-- Returns:
--   { moved, dangling } where moved is the number of tasks moved (to pending or to their group) and
--   dangling lists the IDs removed from src because their task hash did not exist. Candidates from the
--   first one that was no longer due, no longer in src or whose group changed are left alone.
local now = tonumber(ARGV[1])
local moved = 0
local dangling = {}
local k = 4
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  local group = ARGV[i + 1]
  local task_key = KEYS[k]
  local group_key = nil
  k = k + 1
  if group ~= "" then
    group_key = KEYS[k]
    k = k + 1
  end
  local score = redis.call("ZSCORE", KEYS[1], id)
  if not score or tonumber(score) > now then
    break
  end
  if redis.call("EXISTS", task_key) == 0 then
    redis.call("ZREM", KEYS[1], id)
    dangling[#dangling + 1] = id
  else
    if (redis.call("HGET", task_key, "group") or "") ~= group then
      break
    end
    if group_key then
      redis.call("ZADD", group_key, ARGV[1], id)
      redis.call("SADD", KEYS[3], group)
      redis.call("ZREM", KEYS[1], id)
      redis.call("HSET", task_key, "state", "aggregating")
    else
      redis.call("LPUSH", KEYS[2], id)
      redis.call("ZREM", KEYS[1], id)
      redis.call("HSET", task_key, "state", "pending", "pending_since", ARGV[2])
    end
    moved = moved + 1
  end
end
return { moved, dangling }
