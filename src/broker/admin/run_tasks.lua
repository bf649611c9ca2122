-- run_tasks: moves tasks to pending for the inspector (wire-format §4.28.5), each re-verified against what the caller read.
-- One call serves RunTask (one ID), a list of IDs, or one batch of "run all tasks of a state": the
-- caller reads the IDs (and, for aggregating tasks, their group) first, because a script may only
-- touch keys passed in KEYS. As in asynq: LPUSH pending, state = pending, msg, counters and the
-- uniqueness lock untouched. Unlike asynq: pending_since is set to now (asynq leaves it missing or
-- stale, which skews the queue latency), and a task missing from its container (corrupt) is left
-- alone instead of failing the script.
--
-- KEYS[1] -> asynq:{<q>}:pending
-- KEYS[2] -> asynq:{<q>}:scheduled
-- KEYS[3] -> asynq:{<q>}:retry
-- KEYS[4] -> asynq:{<q>}:archived
-- KEYS[5] -> asynq:{<q>}:completed
-- KEYS[6] -> asynq:{<q>}:groups
-- KEYS[7...] -> for each task in ARGV order: asynq:{<q>}:t:<id>, then asynq:{<q>}:g:<group> when its
--   group argument is not ""
--
-- ARGV[1] -> "" to act on tasks in any state (by ID); or a state: only tasks found in that state's
--   container (KEYS[2..5], or the group key) with that state are acted on
-- ARGV[2] -> how many elements from the tail of pending to search for an ID (unused: pending tasks are not run)
-- ARGV[3] -> now, unix nanoseconds (pending_since)
-- ARGV[4...] -> for each task, 2 entries: task ID, group ("" unless aggregating)
--
-- Returns:
--   a flat array with 2 entries per task, in order: code, state (nil when unknown), where code is
--   1 moved to pending; 0 no task hash; -1 active (refused); -2 already pending (refused);
--   -3 group changed since read; -4 not in its state's container (aggregating: being aggregated;
--   otherwise corrupt): left alone; -5 no or unknown state; -6 no longer in the ARGV[1] container;
--   -7 was in it without a hash: removed from it; -8 in it but in another state or group: left alone
-- @include admin_task

-- Moves one task that passed the checks (each_task) to pending; returns its code.
local function run_one(c, task_key, id, state, group, _, by_id)
  if state == "pending" then
    return REFUSED
  end
  if not take_out(c, state, id, group, by_id) then
    return OUTSIDE
  end
  redis.call("LPUSH", c.pending, id)
  redis.call("HSET", task_key, "state", "pending", "pending_since", ARGV[3])
  return DONE
end

return each_task(4, false, run_one)
