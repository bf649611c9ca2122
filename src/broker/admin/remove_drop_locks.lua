-- remove_drop_locks: deletes the uniqueness locks of a queue being removed (wire-format §1.5, §4.28.9) whose
-- holder task no longer exists. asynq's RemoveQueue leaves every lock behind, so a re-enqueue of a
-- removed unique task is rejected until the TTL runs out; we delete them, but never a lock whose task
-- still exists (one enqueued while the queue was being removed). The caller read each lock's value (the
-- holder's task ID) first; a lock whose value changed since is kept.
--
-- KEYS[2i-1] -> asynq:{<q>}:unique:<type>:<md5>, lock i = 1..n
-- KEYS[2i] -> asynq:{<q>}:t:<holder id i>, the holder's task hash
--
-- ARGV[i] -> the value of lock i (the holder's task ID) as the caller read it
--
-- Returns:
--   the number of locks deleted
local deleted = 0
for i = 1, #ARGV do
  local lock = KEYS[2 * i - 1]
  if redis.call("GET", lock) == ARGV[i] and redis.call("EXISTS", KEYS[2 * i]) == 0 then
    redis.call("DEL", lock)
    deleted = deleted + 1
  end
end
return deleted
