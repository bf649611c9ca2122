-- archive: moves a failed task from active to the archived zset (wire-format §4.15 steps 1-3 and 6-7).
-- Unlike asynq: nothing is written when the task is not in active; the archive is not trimmed here
-- (trim_archive does it); the uniqueness lock is released when still owned, since archived is not a
-- live state.
--
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- KEYS[2] -> asynq:{<q>}:active
-- KEYS[3] -> asynq:{<q>}:lease
-- KEYS[4] -> asynq:{<q>}:archived
-- KEYS[5] -> asynq:{<q>}:processed:<YYYY-MM-DD>
-- KEYS[6] -> asynq:{<q>}:failed:<YYYY-MM-DD>
-- KEYS[7] -> asynq:{<q>}:processed
-- KEYS[8] -> asynq:{<q>}:failed
-- KEYS[9] -> the uniqueness lock asynq:{<q>}:unique:<type>:<md5>; only when the task has one
--
-- ARGV[1] -> task ID
-- ARGV[2] -> encoded TaskMessage (error_msg, last_failed_at updated by the caller)
-- ARGV[3] -> now, unix seconds (the archived zset score)
-- ARGV[4] -> expiry of a new daily counter: now + 90 days, unix seconds
-- ARGV[5] -> optional: the encoded TaskMessage as it was dequeued (a fencing token); "" skips the check
--
-- Returns:
--   1  archived, msg and state rewritten, counted as processed and failed, lock released if owned
--   0  the task is not in active; nothing written (or its message changed: fenced)
-- @include counters

-- @include lock

-- @include move

if fenced_out(KEYS[1], ARGV[5]) then
  return 0
end
if not leave_active(KEYS[2], KEYS[3], KEYS[4], ARGV[3], KEYS[1], ARGV[1], "archived", ARGV[2]) then
  return 0
end
count(ARGV[4], KEYS[5], KEYS[7], KEYS[6], KEYS[8])
if #KEYS >= 9 then
  release_lock(KEYS[9], ARGV[1])
end
return 1
