-- schedule_unique: takes the uniqueness lock, then schedules the task (wire-format §4.5).
-- A task-ID conflict releases the lock this call just took (docs/compatibility.md).
--
-- KEYS[1] -> asynq:{<q>}:unique:<type>:<md5 of payload>
-- KEYS[2] -> asynq:{<q>}:t:<id>
-- KEYS[3] -> asynq:{<q>}:scheduled
--
-- ARGV[1] -> task ID
-- ARGV[2] -> lock TTL, whole seconds: process-at + unique TTL - now
-- ARGV[3] -> process-at, unix seconds (the zset score)
-- ARGV[4] -> encoded TaskMessage
--
-- Returns:
--   1  scheduled
--  -1  the lock is held by another task (duplicate); nothing written
--   0  a task hash with this ID exists already; nothing written
if not redis.call("SET", KEYS[1], ARGV[1], "NX", "EX", ARGV[2]) then
  return -1
end
if redis.call("EXISTS", KEYS[2]) == 1 then
  redis.call("DEL", KEYS[1])
  return 0
end
redis.call("HSET", KEYS[2], "msg", ARGV[4], "state", "scheduled", "unique_key", KEYS[1])
redis.call("ZADD", KEYS[3], ARGV[3], ARGV[1])
return 1
