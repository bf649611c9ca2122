-- write_result: stores the handler's result in the task hash, only if the hash still exists (wire-format §4.24).
-- Unlike asynq's plain HSET, a deleted task is not re-created as a hash holding only `result`.
--
-- KEYS[1] -> asynq:{<q>}:t:<id>
--
-- ARGV[1] -> the result bytes
--
-- Returns:
--   1  written
--   0  the task hash does not exist; nothing written
if redis.call("EXISTS", KEYS[1]) == 0 then
  return 0
end
redis.call("HSET", KEYS[1], "result", ARGV[1])
return 1
