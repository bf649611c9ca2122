-- retry: moves a failed task from active to the retry zset (wire-format §4.14). The uniqueness lock is kept.
-- Called by the worker at the end of an attempt, and by the recoverer for a task whose lease ran out
-- (wire-format §5.8 step 1); ARGV[6] names the precondition that applies (lua/precondition.lua).
-- Unlike asynq, nothing is written when the task is not in active or the precondition fails. The
-- event stream gets a "retry" entry (with the error and the retry time) while someone listens.
--
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- KEYS[2] -> asynq:{<q>}:active
-- KEYS[3] -> asynq:{<q>}:lease
-- KEYS[4] -> asynq:{<q>}:retry
-- KEYS[5] -> asynq:{<q>}:processed:<YYYY-MM-DD>
-- KEYS[6] -> asynq:{<q>}:failed:<YYYY-MM-DD>
-- KEYS[7] -> asynq:{<q>}:processed
-- KEYS[8] -> asynq:{<q>}:failed
-- KEYS[9] -> asynq:{<q>}:events:listening
-- KEYS[10] -> asynq:{<q>}:events
--
-- ARGV[1] -> task ID
-- ARGV[2] -> encoded TaskMessage (retried, error_msg, last_failed_at updated by the caller)
-- ARGV[3] -> retry time, unix seconds
-- ARGV[4] -> expiry of a new daily counter: now + 90 days, unix seconds
-- ARGV[5] -> is a failure: "1" counts it as processed and failed, "0" changes no counter
-- ARGV[6] -> precondition: "fence" (the worker), or the recoverer's lease guard: "expired" (lease
--   score <= ARGV[7]) or "unleased" (no lease score), both also requiring the task hash
-- ARGV[7] -> mode "fence": the encoded TaskMessage as it was dequeued (a fencing token), "" skips the
--   check; mode "expired": the cutoff, unix seconds; mode "unleased": ignored
-- ARGV[8] -> the error message (for the event stream)
--
-- Returns:
--   1  moved to retry, msg and state rewritten, counted when a failure
--   0  the precondition failed (fenced; lease changed or hash gone), or the task is not in active;
--      nothing written
-- @include counters

-- @include precondition

-- @include events

if not precondition_holds(ARGV[6], ARGV[7], KEYS[1], KEYS[3], ARGV[1]) then
  return 0
end
if not leave_active(KEYS[2], KEYS[3], KEYS[4], ARGV[3], KEYS[1], ARGV[1], "retry", ARGV[2]) then
  return 0
end
if ARGV[5] == "1" then
  count(ARGV[4], KEYS[5], KEYS[7], KEYS[6], KEYS[8])
end
emit_event(KEYS[9], KEYS[10], "event", "retry", "id", ARGV[1], "error", ARGV[8], "retry_at", ARGV[3])
return 1
