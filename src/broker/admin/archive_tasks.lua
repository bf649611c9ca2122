-- archive_tasks: archives tasks for the inspector (wire-format §4.28.6), each re-verified against what the caller read.
-- One call serves ArchiveTask (one ID), a list of IDs, or one batch of "archive all tasks of a
-- state": the caller reads the IDs and their `group` / `unique_key` fields first, because a script
-- may only touch keys passed in KEYS. As in asynq: score = now, state = archived, msg and counters
-- untouched (a stale pending_since stays). Unlike asynq: the uniqueness lock is released while it
-- still holds the task's ID (archived is not a live state), a task missing from its container
-- (corrupt) is left alone instead of failing the script, and the archive is not trimmed here (the
-- caller runs trim_archive afterwards).
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
-- ARGV[3] -> now, unix seconds (the archived score)
-- ARGV[4...] -> for each task, 3 entries: task ID, group ("" unless aggregating), unique_key ("" if none)
--
-- Returns:
--   a flat array with 2 entries per task, in order: code, state (nil when unknown), where code is
--   1 archived; 0 no task hash; -1 active (refused); -2 already archived (refused);
--   -3 group or unique_key changed since read; -4 not in its state's container (aggregating: being
--   aggregated; otherwise corrupt): left alone; -5 no or unknown state; -6 no longer in the ARGV[1]
--   container; -7 was in it without a hash: removed from it; -8 in it but in another state or
--   group: left alone
-- @include lock

-- @include admin_task

-- Archives one task that passed the checks (each_task); returns its code.
local function archive_one(c, task_key, id, state, group, lock_key, by_id)
  if state == "archived" then
    return REFUSED
  end
  if not take_out(c, state, id, group, by_id) then
    return OUTSIDE
  end
  redis.call("ZADD", c.archived, ARGV[3], id)
  redis.call("HSET", task_key, "state", "archived")
  if lock_key then
    release_lock(lock_key, id)
  end
  return DONE
end

return each_task(4, true, archive_one)
