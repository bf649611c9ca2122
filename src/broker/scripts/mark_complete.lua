-- mark_complete: keeps a successfully processed task as completed until its retention ends (spec §4.12).
-- Unlike asynq, nothing is written when the task is not in active, and an ID already in completed
-- gets its score updated instead of failing after partial writes.
--
-- KEYS[1] -> asynq:{<q>}:active
-- KEYS[2] -> asynq:{<q>}:lease
-- KEYS[3] -> asynq:{<q>}:completed
-- KEYS[4] -> asynq:{<q>}:t:<id>
-- KEYS[5] -> asynq:{<q>}:processed:<YYYY-MM-DD>
-- KEYS[6] -> asynq:{<q>}:processed
-- KEYS[7] -> the uniqueness lock asynq:{<q>}:unique:<type>:<md5>; only when the task has one
--
-- ARGV[1] -> task ID
-- ARGV[2] -> expiry of a new daily counter: now + 90 days, unix seconds
-- ARGV[3] -> completed zset score: completed_at + retention, unix seconds
-- ARGV[4] -> encoded TaskMessage with completed_at set
-- ARGV[5] -> optional: the encoded TaskMessage as it was dequeued (a fencing token); "" skips the check
--
-- Returns:
--   1  completed: moved from active/lease to completed, msg and state rewritten (result kept),
--      counted, lock released if still owned
--   0  the task is not in active; nothing written (or its message changed: fenced)
-- @include counters

-- @include lock

-- Fencing: a task whose stored message is no longer the one this worker dequeued was recovered
-- and has moved on (it may be running elsewhere now): a late write must not apply.
if ARGV[5] and ARGV[5] ~= "" and redis.call("HGET", KEYS[4], "msg") ~= ARGV[5] then
  return 0
end
if redis.call("LREM", KEYS[1], 0, ARGV[1]) == 0 then
  return 0
end
redis.call("ZREM", KEYS[2], ARGV[1])
redis.call("ZADD", KEYS[3], ARGV[3], ARGV[1])
redis.call("HSET", KEYS[4], "msg", ARGV[4], "state", "completed")
count(ARGV[2], KEYS[5], KEYS[6])
if #KEYS >= 7 then
  release_lock(KEYS[7], ARGV[1])
end
return 1
