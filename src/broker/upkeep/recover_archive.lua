-- recover_archive: archives an active task whose lease ran out (wire-format §5.8 step 1; §4.15 steps 1-3, 6-7).
-- Not asynq's script: it first re-verifies the lease the recoverer saw (the owner may have extended it
-- meanwhile), and writes nothing unless the task is still in active with its hash. As in archive: no
-- trimming here, and the uniqueness lock is released when still owned (archived is not a live state).
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
-- ARGV[5] -> lease mode: "expired" (lease score must be <= ARGV[6]) or "unleased" (no lease score)
-- ARGV[6] -> cutoff, unix seconds (ignored in mode "unleased")
--
-- Returns:
--   1  archived, msg and state rewritten, counted as processed and failed, lock released if owned
--   0  the lease changed, or the task is no longer in active, or its hash is gone; nothing written
-- @include counters

-- @include lock

-- @include guard

-- @include move

if not lease_as_seen(KEYS[3], ARGV[1], ARGV[5], ARGV[6]) or redis.call("EXISTS", KEYS[1]) == 0 then
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
