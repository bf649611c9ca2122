-- retry: moves a failed task from active to the retry zset (wire-format §4.14). The uniqueness lock is kept.
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

-- @include move

if fenced_out(KEYS[1], ARGV[6]) then
  return 0
end
if not leave_active(KEYS[2], KEYS[3], KEYS[4], ARGV[3], KEYS[1], ARGV[1], "retry", ARGV[2]) then
  return 0
end
if ARGV[5] == "1" then
  count(ARGV[4], KEYS[5], KEYS[7], KEYS[6], KEYS[8])
end
return 1
