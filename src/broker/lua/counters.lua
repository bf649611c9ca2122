-- counters: the processed and failed counters of a queue (wire-format §4.8).
-- Pulled in by an include line ("counters") in every script that counts a task.
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

-- Counts n processed tasks (n >= 1) at once, as n calls of count() without failed keys would: one
-- INCRBY per counter instead of three commands per task. INCRBY refuses to pass MAX_INT64, where
-- the all-time counter wraps to 1; a batch that would pass it is then counted one task at a time
-- (which needs 2^63 tasks).
local function count_processed(expire_at, processed_day, processed_total, n)
  if redis.call("INCRBY", processed_day, n) == n then
    redis.call("EXPIREAT", processed_day, expire_at)
  end
  local total = redis.pcall("INCRBY", processed_total, n)
  if type(total) == "table" and total.err then
    for _ = 1, n do
      incr_total(processed_total, redis.call("GET", processed_total) == MAX_INT64)
    end
  end
end
