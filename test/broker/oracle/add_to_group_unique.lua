-- add_to_group_unique: takes the uniqueness lock, then adds the task to a group (wire-format §4.7).
-- Differences from asynq (docs/compatibility.md): a task-ID conflict releases the lock this call
-- just took, and the hash gets a `unique_key` field so that deleting the task releases its lock.
--
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- KEYS[2] -> asynq:{<q>}:g:<group>
-- KEYS[3] -> asynq:{<q>}:groups
-- KEYS[4] -> asynq:{<q>}:unique:<type>:<md5 of payload>
--
-- ARGV[1] -> encoded TaskMessage
-- ARGV[2] -> task ID
-- ARGV[3] -> now, unix seconds (the zset score)
-- ARGV[4] -> group name
-- ARGV[5] -> lock TTL, whole seconds (>= 1)
--
-- Returns:
--   1  added
--  -1  the lock is held by another task (duplicate); nothing written
--   0  a task hash with this ID exists already; nothing written
if not redis.call("SET", KEYS[4], ARGV[2], "NX", "EX", ARGV[5]) then
  return -1
end
if redis.call("EXISTS", KEYS[1]) == 1 then
  redis.call("DEL", KEYS[4])
  return 0
end
redis.call("HSET", KEYS[1], "msg", ARGV[1], "state", "aggregating", "group", ARGV[4], "unique_key", KEYS[4])
redis.call("ZADD", KEYS[2], ARGV[3], ARGV[2])
redis.call("SADD", KEYS[3], ARGV[4])
return 1
