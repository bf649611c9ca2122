-- add_to_group: adds a task to a group, to be aggregated later (wire-format §4.6).
--
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- KEYS[2] -> asynq:{<q>}:g:<group>
-- KEYS[3] -> asynq:{<q>}:groups
--
-- ARGV[1] -> encoded TaskMessage
-- ARGV[2] -> task ID
-- ARGV[3] -> now, unix seconds (the zset score)
-- ARGV[4] -> group name
--
-- Returns:
--   1  added
--   0  a task hash with this ID exists already; nothing written
if redis.call("EXISTS", KEYS[1]) == 1 then
  return 0
end
redis.call("HSET", KEYS[1], "msg", ARGV[1], "state", "aggregating", "group", ARGV[4])
redis.call("ZADD", KEYS[2], ARGV[3], ARGV[2])
redis.call("SADD", KEYS[3], ARGV[4])
return 1
