-- recover_quarantine: moves aside an orphaned active task whose msg is missing or cannot be decoded.
-- Not an asynq operation (asynq leaves such tasks in active forever). Like quarantine, but it first
-- re-verifies the lease the recoverer saw. A task with a hash is archived as it is (state archived, msg
-- untouched, no counters; its lock, unknowable without the msg, expires by its TTL). An ID without a
-- hash is dangling: it is removed from active and lease, whether or not it is still in active.
--
-- KEYS[1] -> asynq:{<q>}:active
-- KEYS[2] -> asynq:{<q>}:lease
-- KEYS[3] -> asynq:{<q>}:archived
-- KEYS[4] -> asynq:{<q>}:t:<id>
--
-- ARGV[1] -> task ID
-- ARGV[2] -> now, unix seconds (the archived zset score)
-- ARGV[3] -> lease mode: "expired" (lease score must be <= ARGV[4]) or "unleased" (no lease score)
-- ARGV[4] -> cutoff, unix seconds (ignored in mode "unleased")
--
-- Returns:
--   1  archived as it is
--   2  dangling ID removed from active and lease (no hash)
--   0  the lease changed, or the task is no longer in active; nothing written
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

if not lease_as_seen(KEYS[2], ARGV[1], ARGV[3], ARGV[4]) then
  return 0
end
if redis.call("EXISTS", KEYS[4]) == 0 then
  local removed = redis.call("LREM", KEYS[1], 0, ARGV[1]) + redis.call("ZREM", KEYS[2], ARGV[1])
  if removed > 0 then
    return 2
  end
  return 0
end
if redis.call("LREM", KEYS[1], 0, ARGV[1]) == 0 then
  return 0
end
redis.call("ZREM", KEYS[2], ARGV[1])
redis.call("ZADD", KEYS[3], ARGV[2], ARGV[1])
redis.call("HSET", KEYS[4], "state", "archived")
return 1
