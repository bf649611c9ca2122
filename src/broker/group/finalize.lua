-- finalize: writes the aggregated task of an aggregation set and marks the set finished, in one step
-- (wire-format §5.12; asynq enqueues the task, then runs DeleteAggregationSet, §4.21, as two calls).
-- The set must still be registered with the deadline it was created with: a set reclaimed meanwhile
-- (§4.22) or already finished is left alone, so a set's members are aggregated once. A finished set's
-- score in `aggregation_sets` is +inf, which no reclaim (Go's or ours) ever reaches; its members are
-- then deleted page by page (delete_members) and the set unregistered with the last page.
--
-- KEYS[1] -> asynq:{<q>}:g:<g>:<set>
-- KEYS[2] -> asynq:{<q>}:aggregation_sets
-- KEYS[3] -> asynq:{<q2>}:t:<id>, the aggregated task's hash (q2: its queue, q unless the aggregator chose another)
-- KEYS[4] -> asynq:{<q2>}:pending
--
-- ARGV[1] -> the set's deadline as created, unix seconds
-- ARGV[2] -> the aggregated task's encoded TaskMessage
-- ARGV[3] -> the aggregated task's ID
-- ARGV[4] -> now, unix nanoseconds (pending_since)
--
-- Returns:
--   1  written: the task is pending and the set finished
--   0  a task hash with this ID exists already; nothing written
--  -1  the set is no longer this aggregation's (reclaimed, finished or gone); nothing written
local score = redis.call("ZSCORE", KEYS[2], KEYS[1])
if not score or tonumber(score) ~= tonumber(ARGV[1]) or redis.call("EXISTS", KEYS[1]) == 0 then
  return -1
end
if redis.call("EXISTS", KEYS[3]) == 1 then
  return 0
end
redis.call("HSET", KEYS[3], "msg", ARGV[2], "state", "pending", "pending_since", ARGV[4])
redis.call("LPUSH", KEYS[4], ARGV[3])
redis.call("ZADD", KEYS[2], "XX", "+inf", KEYS[1])
return 1
