-- requeue: puts an in-flight task back at the front of pending, e.g. on shutdown (wire-format §4.13).
-- msg, retried and counters are unchanged and pending_since is not set, as in asynq. Unlike asynq,
-- nothing is written when the task is not in active, and an active ID whose task hash is missing is
-- dropped instead of being pushed to pending with a state-only hash.
--
-- KEYS[1] -> asynq:{<q>}:active
-- KEYS[2] -> asynq:{<q>}:lease
-- KEYS[3] -> asynq:{<q>}:pending
-- KEYS[4] -> asynq:{<q>}:t:<id>
--
-- ARGV[1] -> task ID
-- ARGV[2] -> optional: the encoded TaskMessage as it was dequeued (a fencing token); "" skips the check
--
-- Returns:
--   1  requeued (or, when its hash was missing, removed from active and lease)
--   0  the task is not in active; nothing written (or its message changed: fenced)
-- Fencing: a task whose stored message is no longer the one this worker dequeued was recovered
-- and has moved on (it may be running elsewhere now): a late write must not apply.
if ARGV[2] and ARGV[2] ~= "" and redis.call("HGET", KEYS[4], "msg") ~= ARGV[2] then
  return 0
end
if redis.call("LREM", KEYS[1], 0, ARGV[1]) == 0 then
  return 0
end
redis.call("ZREM", KEYS[2], ARGV[1])
if redis.call("EXISTS", KEYS[4]) == 1 then
  redis.call("RPUSH", KEYS[3], ARGV[1])
  redis.call("HSET", KEYS[4], "state", "pending")
  redis.call("HDEL", KEYS[4], "claim") -- the dequeue's claim stamp: only meaningful while active
end
return 1
