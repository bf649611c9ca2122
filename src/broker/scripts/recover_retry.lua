-- recover_retry: retries an active task whose lease ran out (spec §5.8 step 1, written as in §4.14).
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

-- ---- shared: guard; identical in recover_retry, recover_archive, recover_quarantine ----
-- True while the task's lease is as the recoverer saw it: mode "expired", a lease that ran out at or
-- before cutoff (unix s; an owner that extended it meanwhile keeps the task); mode "unleased", no
-- lease at all (a task that got one meanwhile is being processed).
local function lease_as_seen(lease_key, id, mode, cutoff)
  local score = redis.call("ZSCORE", lease_key, id)
  if mode == "unleased" then
    return not score
  end
  return score ~= false and tonumber(score) <= tonumber(cutoff)
end
-- ---- end shared: guard ----

if not lease_as_seen(KEYS[3], ARGV[1], ARGV[6], ARGV[7]) or redis.call("EXISTS", KEYS[1]) == 0 then
  return 0
end
if redis.call("LREM", KEYS[2], 0, ARGV[1]) == 0 then
  return 0
end
redis.call("ZREM", KEYS[3], ARGV[1])
redis.call("ZADD", KEYS[4], ARGV[3], ARGV[1])
redis.call("HSET", KEYS[1], "msg", ARGV[2], "state", "retry")
if ARGV[5] == "1" then
  count(ARGV[4], KEYS[5], KEYS[7], KEYS[6], KEYS[8])
end
return 1
