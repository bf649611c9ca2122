-- add_lease: gives an active task that has no lease one that expires now (doctor --fix).
-- Not an asynq operation. An owner that is still running extends it (ZADD XX); otherwise a
-- recoverer (Go's or ours) retries or archives the task once the lease is 30 s overdue.
--
-- KEYS[1] -> asynq:{<q>}:active
-- KEYS[2] -> asynq:{<q>}:lease
-- KEYS[3] -> asynq:{<q>}:t:<id>
--
-- ARGV[1] -> task ID
-- ARGV[2] -> lease expiry, unix seconds
--
-- Returns:
--   1  lease added
--   0  skipped: the task has a lease now, left active, or its state is not active
if redis.call("ZSCORE", KEYS[2], ARGV[1]) or not redis.call("LPOS", KEYS[1], ARGV[1]) then
  return 0
end
if redis.call("HGET", KEYS[3], "state") ~= "active" then
  return 0
end
redis.call("ZADD", KEYS[2], ARGV[2], ARGV[1])
return 1
