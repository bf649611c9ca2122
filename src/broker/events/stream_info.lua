-- stream_info: XINFO STREAM of a queue's event stream, as a script so that a Redis Cluster routes it
-- by its key (ioredis knows no key of XINFO, and would send it to any node).
--
-- KEYS[1] -> asynq:{<q>}:events
--
-- Returns:
--   nil   the stream does not exist
--   the XINFO STREAM reply: field, value, field, value… (entries-added from Redis 7.0)
if redis.call("EXISTS", KEYS[1]) == 0 then
  return nil
end
return redis.call("XINFO", "STREAM", KEYS[1])
