-- recover_retry: retries an active task whose lease ran out (wire-format §5.8 step 1, written as in §4.14).
-- Not asynq's script: it first re-verifies the lease the recoverer saw (the owner may have extended it
-- meanwhile), and writes nothing unless the task is still in active with its hash. The uniqueness lock
-- is kept, as in retry.
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
-- ARGV[6] -> lease mode: "expired" (lease score must be <= ARGV[7]) or "unleased" (no lease score)
-- ARGV[7] -> cutoff, unix seconds (ignored in mode "unleased")
--
-- Returns:
--   1  moved to retry, msg and state rewritten, counted when a failure
--   0  the lease changed, or the task is no longer in active, or its hash is gone; nothing written
-- @include counters

-- @include guard

-- @include move

if not lease_as_seen(KEYS[3], ARGV[1], ARGV[6], ARGV[7]) or redis.call("EXISTS", KEYS[1]) == 0 then
  return 0
end
if not leave_active(KEYS[2], KEYS[3], KEYS[4], ARGV[3], KEYS[1], ARGV[1], "retry", ARGV[2]) then
  return 0
end
if ARGV[5] == "1" then
  count(ARGV[4], KEYS[5], KEYS[7], KEYS[6], KEYS[8])
end
return 1
