-- write_server_state: stores this server's ServerInfo and replaces its WorkerInfo hash, both with a TTL (wire-format §4.25).
-- Same writes as asynq's script; the two `ZADD asynq:servers` / `ZADD asynq:workers` commands run before it.
-- With no workers the hash is only deleted, so EXPIRE finds no key (as in asynq).
--
-- KEYS[1] -> asynq:servers:{<host>:<pid>:<server_id>}
-- KEYS[2] -> asynq:workers:{<host>:<pid>:<server_id>}
--
-- ARGV[1] -> TTL of both keys, whole seconds
-- ARGV[2] -> the ServerInfo bytes
-- ARGV[3...] -> pairs: task ID, then the WorkerInfo bytes of that task
--
-- Returns:
--   OK  always
redis.call("SETEX", KEYS[1], ARGV[1], ARGV[2])
redis.call("DEL", KEYS[2])
for i = 3, #ARGV - 1, 2 do
  redis.call("HSET", KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call("EXPIRE", KEYS[2], ARGV[1])
return redis.status_reply("OK")
