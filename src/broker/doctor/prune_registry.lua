-- prune_registry: removes an expired member of asynq:servers, asynq:workers or asynq:schedulers (doctor --fix).
-- Not an asynq operation (asynq's listers prune these lazily). The caller has checked that the
-- member's key is gone; this re-verifies that the expiry score is still the one the audit saw (a
-- heartbeat meanwhile raises it). One key only: the member's key lives in another cluster slot.
--
-- KEYS[1] -> asynq:servers, asynq:workers or asynq:schedulers
--
-- ARGV[1] -> the member (the server, workers or scheduler-entries key)
-- ARGV[2] -> the expiry score the audit saw, unix seconds
--
-- Returns:
--   1  removed
--   0  skipped: the score changed or the member is gone
local score = redis.call("ZSCORE", KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then
  return 0
end
return redis.call("ZREM", KEYS[1], ARGV[1])
