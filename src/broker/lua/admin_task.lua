-- admin_task: the per-task loop, checks and container moves shared by the inspector's admin/delete_tasks, admin/archive_tasks and admin/run_tasks.
-- Pulled in by an include line ("admin_task"). The reply codes are read by src/broker/admin/mutate.ts.
-- each_task reads the KEYS and ARGV layout the three scripts share, which their headers document.
local DONE, NOT_FOUND, ACTIVE, REFUSED, CHANGED, OUTSIDE, UNKNOWN, MOVED, DANGLING, STUCK =
  1, 0, -1, -2, -3, -4, -5, -6, -7, -8

local KNOWN_STATES = {
  pending = true, active = true, scheduled = true, retry = true,
  archived = true, completed = true, aggregating = true,
}

-- c maps each state to its container key: pending, scheduled, retry, archived, completed, and
-- aggregating (the task's group key, or nil when the caller passed no group); c.groups is the
-- groups set. Whether id is in the container of state; a pending ID is looked for among the `scan`
-- elements nearest the tail only (the caller read it there).
local function is_in(c, state, id, scan)
  if state == "pending" then
    return redis.call("LPOS", c.pending, id, "RANK", -1, "MAXLEN", scan) ~= false
  end
  local key = c[state]
  return key ~= nil and redis.call("ZSCORE", key, id) ~= false
end

-- How far from the head of pending a task acted on by ID is looked for before scanning from the tail.
local HEAD_PROBE = 1000

-- Removes id from the container of state; false when it was not there. A pending ID is removed
-- where it is nearest the tail (where bulk candidates are read), or, for a call by ID (by_id),
-- nearest the head when it is among the HEAD_PROBE newest: so removing one pending task scans the
-- list once at most. A group left empty is removed from the groups set.
local function take_out(c, state, id, group, by_id)
  if state == "pending" then
    if by_id and redis.call("LPOS", c.pending, id, "MAXLEN", HEAD_PROBE) then
      return redis.call("LREM", c.pending, 1, id) > 0
    end
    return redis.call("LREM", c.pending, -1, id) > 0
  end
  local key = c[state]
  if key == nil or redis.call("ZREM", key, id) == 0 then
    return false
  end
  if state == "aggregating" and redis.call("ZCARD", key) == 0 then
    redis.call("SREM", c.groups, group)
  end
  return true
end

-- Reads one task and checks it against what the caller read. expected is "" for a call by ID, or
-- the state whose container the caller read the ID from (a call on all tasks of a state); group
-- and unique are the hash fields `group` (passed for aggregating tasks only) and `unique_key` as
-- the caller read them; with_unique false skips the unique_key check (the op keeps the lock).
-- Returns code, state: DONE (the op may go ahead; state is a known state other than active) or
--   NOT_FOUND  no task hash
--   ACTIVE     the task is active
--   CHANGED    group or unique_key differ from the caller's: read again
--   UNKNOWN    the hash has no state field, or an unknown one
--   MOVED      (expected given) the ID is no longer in that container: skipped
--   DANGLING   (expected given) the ID was in that container without a hash: removed from it
--   STUCK      (expected given) in that container but the hash is in another state, or another
--              group: left alone
local function check(c, task_key, id, expected, group, unique, with_unique, scan)
  if expected ~= "" and not is_in(c, expected, id, scan) then
    return MOVED, false
  end
  local f = redis.call("HMGET", task_key, "state", "group", "unique_key")
  local state = f[1]
  if not state then
    if redis.call("EXISTS", task_key) == 1 then
      return UNKNOWN, false
    end
    if expected ~= "" then
      take_out(c, expected, id, group, false)
      return DANGLING, false
    end
    return NOT_FOUND, false
  end
  if expected ~= "" and state ~= expected then
    return STUCK, state
  end
  if not KNOWN_STATES[state] then
    return UNKNOWN, state
  end
  if state == "active" then
    return ACTIVE, state
  end
  if state == "aggregating" and (f[2] or "") ~= group then
    if expected ~= "" then
      return STUCK, state
    end
    return CHANGED, state
  end
  if with_unique and (f[3] or "") ~= unique then
    return CHANGED, state
  end
  return DONE, state
end

-- The per-task loop of the three scripts; each script passes only its effect, act. Reads the layout
-- their headers document: KEYS[1..6] the containers (pending, scheduled, retry, archived, completed,
-- groups); ARGV[1] the state expected ("" for a call by ID) and ARGV[2] the pending scan length; per
-- task, from ARGV[first] on, its ID, its group ("" unless aggregating) and, when with_unique, its
-- unique_key; and from KEYS[7] on, its task key, then its group key when its group is not "", then
-- its lock key when its unique_key is not "". Each task is checked first (check); one that passes is
-- handed to act(c, task_key, id, state, group, lock_key, by_id), where c.aggregating is its group
-- key, lock_key is nil without a unique_key and by_id is true for a call by ID; act returns the
-- task's code. Returns the flat array of code, state for each task.
local function each_task(first, with_unique, act)
  local c = {
    pending = KEYS[1], scheduled = KEYS[2], retry = KEYS[3],
    archived = KEYS[4], completed = KEYS[5], groups = KEYS[6],
  }
  local expected = ARGV[1]
  local scan = tonumber(ARGV[2])
  local out = {}
  local k = 7
  for a = first, #ARGV, with_unique and 3 or 2 do
    local id, group = ARGV[a], ARGV[a + 1]
    local unique = with_unique and ARGV[a + 2] or ""
    local task_key = KEYS[k]
    k = k + 1
    c.aggregating = nil
    if group ~= "" then
      c.aggregating = KEYS[k]
      k = k + 1
    end
    local lock_key
    if unique ~= "" then
      lock_key = KEYS[k]
      k = k + 1
    end
    local code, state = check(c, task_key, id, expected, group, unique, with_unique, scan)
    if code == DONE then
      code = act(c, task_key, id, state, group, lock_key, expected == "")
    end
    out[#out + 1] = code
    out[#out + 1] = state
  end
  return out
end
