-- quarantine: archives an active task whose msg is missing or cannot be decoded, leaving msg untouched and counting nothing.
-- Not an asynq operation: it moves a corrupt task aside instead of retrying it forever (asynq's
-- recoverer leaves such tasks in active for good). Called by the worker for a task it dequeued
-- (ARGV[3] = "": no precondition), and by the recoverer for an orphaned one (ARGV[3] names the lease
-- it saw, re-verified first: lua/guard.lua). A task with a hash is archived as it is (state
-- archived, msg untouched, no counters; its lock, unknowable without the msg, expires by its TTL).
-- An ID without a hash is dangling: it is removed from active and lease; the worker's only while it
-- is still in active, the recoverer's also when it is left in lease only.
--
-- KEYS[1] -> asynq:{<q>}:active
-- KEYS[2] -> asynq:{<q>}:lease
-- KEYS[3] -> asynq:{<q>}:archived
-- KEYS[4] -> asynq:{<q>}:t:<id>
--
-- ARGV[1] -> task ID
-- ARGV[2] -> now, unix seconds (the archived zset score)
-- ARGV[3] -> precondition: "" none (the worker); or the recoverer's lease guard: "expired" (lease
--   score <= ARGV[4]) or "unleased" (no lease score)
-- ARGV[4] -> optional: the cutoff, unix seconds (mode "expired" only)
--
-- Returns:
--   1  archived as it is
--   2  dangling ID removed from active and lease (no hash)
--   0  the lease changed, or the task is no longer in active; nothing written
-- @include guard

-- @include move

local recovering = ARGV[3] ~= ""
if recovering and not lease_as_seen(KEYS[2], ARGV[1], ARGV[3], ARGV[4]) then
  return 0
end
if redis.call("EXISTS", KEYS[4]) == 1 then
  if not leave_active(KEYS[1], KEYS[2], KEYS[3], ARGV[2], KEYS[4], ARGV[1], "archived") then
    return 0
  end
  return 1
end
local in_active = redis.call("LREM", KEYS[1], 0, ARGV[1]) > 0
if not in_active and not recovering then
  return 0 -- the worker's ID left active meanwhile: whoever moved it owns it now
end
if redis.call("ZREM", KEYS[2], ARGV[1]) > 0 or in_active then
  return 2
end
return 0
