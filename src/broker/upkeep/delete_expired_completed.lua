-- delete_expired_completed: deletes completed tasks whose retention ran out, with their hashes (wire-format §4.17).
-- The caller reads the candidates first (ZRANGEBYSCORE completed -inf now LIMIT 0 batch), because a
-- script may only touch keys passed in KEYS; each is re-verified here (still in completed with a score
-- <= now), so a task re-completed or deleted meanwhile is never touched. No unique lock is involved:
-- it was released when the task completed.
--
-- KEYS[1] -> asynq:{<q>}:completed
-- KEYS[1+i] -> asynq:{<q>}:t:<id i>, for each candidate i = 1..n
--
-- ARGV[1] -> now, unix seconds (a task whose score, its expiry, is <= this is deleted)
-- ARGV[1+i] -> task ID of candidate i
--
-- Returns:
--   the number of tasks deleted (candidates no longer in completed or not yet expired are skipped)
local now = tonumber(ARGV[1])
local deleted = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  local score = redis.call("ZSCORE", KEYS[1], id)
  if score and tonumber(score) <= now then
    redis.call("DEL", KEYS[i])
    redis.call("ZREM", KEYS[1], id)
    deleted = deleted + 1
  end
end
return deleted
