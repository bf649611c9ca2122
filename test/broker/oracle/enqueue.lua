-- enqueue: adds a new task to the pending list (wire-format §4.2).
--
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- KEYS[2] -> asynq:{<q>}:pending
--
-- ARGV[1] -> encoded TaskMessage
-- ARGV[2] -> task ID
-- ARGV[3] -> now, unix nanoseconds (pending_since)
--
-- Returns:
--   1  enqueued
--   0  a task hash with this ID exists already; nothing written
if redis.call("EXISTS", KEYS[1]) == 1 then
  return 0
end
redis.call("HSET", KEYS[1], "msg", ARGV[1], "state", "pending", "pending_since", ARGV[3])
redis.call("LPUSH", KEYS[2], ARGV[2])
return 1
