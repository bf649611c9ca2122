-- remove_dangling: removes an ID that has no task hash from a container (doctor --fix).
-- Not an asynq operation. Re-verifies that the hash still does not exist.
--
-- KEYS[1] -> the container (asynq:{<q>}:pending, active, scheduled, retry, archived, completed,
--            g:<group> or g:<group>:<set>)
-- KEYS[2] -> asynq:{<q>}:t:<id>
-- KEYS[3] -> companion, when ARGV[3] is not "": asynq:{<q>}:lease (KEYS[1] is active) or
--            asynq:{<q>}:groups (KEYS[1] is a group zset)
--
-- ARGV[1] -> task ID
-- ARGV[2] -> type of KEYS[1]: "list" or "zset"
-- ARGV[3] -> companion: "lease", "groups" or ""
-- ARGV[4] -> companion "groups": the group name
--
-- Returns:
--   1  removed (with its lease entry, or the group's name when the group is now empty)
--   0  skipped: the hash exists now, or the container no longer holds the ID
-- @include doctor

if redis.call("EXISTS", KEYS[2]) == 1 then
  return 0
end
if remove_member(KEYS[1], ARGV[2], ARGV[1], KEYS[3], ARGV[3], ARGV[4]) > 0 then
  return 1
end
return 0
