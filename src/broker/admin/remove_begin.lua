-- remove_begin: the first step of removing a queue (wire-format §4.28.9): the emptiness or active check,
-- and, for a forced removal, pausing the queue so that no server (Go or ours) dequeues while its tasks are
-- deleted. Unlike asynq, the non-forced check also counts completed and aggregating tasks (groups and
-- aggregation sets): a non-forced removal never deletes a task.
--
-- KEYS[1] -> asynq:{<q>}:pending
-- KEYS[2] -> asynq:{<q>}:active
-- KEYS[3] -> asynq:{<q>}:scheduled
-- KEYS[4] -> asynq:{<q>}:retry
-- KEYS[5] -> asynq:{<q>}:archived
-- KEYS[6] -> asynq:{<q>}:completed
-- KEYS[7] -> asynq:{<q>}:groups
-- KEYS[8] -> asynq:{<q>}:aggregation_sets
-- KEYS[9] -> asynq:{<q>}:paused
-- KEYS[10...] -> asynq:{<q>}:g:<group>, one per member of the groups set as the caller read it
--
-- ARGV[1] -> "1" for a forced removal, "0" otherwise
-- ARGV[2] -> now, unix seconds (the value of the paused key when this call sets it)
--
-- Returns:
--   -1 when not forced and the queue holds a task (in any container, a group or an aggregation set)
--   -2 when forced and the queue has active tasks
--    0 when not forced and the queue is empty (nothing was written)
--    1 when forced: the queue was not paused and this call paused it
--    2 when forced: the queue was already paused (left as it is)
if ARGV[1] ~= "1" then
  local held = redis.call("LLEN", KEYS[1]) + redis.call("LLEN", KEYS[2])
    + redis.call("ZCARD", KEYS[3]) + redis.call("ZCARD", KEYS[4])
    + redis.call("ZCARD", KEYS[5]) + redis.call("ZCARD", KEYS[6])
    + redis.call("SCARD", KEYS[7]) + redis.call("ZCARD", KEYS[8])
  for i = 10, #KEYS do
    held = held + redis.call("ZCARD", KEYS[i])
  end
  if held > 0 then
    return -1
  end
  return 0
end
if redis.call("LLEN", KEYS[2]) > 0 then
  return -2
end
if redis.call("SET", KEYS[9], ARGV[2], "NX") then
  return 1
end
return 2
