-- remove_misplaced: removes an ID from a container its task's state does not name (doctor --fix).
-- Not an asynq operation. The task's state field wins: the ID is removed only while the hash still
-- has the state the audit saw and the container that state names holds the ID (so the task is never
-- left without a container).
--
-- KEYS[1] -> the container holding the ID by mistake
-- KEYS[2] -> asynq:{<q>}:t:<id>
-- KEYS[3] -> the container the task's state names (asynq:{<q>}:<state> or asynq:{<q>}:g:<group>)
-- KEYS[4] -> companion, when ARGV[5] is not "": asynq:{<q>}:lease (KEYS[1] is active) or
--            asynq:{<q>}:groups (KEYS[1] is a group zset)
--
-- ARGV[1] -> task ID
-- ARGV[2] -> type of KEYS[1]: "list" or "zset"
-- ARGV[3] -> the state the audit saw
-- ARGV[4] -> type of KEYS[3]: "list" or "zset"
-- ARGV[5] -> companion: "lease", "groups" or ""
-- ARGV[6] -> companion "groups": the group name
--
-- Returns:
--   1  removed
--   0  skipped: the state changed, the task is not in the container its state names, or KEYS[1]
--      no longer holds the ID
-- @include doctor

if redis.call("HGET", KEYS[2], "state") ~= ARGV[3] or not holds(KEYS[3], ARGV[4], ARGV[1]) then
  return 0
end
if remove_member(KEYS[1], ARGV[2], ARGV[1], KEYS[4], ARGV[5], ARGV[6]) > 0 then
  return 1
end
return 0
