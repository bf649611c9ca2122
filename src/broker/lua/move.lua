-- move: the fencing check and the move out of active shared by the scripts that end an attempt.
-- Pulled in by an include line ("move") in done, mark_complete, quarantine and lua/precondition (retry, archive).

-- Fencing: true when a fence is given ("" skips the check) and the stored message is no longer the
-- one the worker dequeued: the task was recovered and has moved on (it may be running elsewhere
-- now), so a late write must not apply.
local function fenced_out(task_key, fence)
  return fence ~= nil and fence ~= "" and redis.call("HGET", task_key, "msg") ~= fence
end

-- The same check with the fence given as the SHA-1 (40 lowercase hex digits) of the message as
-- dequeued: the worker's busiest call (dequeue, which carries the successes) then sends text only,
-- which its Redis client writes at less than half the cost of a call with a binary argument.
local function fenced_out_sha1(task_key, fence_sha1)
  if fence_sha1 == nil or fence_sha1 == "" then
    return false
  end
  local msg = redis.call("HGET", task_key, "msg")
  return not msg or redis.sha1hex(msg) ~= fence_sha1
end

-- Moves an active task to the zset dest (score): removes it from active and lease, sets its hash's
-- state (and msg, when given) and drops the dequeue's claim stamp (only meaningful while active; the
-- hash then holds exactly the fields Go writes). Returns false, writing nothing, when it is not in active.
local function leave_active(active, lease, dest, score, task_key, id, state, msg)
  if redis.call("LREM", active, 0, id) == 0 then
    return false
  end
  redis.call("ZREM", lease, id)
  redis.call("ZADD", dest, score, id)
  if msg then
    redis.call("HSET", task_key, "msg", msg, "state", state)
  else
    redis.call("HSET", task_key, "state", state)
  end
  redis.call("HDEL", task_key, "claim")
  return true
end
