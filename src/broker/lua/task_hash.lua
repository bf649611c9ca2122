-- task_hash: the hash of a new task, as asynq's single-task enqueue scripts write it (wire-format §4.2
-- to §4.7: enqueue, schedule, add-to-group and their unique forms; same fields in the same order).
-- Pulled in by an include line ("task_hash") in enqueue/enqueue_many and scheduler/enqueue_tick; each
-- of them adds the task's ID to its pending list, scheduled zset or group zset itself.

-- The kinds of task, as the byte of their letter: p pending, s scheduled, g grouped.
local KIND_PENDING, KIND_SCHEDULED, KIND_GROUPED = string.byte("psg", 1, 3)

-- Takes the uniqueness lock (when lock_key is given, for ttl seconds) and writes the task's hash:
-- state pending with pending_since (since, unix ns), scheduled, or aggregating with its group.
-- Returns 1 written; -1 the lock is held by another task; 0 a hash with this ID exists already (the
-- lock just taken is given back). Nothing is written unless it returns 1.
local function write_task_hash(task_key, id, msg, kind, lock_key, ttl, since, group)
  if lock_key and not redis.call("SET", lock_key, id, "NX", "EX", ttl) then
    return -1
  end
  if redis.call("EXISTS", task_key) == 1 then
    if lock_key then
      redis.call("DEL", lock_key)
    end
    return 0
  end
  if kind == KIND_PENDING then
    if lock_key then
      redis.call("HSET", task_key, "msg", msg, "state", "pending", "pending_since", since, "unique_key", lock_key)
    else
      redis.call("HSET", task_key, "msg", msg, "state", "pending", "pending_since", since)
    end
  elseif kind == KIND_SCHEDULED then
    if lock_key then
      redis.call("HSET", task_key, "msg", msg, "state", "scheduled", "unique_key", lock_key)
    else
      redis.call("HSET", task_key, "msg", msg, "state", "scheduled")
    end
  elseif lock_key then
    redis.call("HSET", task_key, "msg", msg, "state", "aggregating", "group", group, "unique_key", lock_key)
  else
    redis.call("HSET", task_key, "msg", msg, "state", "aggregating", "group", group)
  end
  return 1
end
