-- retry: moves a failed task from active to the retry zset (spec §4.14). The uniqueness lock is kept.
-- Unlike asynq, nothing is written when the task is not in active.
--
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- KEYS[2] -> asynq:{<q>}:active
-- KEYS[3] -> asynq:{<q>}:lease
-- KEYS[4] -> asynq:{<q>}:retry
-- KEYS[5] -> asynq:{<q>}:processed:<YYYY-MM-DD>
-- KEYS[6] -> asynq:{<q>}:failed:<YYYY-MM-DD>
-- KEYS[7] -> asynq:{<q>}:processed
-- KEYS[8] -> asynq:{<q>}:failed
--
-- ARGV[1] -> task ID
-- ARGV[2] -> encoded TaskMessage (retried, error_msg, last_failed_at updated by the caller)
-- ARGV[3] -> retry time, unix seconds
-- ARGV[4] -> expiry of a new daily counter: now + 90 days, unix seconds
-- ARGV[5] -> is a failure: "1" counts it as processed and failed, "0" changes no counter
-- ARGV[6] -> optional: the encoded TaskMessage as it was dequeued (a fencing token); "" skips the check
--
-- Returns:
--   1  moved to retry, msg and state rewritten, counted when a failure
--   0  the task is not in active; nothing written (or its message changed: fenced)
-- @include counters

-- Fencing: a task whose stored message is no longer the one this worker dequeued was recovered
-- and has moved on (it may be running elsewhere now): a late write must not apply.
if ARGV[6] and ARGV[6] ~= "" and redis.call("HGET", KEYS[1], "msg") ~= ARGV[6] then
  return 0
end
if redis.call("LREM", KEYS[2], 0, ARGV[1]) == 0 then
  return 0
end
redis.call("ZREM", KEYS[3], ARGV[1])
redis.call("ZADD", KEYS[4], ARGV[3], ARGV[1])
redis.call("HSET", KEYS[1], "msg", ARGV[2], "state", "retry")
if ARGV[5] == "1" then
  count(ARGV[4], KEYS[5], KEYS[7], KEYS[6], KEYS[8])
end
return 1
