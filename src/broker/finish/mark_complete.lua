-- mark_complete: keeps a successfully processed task as completed until its retention ends (wire-format §4.12).
-- Unlike asynq, nothing is written when the task is not in active, and an ID already in completed
-- gets its score updated instead of failing after partial writes. The event stream gets a
-- "completed" entry, with the result, while someone listens (lua/events).
--
-- KEYS[1] -> asynq:{<q>}:active
-- KEYS[2] -> asynq:{<q>}:lease
-- KEYS[3] -> asynq:{<q>}:completed
-- KEYS[4] -> asynq:{<q>}:t:<id>
-- KEYS[5] -> asynq:{<q>}:processed:<YYYY-MM-DD>
-- KEYS[6] -> asynq:{<q>}:processed
-- KEYS[7] -> asynq:{<q>}:events:listening
-- KEYS[8] -> asynq:{<q>}:events
-- KEYS[9] -> the uniqueness lock asynq:{<q>}:unique:<type>:<md5>; only when the task has one
--
-- ARGV[1] -> task ID
-- ARGV[2] -> expiry of a new daily counter: now + 90 days, unix seconds
-- ARGV[3] -> completed zset score: completed_at + retention, unix seconds
-- ARGV[4] -> encoded TaskMessage with completed_at set
-- ARGV[5] -> optional: the encoded TaskMessage as it was dequeued (a fencing token); "" skips the check
--
-- Returns:
--   1  completed: moved from active/lease to completed, msg and state rewritten (result kept),
--      counted, lock released if still owned
--   0  the task is not in active; nothing written (or its message changed: fenced)
-- @include counters

-- @include lock

-- @include move

-- @include events

if fenced_out(KEYS[4], ARGV[5]) then
  return 0
end
if not leave_active(KEYS[1], KEYS[2], KEYS[3], ARGV[3], KEYS[4], ARGV[1], "completed", ARGV[4]) then
  return 0
end
count(ARGV[2], KEYS[5], KEYS[6])
if #KEYS >= 9 then
  release_lock(KEYS[9], ARGV[1])
end
if is_heard(KEYS[7]) then
  local result = result_for_event(KEYS[4])
  if result then
    append_event(KEYS[8], "event", "completed", "id", ARGV[1], "result", result)
  else
    append_event(KEYS[8], "event", "completed", "id", ARGV[1])
  end
end
return 1
