-- expire: gives a key that must expire, and has no TTL, an expiry (doctor --fix).
-- Not an asynq operation. A time in the past deletes the key at once (a daily counter older than
-- its 90 days).
--
-- KEYS[1] -> the key (a daily counter, or a server, workers or scheduler-entries key)
--
-- ARGV[1] -> expiry, unix seconds
--
-- Returns:
--   1  expiry set
--   0  skipped: the key is gone or has a TTL now
if redis.call("TTL", KEYS[1]) ~= -1 then
  return 0
end
redis.call("EXPIREAT", KEYS[1], ARGV[1])
return 1
