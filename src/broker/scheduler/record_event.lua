-- record_event: adds one SchedulerEnqueueEvent to an entry's history and caps it (wire-format §4.27), as
-- asynq's RecordSchedulerEnqueueEvent script does: ZREMRANGEBYRANK 0 -cap keeps the newest cap - 1
-- events, then ZADD makes them cap.
--
-- KEYS[1] -> asynq:scheduler_history:<entry ID>
--
-- ARGV[1] -> the enqueue time, unix seconds (the score)
-- ARGV[2] -> the encoded SchedulerEnqueueEvent
-- ARGV[3] -> the cap (asynq: 1000)
--
-- Returns:
--   OK  always
redis.call("ZREMRANGEBYRANK", KEYS[1], 0, -tonumber(ARGV[3]))
redis.call("ZADD", KEYS[1], ARGV[1], ARGV[2])
return redis.status_reply("OK")
