-- done: the success transition of a task with no retention (wire-format §4.11), shared by done and dequeue.
-- Pulled in by an include line ("done"); it pulls in what it uses itself (each library is included once).
-- Deletes the task when it is still the one the worker dequeued: removes it from active and lease,
-- deletes its hash, counts it as processed and releases its lock while the lock still holds its ID.
-- The fence is the message as dequeued, or its SHA-1 in hex when fence_is_sha1 (see move.lua). With
-- uncounted, the caller counts the task itself (count_processed, once for a batch). The queue's
-- event stream gets `event` ("completed", with the result, or "revoked") while someone listens:
-- `heard` says whether someone does (the caller checks once for a batch: is_heard).
-- Returns 1 when done, 0 when nothing was written (not in active, or its message changed: fenced).
-- @include counters

-- @include events

-- @include lock

-- @include move

local function finish_done(active, lease, task_key, processed_day, processed_total, lock_key, id, expire_at, fence, fence_is_sha1, uncounted, heard, stream, event)
  local fenced
  if fence_is_sha1 then
    fenced = fenced_out_sha1(task_key, fence)
  else
    fenced = fenced_out(task_key, fence)
  end
  if fenced then
    return 0
  end
  if redis.call("LREM", active, 0, id) == 0 then
    return 0
  end
  redis.call("ZREM", lease, id)
  -- The result goes with the event: the hash holding it is deleted next.
  local result = false
  if heard and event == "completed" then
    result = result_for_event(task_key)
  end
  redis.call("DEL", task_key)
  if not uncounted then
    count(expire_at, processed_day, processed_total)
  end
  if lock_key then
    release_lock(lock_key, id)
  end
  if heard then
    if result then
      append_event(stream, "event", event, "id", id, "result", result)
    else
      append_event(stream, "event", event, "id", id)
    end
  end
  return 1
end
