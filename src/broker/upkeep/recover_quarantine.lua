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
-- @include guard

-- @include move

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
if not leave_active(KEYS[1], KEYS[2], KEYS[3], ARGV[2], KEYS[4], ARGV[1], "archived") then
  return 0
end
return 1
