-- lock: releases a uniqueness lock only while it still holds the task's ID (wire-format §1.5).
-- Pulled in by an include line ("lock") in every script that ends a task's life.
-- Deletes the uniqueness lock only while it is still held by this task.
local function release_lock(lock_key, id)
  if redis.call("GET", lock_key) == id then
    redis.call("DEL", lock_key)
  end
end
