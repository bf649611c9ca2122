-- dequeue: moves the oldest pending tasks to active, verifying each candidate is still the tail of pending (spec §4.10).
-- The caller reads the candidates first (LRANGE pending -max -1, oldest first), because a script may
-- only touch keys passed in KEYS; each candidate is claimed only while it is still the tail, so a
-- task another worker took in between is never touched. Unlike asynq, a pending ID without a task
-- hash (dangling) is dropped from pending instead of being moved to active with a state-only hash.
--
-- KEYS[1] -> asynq:{<q>}:pending
-- KEYS[2] -> asynq:{<q>}:paused
-- KEYS[3] -> asynq:{<q>}:active
-- KEYS[4] -> asynq:{<q>}:lease
-- KEYS[4+i] -> asynq:{<q>}:t:<id i>, for each candidate i = 1..n in dequeue order (oldest first)
--
-- ARGV[1] -> lease expiry, unix seconds
-- ARGV[1+i] -> task ID of candidate i
--
-- Returns:
--   0  the queue is paused; nothing moved
--   { claimed, dangling } otherwise, where claimed = { id1, msg1, id2, msg2, ... } lists the tasks
--      moved to active, oldest first (msg is nil when the hash has no msg field), and dangling lists
--      the IDs removed from pending because their task hash did not exist. Both are empty when the
--      first candidate was no longer the tail of pending (another worker took it).
if redis.call("EXISTS", KEYS[2]) == 1 then
  return 0
end
local claimed = {}
local dangling = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local task_key = KEYS[3 + i]
  if redis.call("LINDEX", KEYS[1], -1) ~= id then
    break
  end
  if redis.call("EXISTS", task_key) == 0 then
    redis.call("RPOP", KEYS[1])
    dangling[#dangling + 1] = id
  else
    redis.call("RPOPLPUSH", KEYS[1], KEYS[3])
    redis.call("HSET", task_key, "state", "active")
    redis.call("HDEL", task_key, "pending_since")
    redis.call("ZADD", KEYS[4], ARGV[1], id)
    claimed[#claimed + 1] = id
    claimed[#claimed + 1] = redis.call("HGET", task_key, "msg")
  end
end
return { claimed, dangling }
