-- queue_sizes: the number of tasks in each state of a queue (a subset of wire-format §4.28.1).
--
-- KEYS[1] -> asynq:{<q>}:pending
-- KEYS[2] -> asynq:{<q>}:active
-- KEYS[3] -> asynq:{<q>}:scheduled
-- KEYS[4] -> asynq:{<q>}:retry
-- KEYS[5] -> asynq:{<q>}:archived
-- KEYS[6] -> asynq:{<q>}:completed
-- KEYS[7] -> asynq:{<q>}:paused
-- KEYS[8...] -> asynq:{<q>}:g:<group>, one per member of asynq:{<q>}:groups (read by the caller)
--
-- Returns:
--   { pending, active, scheduled, retry, archived, completed, paused (0|1), aggregating }
local aggregating = 0
for i = 8, #KEYS do
  aggregating = aggregating + redis.call("ZCARD", KEYS[i])
end
return {
  redis.call("LLEN", KEYS[1]),
  redis.call("LLEN", KEYS[2]),
  redis.call("ZCARD", KEYS[3]),
  redis.call("ZCARD", KEYS[4]),
  redis.call("ZCARD", KEYS[5]),
  redis.call("ZCARD", KEYS[6]),
  redis.call("EXISTS", KEYS[7]),
  aggregating,
}
