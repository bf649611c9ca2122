-- remove_drop_hashes: deals with task hashes a queue removal found by SCAN after emptying the containers
-- (wire-format §4.28.9). A hash whose ID is not in the container its state names is an orphan (asynq's
-- inspector-side archive trims leak such hashes, §9.4) and is deleted. A hash whose ID is in its
-- container belongs to a task that arrived during the removal: a forced removal deletes it (ID and hash
-- together), a non-forced one keeps it. Active tasks are always kept. The caller read each candidate's
-- state and group first (a group key is passed only when the state was aggregating); a candidate whose
-- state or group changed since is kept, as is an aggregating task outside its group while any
-- aggregation set exists (it may be in one).
--
-- KEYS[1] -> asynq:{<q>}:pending
-- KEYS[2] -> asynq:{<q>}:scheduled
-- KEYS[3] -> asynq:{<q>}:retry
-- KEYS[4] -> asynq:{<q>}:archived
-- KEYS[5] -> asynq:{<q>}:completed
-- KEYS[6] -> asynq:{<q>}:aggregation_sets
-- KEYS[7...] -> for each candidate i = 1..n in order: asynq:{<q>}:t:<id i>, followed by
--               asynq:{<q>}:g:<group i> only when the caller read state "aggregating" and a non-empty group
--
-- ARGV[1] -> "1" for a forced removal, "0" otherwise
-- ARGV[2+3(i-1)] -> task ID of candidate i
-- ARGV[3+3(i-1)] -> its state as the caller read it ("" when absent)
-- ARGV[4+3(i-1)] -> its group as the caller read it ("" when absent)
--
-- Returns:
--   { deleted, orphans, kept }: tasks deleted with their container entry, orphan hashes deleted,
--   hashes kept (active, changed, or in a container during a non-forced removal)
local containers = { pending = 1, scheduled = 2, retry = 3, archived = 4, completed = 5 }
local force = ARGV[1] == "1"
local deleted, orphans, kept = 0, 0, 0
local k = 7
for a = 2, #ARGV, 3 do
  local id, state, group = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local task_key = KEYS[k]
  local group_key = nil
  k = k + 1
  if state == "aggregating" and group ~= "" then
    group_key = KEYS[k]
    k = k + 1
  end
  local kind = redis.call("TYPE", task_key)["ok"]
  if kind == "hash" then
    local now = redis.call("HMGET", task_key, "state", "group")
    if (now[1] or "") ~= state or (now[2] or "") ~= group or state == "active" then
      kept = kept + 1
    else
      local c = containers[state]
      local member = false
      local unsure = false
      if c == 1 then
        member = redis.call("LPOS", KEYS[1], id) ~= false
      elseif c then
        member = redis.call("ZSCORE", KEYS[c], id) ~= false
      elseif state == "aggregating" then
        member = group_key ~= nil and redis.call("ZSCORE", group_key, id) ~= false
        unsure = not member and redis.call("ZCARD", KEYS[6]) > 0
      end
      if unsure or (member and not force) then
        kept = kept + 1
      elseif member then
        if c == 1 then
          redis.call("LREM", KEYS[1], 0, id)
        elseif c then
          redis.call("ZREM", KEYS[c], id)
        else
          redis.call("ZREM", group_key, id)
        end
        redis.call("DEL", task_key)
        deleted = deleted + 1
      else
        redis.call("DEL", task_key)
        orphans = orphans + 1
      end
    end
  elseif kind ~= "none" then
    kept = kept + 1
  end
end
return { deleted, orphans, kept }
