-- archive_as_is: sets a corrupt task aside in the archive, msg untouched (doctor --fix).
-- Not an asynq operation (like quarantine, for any state). Re-verifies that the hash still has the
-- state and msg the audit saw; leaves a task alone while it is in active with a lease that has not
-- run out (a worker may hold it; the recoverer quarantines it later). Otherwise removes the ID from
-- every container of its queue and from the lease zset (an archived task holds no lease: one left
-- behind would be reported as stale by the next audit and re-read by every recoverer pass), adds it
-- to archived, sets state = archived, drops the dequeue's claim stamp, and releases the uniqueness
-- lock named by its unique_key field while the lock still holds the ID. No counters.
--
-- KEYS[1]  -> asynq:{<q>}:t:<id>
-- KEYS[2]  -> asynq:{<q>}:archived
-- KEYS[3]  -> asynq:{<q>}:pending
-- KEYS[4]  -> asynq:{<q>}:active
-- KEYS[5]  -> asynq:{<q>}:lease
-- KEYS[6]  -> asynq:{<q>}:scheduled
-- KEYS[7]  -> asynq:{<q>}:retry
-- KEYS[8]  -> asynq:{<q>}:completed
-- KEYS[9]  -> asynq:{<q>}:groups
-- KEYS[10] -> asynq:{<q>}:g:<group> when ARGV[5] is not "" (the task's group)
-- KEYS[#KEYS] -> the uniqueness lock when ARGV[6] is "1"
--
-- ARGV[1] -> task ID
-- ARGV[2] -> now, unix seconds (the archived score; a lease scored above it is still running)
-- ARGV[3] -> the state the audit saw, "" when none
-- ARGV[4] -> the msg the audit saw, "" when none
-- ARGV[5] -> the group name, "" when none
-- ARGV[6] -> "1" when the last key is the task's uniqueness lock
--
-- Returns:
--   1  archived
--   2  skipped: in active with a lease that has not run out
--   0  skipped: the hash is gone, or its state or msg changed
-- @include lock

if redis.call("EXISTS", KEYS[1]) == 0 then
  return 0
end
if (redis.call("HGET", KEYS[1], "state") or "") ~= ARGV[3] or (redis.call("HGET", KEYS[1], "msg") or "") ~= ARGV[4] then
  return 0
end
local id = ARGV[1]
local lease = redis.call("ZSCORE", KEYS[5], id)
if lease and tonumber(lease) > tonumber(ARGV[2]) and redis.call("LPOS", KEYS[4], id) then
  return 2
end
redis.call("LREM", KEYS[3], 0, id)
redis.call("LREM", KEYS[4], 0, id)
redis.call("ZREM", KEYS[5], id)
redis.call("ZREM", KEYS[6], id)
redis.call("ZREM", KEYS[7], id)
redis.call("ZREM", KEYS[8], id)
if ARGV[5] ~= "" then
  redis.call("ZREM", KEYS[10], id)
  if redis.call("EXISTS", KEYS[10]) == 0 then
    redis.call("SREM", KEYS[9], ARGV[5])
  end
end
redis.call("ZADD", KEYS[2], ARGV[2], id)
redis.call("HSET", KEYS[1], "state", "archived")
redis.call("HDEL", KEYS[1], "claim")
if ARGV[6] == "1" then
  release_lock(KEYS[#KEYS], id)
end
return 1
