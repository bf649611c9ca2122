-- write_progress: stores a running task's progress in its hash (field `progress`, which Go's asynq ignores).
-- Written only while the task is active and still the one the worker dequeued (the fence: the SHA-1
-- of its message as dequeued, see lua/move.lua); the event stream gets a "progress" entry while
-- someone listens (lua/events.lua). The field goes with the hash (deleted on success, kept with a
-- retained or archived task).
--
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- KEYS[2] -> asynq:{<q>}:events:listening
-- KEYS[3] -> asynq:{<q>}:events
--
-- ARGV[1] -> task ID
-- ARGV[2] -> the progress, JSON text
-- ARGV[3] -> the fence: SHA-1 (40 lowercase hex digits) of the message as dequeued; "" skips the check
--
-- Returns:
--   1  written
--   0  the task is not active, or its message changed (fenced); nothing written
-- @include move

-- @include events

if redis.call("HGET", KEYS[1], "state") ~= "active" or fenced_out_sha1(KEYS[1], ARGV[3]) then
  return 0
end
redis.call("HSET", KEYS[1], "progress", ARGV[2])
emit_event(KEYS[2], KEYS[3], "event", "progress", "id", ARGV[1], "progress", ARGV[2])
return 1
