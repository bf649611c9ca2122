-- remove_finish: the last step of a queue removal inside the queue's slot (wire-format §4.28.9). Drops
-- group names whose group zset is empty and aggregation-set entries whose set is empty, then, when no
-- task is left, deletes lease, paused, groups and aggregation_sets. When tasks are left (they arrived
-- during the removal, or a non-forced removal found some), the queue stays: only a pause set by this
-- removal is undone. The caller then unregisters the queue (asynq:queues is in another slot).
--
-- KEYS[1] -> asynq:{<q>}:pending
-- KEYS[2] -> asynq:{<q>}:active
-- KEYS[3] -> asynq:{<q>}:scheduled
-- KEYS[4] -> asynq:{<q>}:retry
-- KEYS[5] -> asynq:{<q>}:archived
-- KEYS[6] -> asynq:{<q>}:completed
-- KEYS[7] -> asynq:{<q>}:lease
-- KEYS[8] -> asynq:{<q>}:paused
-- KEYS[9] -> asynq:{<q>}:groups
-- KEYS[10] -> asynq:{<q>}:aggregation_sets
-- KEYS[11 .. 10+G] -> asynq:{<q>}:g:<group>, one per member of groups as the caller read it (G = ARGV[1])
-- KEYS[11+G ...] -> each member of aggregation_sets as the caller read it that is a key of this queue
--                   (asynq:{<q>}:g:<group>:<set>)
--
-- ARGV[1] -> G, the number of group keys
-- ARGV[2] -> "1" when this removal paused the queue, "0" otherwise
-- ARGV[3 .. 2+G] -> the group names, in the order of their keys
-- ARGV[3+G ...] -> members of aggregation_sets that are not keys of this queue (corrupt entries): removed
--
-- Returns:
--   { 1, keys deleted } when the queue holds no task any more (lease, paused and the group sets deleted)
--   { 0, tasks left } otherwise (active, pending, zset members, group and aggregation-set entries)
local g = tonumber(ARGV[1])
for i = 1, g do
  if redis.call("ZCARD", KEYS[10 + i]) == 0 then
    redis.call("SREM", KEYS[9], ARGV[2 + i])
  end
end
for i = 11 + g, #KEYS do
  if redis.call("ZCARD", KEYS[i]) == 0 then
    redis.call("ZREM", KEYS[10], KEYS[i])
  end
end
for i = 3 + g, #ARGV do
  redis.call("ZREM", KEYS[10], ARGV[i])
end
local left = redis.call("LLEN", KEYS[1]) + redis.call("LLEN", KEYS[2])
  + redis.call("ZCARD", KEYS[3]) + redis.call("ZCARD", KEYS[4])
  + redis.call("ZCARD", KEYS[5]) + redis.call("ZCARD", KEYS[6])
  + redis.call("SCARD", KEYS[9]) + redis.call("ZCARD", KEYS[10])
if left > 0 then
  if ARGV[2] == "1" then
    redis.call("DEL", KEYS[8])
  end
  return { 0, left }
end
return { 1, redis.call("DEL", KEYS[7], KEYS[8], KEYS[9], KEYS[10]) }
