-- archive: moves a failed task from active to the archived zset (wire-format §4.15 steps 1-3 and 6-7).
-- Called by the worker at the end of an attempt, and by the recoverer for a task whose lease ran out
-- (wire-format §5.8 step 1); ARGV[5] names the precondition that applies (lua/precondition.lua).
-- Unlike asynq: nothing is written when the task is not in active or the precondition fails; the
-- archive is not trimmed here (trim_archive does it); the uniqueness lock is released when still
-- owned, since archived is not a live state. The event stream gets ARGV[7] ("archived", or "expired"
-- for a task whose deadline ended it) with the error while someone listens (lua/events).
--
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- KEYS[2] -> asynq:{<q>}:active
-- KEYS[3] -> asynq:{<q>}:lease
-- KEYS[4] -> asynq:{<q>}:archived
-- KEYS[5] -> asynq:{<q>}:processed:<YYYY-MM-DD>
-- KEYS[6] -> asynq:{<q>}:failed:<YYYY-MM-DD>
-- KEYS[7] -> asynq:{<q>}:processed
-- KEYS[8] -> asynq:{<q>}:failed
-- KEYS[9] -> asynq:{<q>}:events:listening
-- KEYS[10] -> asynq:{<q>}:events
-- KEYS[11] -> the uniqueness lock asynq:{<q>}:unique:<type>:<md5>; only when the task has one
--
-- ARGV[1] -> task ID
-- ARGV[2] -> encoded TaskMessage (error_msg, last_failed_at updated by the caller)
-- ARGV[3] -> now, unix seconds (the archived zset score)
-- ARGV[4] -> expiry of a new daily counter: now + 90 days, unix seconds
-- ARGV[5] -> precondition: "fence" (the worker), or the recoverer's lease guard: "expired" (lease
--   score <= ARGV[6]) or "unleased" (no lease score), both also requiring the task hash
-- ARGV[6] -> mode "fence": the encoded TaskMessage as it was dequeued (a fencing token), "" skips the
--   check; mode "expired": the cutoff, unix seconds; mode "unleased": ignored
-- ARGV[7] -> the event: "archived" or "expired"
-- ARGV[8] -> the error message (for the event stream)
-- ARGV[9] -> "1" when an attempt failed just before (the stream's listeners hear `failed` too), else "0"
--
-- Returns:
--   1  archived, msg and state rewritten, counted as processed and failed, lock released if owned
--   0  the precondition failed (fenced; lease changed or hash gone), or the task is not in active;
--      nothing written
-- @include counters

-- @include lock

-- @include precondition

-- @include events

if not precondition_holds(ARGV[5], ARGV[6], KEYS[1], KEYS[3], ARGV[1]) then
  return 0
end
if not leave_active(KEYS[2], KEYS[3], KEYS[4], ARGV[3], KEYS[1], ARGV[1], "archived", ARGV[2]) then
  return 0
end
count(ARGV[4], KEYS[5], KEYS[7], KEYS[6], KEYS[8])
if #KEYS >= 11 then
  release_lock(KEYS[11], ARGV[1])
end
emit_event(KEYS[9], KEYS[10], "event", ARGV[7], "id", ARGV[1], "error", ARGV[8], "failed", ARGV[9])
return 1
