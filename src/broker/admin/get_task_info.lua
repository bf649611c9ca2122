-- get_task_info: reads one task record and when it will next be processed (wire-format §4.28.3).
--
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- KEYS[2] -> asynq:{<q>}:scheduled
-- KEYS[3] -> asynq:{<q>}:retry
--
-- ARGV[1] -> task ID
--
-- Returns:
--   nil when the task hash does not exist, else an array
--   { msg, state, result, score, progress } where score is the scheduled/retry zset score (or false)
--   and the other fields are false when absent (progress: asynq-ts only, see finish/write_progress).
if redis.call("EXISTS", KEYS[1]) == 0 then
  return nil
end
local fields = redis.call("HMGET", KEYS[1], "msg", "state", "result", "progress")
local score = false
if fields[2] == "scheduled" then
  score = redis.call("ZSCORE", KEYS[2], ARGV[1])
elseif fields[2] == "retry" then
  score = redis.call("ZSCORE", KEYS[3], ARGV[1])
end
return { fields[1], fields[2], fields[3], score, fields[4] }
