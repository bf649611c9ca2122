-- quarantine: archives an active task whose msg cannot be decoded, leaving msg untouched and counting nothing.
-- Not an asynq operation: it moves a corrupt task aside instead of retrying it forever. An active ID
-- whose task hash is missing is only removed from active and lease (no dangling archived ID).
--
-- KEYS[1] -> asynq:{<q>}:active
-- KEYS[2] -> asynq:{<q>}:lease
-- KEYS[3] -> asynq:{<q>}:archived
-- KEYS[4] -> asynq:{<q>}:t:<id>
--
-- ARGV[1] -> task ID
-- ARGV[2] -> now, unix seconds (the archived zset score)
--
-- Returns:
--   1  archived (or, when its hash was missing, removed from active and lease)
--   0  the task is not in active; nothing written
if redis.call("LREM", KEYS[1], 0, ARGV[1]) == 0 then
  return 0
end
redis.call("ZREM", KEYS[2], ARGV[1])
if redis.call("EXISTS", KEYS[4]) == 1 then
  redis.call("ZADD", KEYS[3], ARGV[2], ARGV[1])
  redis.call("HSET", KEYS[4], "state", "archived")
  redis.call("HDEL", KEYS[4], "claim") -- the dequeue's claim stamp: only meaningful while active
end
return 1
