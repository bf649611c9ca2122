-- enqueue_unique: takes the uniqueness lock, then adds the task to the pending list (wire-format §4.3).
-- Unlike asynq, a task-ID conflict releases the lock this call just took instead of leaking it
-- until its TTL runs out (docs/compatibility.md).
--
-- KEYS[1] -> asynq:{<q>}:unique:<type>:<md5 of payload>
-- KEYS[2] -> asynq:{<q>}:t:<id>
-- KEYS[3] -> asynq:{<q>}:pending
--
-- ARGV[1] -> task ID
-- ARGV[2] -> lock TTL, whole seconds (>= 1)
-- ARGV[3] -> encoded TaskMessage
-- ARGV[4] -> now, unix nanoseconds (pending_since)
--
-- Returns:
--   1  enqueued
--  -1  the lock is held by another task (duplicate); nothing written
--   0  a task hash with this ID exists already; nothing written
if not redis.call("SET", KEYS[1], ARGV[1], "NX", "EX", ARGV[2]) then
  return -1
end
if redis.call("EXISTS", KEYS[2]) == 1 then
  redis.call("DEL", KEYS[1])
  return 0
end
redis.call("HSET", KEYS[2], "msg", ARGV[3], "state", "pending", "pending_since", ARGV[4], "unique_key", KEYS[1])
redis.call("LPUSH", KEYS[3], ARGV[1])
return 1
