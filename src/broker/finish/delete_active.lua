-- delete_active: deletes an active task that expired (onExpired "delete"), counting it as processed and failed.
-- Not an asynq operation; it is Done (wire-format §4.11) with the failed counters of Archive (§4.15).
-- The event stream gets an "expired" entry while someone listens (lua/events).
--
-- KEYS[1] -> asynq:{<q>}:active
-- KEYS[2] -> asynq:{<q>}:lease
-- KEYS[3] -> asynq:{<q>}:t:<id>
-- KEYS[4] -> asynq:{<q>}:processed:<YYYY-MM-DD>
-- KEYS[5] -> asynq:{<q>}:failed:<YYYY-MM-DD>
-- KEYS[6] -> asynq:{<q>}:processed
-- KEYS[7] -> asynq:{<q>}:failed
-- KEYS[8] -> asynq:{<q>}:events:listening
-- KEYS[9] -> asynq:{<q>}:events
-- KEYS[10] -> the uniqueness lock asynq:{<q>}:unique:<type>:<md5>; only when the task has one
--
-- ARGV[1] -> task ID
-- ARGV[2] -> expiry of a new daily counter: now + 90 days, unix seconds
-- ARGV[3] -> the encoded TaskMessage as it was dequeued (a fencing token); "" skips the check
-- ARGV[4] -> the error message (for the event stream)
--
-- Returns:
--   1  deleted: removed from active and lease, hash deleted, counted, lock released if still owned
--   0  the task is not in active; nothing written (or its message changed: fenced)
-- @include counters

-- @include lock

-- @include events

-- Fencing: a task whose stored message is no longer the one this worker dequeued was recovered
-- and has moved on (it may be running elsewhere now): a late write must not apply.
if ARGV[3] and ARGV[3] ~= "" and redis.call("HGET", KEYS[3], "msg") ~= ARGV[3] then
  return 0
end
if redis.call("LREM", KEYS[1], 0, ARGV[1]) == 0 then
  return 0
end
redis.call("ZREM", KEYS[2], ARGV[1])
redis.call("DEL", KEYS[3])
count(ARGV[2], KEYS[4], KEYS[6], KEYS[5], KEYS[7])
if #KEYS >= 10 then
  release_lock(KEYS[10], ARGV[1])
end
emit_event(KEYS[8], KEYS[9], "event", "expired", "id", ARGV[1], "error", ARGV[4])
return 1
