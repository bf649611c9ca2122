-- restore: puts an orphaned task hash back into the container its state names (doctor --fix).
-- Not an asynq operation. Re-verifies that the hash still has the state the audit saw and that the
-- container still does not hold the ID, then adds it: LPUSH for pending; LPUSH active plus a lease
-- (so that a recoverer settles the task unless an owner extends the lease) for active; ZADD for the
-- other zsets; ZADD to the group plus SADD to `groups` for aggregating.
--
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- KEYS[2] -> the container: asynq:{<q>}:<state>, or asynq:{<q>}:g:<group> for aggregating
-- KEYS[3] -> mode "active": asynq:{<q>}:lease; mode "group": asynq:{<q>}:groups; absent otherwise
--
-- ARGV[1] -> task ID
-- ARGV[2] -> the state the audit saw
-- ARGV[3] -> mode: "list" (LPUSH), "zset" (ZADD), "active" (LPUSH + lease), "group" (ZADD + SADD)
-- ARGV[4] -> zset score or lease expiry, unix seconds (ignored in mode "list")
-- ARGV[5] -> mode "group": the group name
--
-- Returns:
--   1  restored
--   0  skipped: the hash is gone, its state changed, or the container already holds the ID
-- @include doctor

if redis.call("HGET", KEYS[1], "state") ~= ARGV[2] then
  return 0
end
local mode = ARGV[3]
local kind = "zset"
if mode == "list" or mode == "active" then
  kind = "list"
end
if holds(KEYS[2], kind, ARGV[1]) then
  return 0
end
if kind == "list" then
  redis.call("LPUSH", KEYS[2], ARGV[1])
else
  redis.call("ZADD", KEYS[2], ARGV[4], ARGV[1])
end
if mode == "active" then
  redis.call("ZADD", KEYS[3], "NX", ARGV[4], ARGV[1])
elseif mode == "group" then
  redis.call("SADD", KEYS[3], ARGV[5])
end
return 1
