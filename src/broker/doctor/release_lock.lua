-- release_lock: deletes a uniqueness lock whose task is gone, not live, or not its owner (doctor --fix).
-- Not an asynq operation. The audit judged the lock from the owner's hash; this re-verifies that the
-- lock still holds the same ID and that the owner's hash is exactly as the audit saw it.
--
-- KEYS[1] -> the lock asynq:{<q>}:unique:<type>:<md5>
-- KEYS[2] -> asynq:{<q>}:t:<id>, the task named by the lock's value
--
-- ARGV[1] -> the lock's value the audit saw (task ID)
-- ARGV[2] -> "1" when the owner's hash existed, "0" otherwise
-- ARGV[3] -> the owner's state field the audit saw, "" when none
-- ARGV[4] -> the owner's msg field the audit saw, "" when none
-- ARGV[5] -> the owner's unique_key field the audit saw, "" when none
--
-- Returns:
--   1  deleted
--   0  skipped: the lock changed, or the owner's hash changed
if redis.call("GET", KEYS[1]) ~= ARGV[1] then
  return 0
end
if tostring(redis.call("EXISTS", KEYS[2])) ~= ARGV[2] then
  return 0
end
local fields = redis.call("HMGET", KEYS[2], "state", "msg", "unique_key")
if (fields[1] or "") ~= ARGV[3] or (fields[2] or "") ~= ARGV[4] or (fields[3] or "") ~= ARGV[5] then
  return 0
end
return redis.call("DEL", KEYS[1])
