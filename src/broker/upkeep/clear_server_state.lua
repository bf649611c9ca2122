-- clear_server_state: deletes this server's ServerInfo and WorkerInfo keys on shutdown (wire-format §4.25).
-- The `ZREM asynq:servers` / `ZREM asynq:workers` commands run before it, as in asynq.
--
-- KEYS[1] -> asynq:servers:{<host>:<pid>:<server_id>}
-- KEYS[2] -> asynq:workers:{<host>:<pid>:<server_id>}
--
-- Returns:
--   OK  always
redis.call("DEL", KEYS[1])
redis.call("DEL", KEYS[2])
return redis.status_reply("OK")
