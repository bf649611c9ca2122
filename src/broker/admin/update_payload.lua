-- update_payload: replaces the msg of a pending or scheduled task, only if it is unchanged since the caller read it (wire-format §4.28.8).
-- asynq v0.26 allows scheduled tasks only and writes without checking; here the caller passes the
-- allowed states and the msg it read, so a task that changed or moved in between is not
-- overwritten. Nothing else is written (unique_key and the lock stay as they are).
--
-- KEYS[1] -> asynq:{<q>}:t:<id>
--
-- ARGV[1] -> the msg as the caller read it
-- ARGV[2] -> the new msg
-- ARGV[3...] -> the states in which the task may be updated
--
-- Returns:
--   { code, state } where code is 1 updated; 0 no task hash; -1 the state is not allowed (nothing
--   written); -2 msg changed since it was read (nothing written); state is the task's state (nil
--   when absent)
local fields = redis.call("HMGET", KEYS[1], "state", "msg")
local state = fields[1]
if not state and redis.call("EXISTS", KEYS[1]) == 0 then
  return { 0, false }
end
local allowed = false
for i = 3, #ARGV do
  if state == ARGV[i] then
    allowed = true
  end
end
if not allowed then
  return { -1, state }
end
if fields[2] ~= ARGV[1] then
  return { -2, state }
end
redis.call("HSET", KEYS[1], "msg", ARGV[2])
return { 1, state }
