-- delete_active: deletes an active task that expired (onExpired "delete"), counting it as processed and failed.
-- Not an asynq operation; it is Done (spec §4.11) with the failed counters of Archive (§4.15).
--
-- KEYS[1] -> asynq:{<q>}:active
-- KEYS[2] -> asynq:{<q>}:lease
-- KEYS[3] -> asynq:{<q>}:t:<id>
-- KEYS[4] -> asynq:{<q>}:processed:<YYYY-MM-DD>
-- KEYS[5] -> asynq:{<q>}:failed:<YYYY-MM-DD>
-- KEYS[6] -> asynq:{<q>}:processed
-- KEYS[7] -> asynq:{<q>}:failed
-- KEYS[8] -> the uniqueness lock asynq:{<q>}:unique:<type>:<md5>; only when the task has one
--
-- ARGV[1] -> task ID
-- ARGV[2] -> expiry of a new daily counter: now + 90 days, unix seconds
-- ARGV[3] -> optional: the encoded TaskMessage as it was dequeued (a fencing token); "" skips the check
--
-- Returns:
--   1  deleted: removed from active and lease, hash deleted, counted, lock released if still owned
--   0  the task is not in active; nothing written (or its message changed: fenced)
-- ---- shared: counters (spec §4.8); identical in done, mark_complete, retry, archive, delete_active ----
local MAX_INT64 = "9223372036854775807"

-- INCR a daily counter; its first increment sets the expiry (EXPIREAT expire_at).
local function incr_daily(key, expire_at)
  if redis.call("INCR", key) == 1 then
    redis.call("EXPIREAT", key, expire_at)
  end
end

-- INCR an all-time counter, or SET it to 1 when it wraps.
local function incr_total(key, wrap)
  if wrap then
    redis.call("SET", key, 1)
  else
    redis.call("INCR", key)
  end
end

-- Counts one processed task, and one failed task when the failed keys are given. As in asynq, both
-- totals restart at 1 when the processed total is MAX_INT64; the failed total also restarts on its
-- own at MAX_INT64 (where asynq's INCR would fail).
local function count(expire_at, processed_day, processed_total, failed_day, failed_total)
  incr_daily(processed_day, expire_at)
  if failed_day then
    incr_daily(failed_day, expire_at)
  end
  local wrap = redis.call("GET", processed_total) == MAX_INT64
  incr_total(processed_total, wrap)
  if failed_total then
    incr_total(failed_total, wrap or redis.call("GET", failed_total) == MAX_INT64)
  end
end
-- ---- end shared: counters ----

-- ---- shared: lock; identical in done, mark_complete, archive, delete_active ----
-- Deletes the uniqueness lock only while it is still held by this task.
local function release_lock(lock_key, id)
  if redis.call("GET", lock_key) == id then
    redis.call("DEL", lock_key)
  end
end
-- ---- end shared: lock ----

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
if #KEYS >= 8 then
  release_lock(KEYS[8], ARGV[1])
end
return 1
