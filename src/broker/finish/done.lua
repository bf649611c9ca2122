-- done: deletes a successfully processed task (retention 0) and counts it as processed (wire-format §4.11).
-- Unlike asynq, nothing is written when the task is not in active (asynq fails after partial writes).
--
-- KEYS[1] -> asynq:{<q>}:active
-- KEYS[2] -> asynq:{<q>}:lease
-- KEYS[3] -> asynq:{<q>}:t:<id>
-- KEYS[4] -> asynq:{<q>}:processed:<YYYY-MM-DD>
-- KEYS[5] -> asynq:{<q>}:processed
-- KEYS[6] -> the uniqueness lock asynq:{<q>}:unique:<type>:<md5>; only when the task has one
--
-- ARGV[1] -> task ID
-- ARGV[2] -> expiry of a new daily counter: now + 90 days, unix seconds
-- ARGV[3] -> optional: the encoded TaskMessage as it was dequeued (a fencing token); "" skips the check
--
-- Returns:
--   1  done: removed from active and lease, hash deleted, counted, lock released if still owned
--   0  the task is not in active; nothing written (or its message changed: fenced)
-- @include done

return finish_done(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], ARGV[1], ARGV[2], ARGV[3] or "", false)
