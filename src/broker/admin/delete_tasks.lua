-- delete_tasks: deletes tasks for the inspector (wire-format §4.28.7), each re-verified against what the caller read.
-- One call serves DeleteTask (one ID), a list of IDs, or one batch of "delete all tasks of a state":
-- the caller reads the IDs and their `group` / `unique_key` fields first, because a script may only
-- touch keys passed in KEYS. Unlike asynq, every deleted task's uniqueness lock is released while it
-- still holds the task's ID (asynq skips it for pending and aggregating bulk deletes), and a task
-- missing from its state's container (corrupt) is deleted all the same, so no hash stays orphaned.
--
-- KEYS[1] -> asynq:{<q>}:pending
-- KEYS[2] -> asynq:{<q>}:scheduled
-- KEYS[3] -> asynq:{<q>}:retry
-- KEYS[4] -> asynq:{<q>}:archived
-- KEYS[5] -> asynq:{<q>}:completed
-- KEYS[6] -> asynq:{<q>}:groups
-- KEYS[7...] -> for each task in ARGV order: asynq:{<q>}:t:<id>, then asynq:{<q>}:g:<group> when its
--   group argument is not "", then its uniqueness lock key when its unique argument is not ""
--
-- ARGV[1] -> "" to act on tasks in any state (by ID); or a state: only tasks found in that state's
--   container (KEYS[1..5], or the group key) with that state are acted on
-- ARGV[2] -> how many elements from the tail of pending to search for an ID (ARGV[1] = "pending")
-- ARGV[3...] -> for each task, 3 entries: task ID, group ("" unless aggregating), unique_key ("" if none)
--
-- Returns:
--   a flat array with 2 entries per task, in order: code, state (nil when unknown), where code is
--   1 deleted; 0 no task hash; -1 active (refused); -3 group or unique_key changed since read;
--   -4 aggregating but not in its group (being aggregated): left alone; -5 no or unknown state;
--   -6 no longer in the ARGV[1] container; -7 was in it without a hash: removed from it;
--   -8 in it but in another state or group: left alone
-- @include lock

-- @include admin_task

-- Deletes one task that passed the checks (each_task); returns its code. A task missing from its
-- container is deleted all the same, unless it is aggregating (being aggregated: left alone).
local function delete_one(c, task_key, id, state, group, lock_key, by_id)
  if not take_out(c, state, id, group, by_id) and state == "aggregating" then
    return OUTSIDE
  end
  if lock_key then
    release_lock(lock_key, id)
  end
  redis.call("DEL", task_key)
  return DONE
end

return each_task(3, true, delete_one)
