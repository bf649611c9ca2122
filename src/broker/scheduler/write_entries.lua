-- write_entries: replaces a scheduler's SchedulerEntry list and sets its TTL (wire-format §4.27), as
-- asynq's WriteSchedulerEntries script does: DEL, then one LPUSH per entry in the order given (so the
-- list ends up in reverse order), then EXPIRE. The `ZADD asynq:schedulers` runs before it.
--
-- KEYS[1] -> asynq:schedulers:{<scheduler ID>}
--
-- ARGV[1] -> TTL of the list, whole seconds (2 x the heartbeat interval)
-- ARGV[2...] -> the encoded SchedulerEntry messages
--
-- Returns:
--   OK  always
redis.call("DEL", KEYS[1])
for i = 2, #ARGV do
  redis.call("LPUSH", KEYS[1], ARGV[i])
end
redis.call("EXPIRE", KEYS[1], ARGV[1])
return redis.status_reply("OK")
