-- read_tasks: reads the fields the doctor judges from a batch of task hashes (read-only).
-- Not an asynq operation. One call replaces a pipeline of one HMGET per task (the doctor reads every
-- task hash of a Redis, twice); the caller sends at most 500 keys per call.
--
-- KEYS[i] -> asynq:{<q>}:t:<id i>, all of one queue
--
-- ARGV[1] -> "full": state, msg, group, unique_key; "light": state, group
--
-- Returns:
--   a flat array with, per key in order: 1 when the hash exists, 0 when it does not, -1 when the key
--   is not a hash; then the fields (nil when absent, and for a missing or wrongly typed key)
local full = ARGV[1] == "full"
local width = full and 4 or 2
local out = {}
local n = 0
for i = 1, #KEYS do
  local kind = redis.call("TYPE", KEYS[i])["ok"]
  local fields = nil
  if kind == "hash" then
    out[n + 1] = 1
    if full then
      fields = redis.call("HMGET", KEYS[i], "state", "msg", "group", "unique_key")
    else
      fields = redis.call("HMGET", KEYS[i], "state", "group")
    end
  elseif kind == "none" then
    out[n + 1] = 0
  else
    out[n + 1] = -1
  end
  for j = 1, width do
    out[n + 1 + j] = fields and fields[j] or false
  end
  n = n + 1 + width
end
return out
