-- schedule: adds a task to be processed at a future time (wire-format §4.4).
-- No `group` field is written even when the message has a group (asynq does the same, wire-format §9.1).
--
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- KEYS[2] -> asynq:{<q>}:scheduled
--
-- ARGV[1] -> encoded TaskMessage
-- ARGV[2] -> process-at, unix seconds (the zset score)
-- ARGV[3] -> task ID
--
-- Returns:
--   1  scheduled
--   0  a task hash with this ID exists already; nothing written
if redis.call("EXISTS", KEYS[1]) == 1 then
  return 0
end
redis.call("HSET", KEYS[1], "msg", ARGV[1], "state", "scheduled")
redis.call("ZADD", KEYS[2], ARGV[2], ARGV[3])
return 1
