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

local c = {
  pending = KEYS[1], scheduled = KEYS[2], retry = KEYS[3],
  archived = KEYS[4], completed = KEYS[5], groups = KEYS[6],
}
local expected = ARGV[1]
local scan = tonumber(ARGV[2])
local out = {}
local k = 7
for a = 4, #ARGV, 2 do
  local id, group = ARGV[a], ARGV[a + 1]
  local task_key = KEYS[k]
  k = k + 1
  c.aggregating = nil
  if group ~= "" then
    c.aggregating = KEYS[k]
    k = k + 1
  end
  local code, state = check(c, task_key, id, expected, group, "", false, scan)
  if code == DONE then
    if state == "pending" then
      code = REFUSED
    elseif not take_out(c, state, id, group, expected == "") then
      code = OUTSIDE
    else
      redis.call("LPUSH", KEYS[1], id)
      redis.call("HSET", task_key, "state", "pending", "pending_since", ARGV[3])
    end
  end
  out[#out + 1] = code
  out[#out + 1] = state
end
return out
