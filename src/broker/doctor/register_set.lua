-- register_set: registers an aggregation set missing from `aggregation_sets` (doctor --fix).
-- Not an asynq operation. With a deadline of now, the next reclaim (wire-format §4.22) moves its tasks
-- back into their group.
--
-- KEYS[1] -> asynq:{<q>}:aggregation_sets
-- KEYS[2] -> asynq:{<q>}:g:<group>:<set>
--
-- ARGV[1] -> the deadline score, unix seconds
--
-- Returns:
--   1  registered
--   0  skipped: the set is gone, or already registered
if redis.call("EXISTS", KEYS[2]) == 0 or redis.call("ZSCORE", KEYS[1], KEYS[2]) then
  return 0
end
redis.call("ZADD", KEYS[1], ARGV[1], KEYS[2])
return 1
