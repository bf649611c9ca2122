-- remove_lease: removes a lease entry whose ID is not in active (doctor --fix).
-- Not an asynq operation. Re-verifies that active still does not hold the ID.
--
-- KEYS[1] -> asynq:{<q>}:lease
-- KEYS[2] -> asynq:{<q>}:active
--
-- ARGV[1] -> task ID
--
-- Returns:
--   1  removed
--   0  skipped: the ID is in active now, or has no lease entry
if redis.call("LPOS", KEYS[2], ARGV[1]) then
  return 0
end
return redis.call("ZREM", KEYS[1], ARGV[1])
