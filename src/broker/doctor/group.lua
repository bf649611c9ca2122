-- group: makes `groups` agree with a group zset (doctor --fix).
-- Not an asynq operation. Mode "add" registers a non-empty group; mode "remove" drops the name of
-- a group whose zset is empty or missing. Each re-verifies the zset first.
--
-- KEYS[1] -> asynq:{<q>}:groups
-- KEYS[2] -> asynq:{<q>}:g:<group>
--
-- ARGV[1] -> the group name
-- ARGV[2] -> mode: "add" or "remove"
--
-- Returns:
--   1  changed
--   0  skipped: the zset's emptiness changed, or `groups` already agrees
local filled = redis.call("EXISTS", KEYS[2]) == 1
if ARGV[2] == "add" then
  if not filled then
    return 0
  end
  return redis.call("SADD", KEYS[1], ARGV[1])
end
if filled then
  return 0
end
return redis.call("SREM", KEYS[1], ARGV[1])
