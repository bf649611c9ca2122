-- enqueue_tick: writes the task of one scheduler tick, unless that tick (or a later one) of the same
-- entry was enqueued already by any asynq-ts scheduler. The entry's tick marker (a string with a TTL,
-- asynq-ts only: docs/compatibility.md) holds "<tick unix s> <task ID>" of the last tick enqueued; it
-- is checked and moved forward in the same script as the task is written, so two schedulers cannot
-- both enqueue one tick. The task is written as asynq's enqueue, schedule and add-to-group scripts
-- (and their unique forms) write it (wire-format §4.2 to §4.7; the hash by lua/task_hash, shared with
-- enqueue_many): same hash fields, list and zset entries.
--
-- KEYS[1] -> asynq:{<q>}:scheduler_tick:<entry identity>
-- KEYS[2] -> asynq:{<q>}:t:<task ID>
-- KEYS[3] -> asynq:{<q>}:pending (kind p), asynq:{<q>}:scheduled (kind s) or asynq:{<q>}:g:<group> (kind g)
-- KEYS[4] -> asynq:{<q>}:groups (written for kind g only)
-- KEYS[5] -> asynq:{<q>}:unique:<type>:<md5 of payload> (present only when unique)
--
-- ARGV[1] -> the tick, unix seconds
-- ARGV[2] -> the least gap between two enqueued ticks, seconds (1 for cron specs, the interval for @every)
-- ARGV[3] -> TTL of the marker, whole seconds
-- ARGV[4] -> the marker's new value: "<ARGV[1]> <ARGV[6]>" (the tick, a space, the task ID)
-- ARGV[5] -> kind: p pending, s scheduled, g grouped; upper case (P, S, G) when unique
-- ARGV[6] -> the task ID
-- ARGV[7] -> the encoded TaskMessage
-- ARGV[8] -> kind p: now in unix nanoseconds (pending_since); s: the process-at, unix s; g: now, unix s
-- ARGV[9] -> the group name (kind g), else ""
-- ARGV[10] -> the lock TTL in whole seconds (when unique), else ""
-- ARGV[11] -> 1: write only if the marker exists (the run-once of a missed @every tick); 0: always
--
-- Returns:
--   1  written, and the marker moved to this tick
--   2  this very task was written for this tick by an earlier run of this call (a re-sent command);
--      nothing written
--   3  this tick, or one less than the gap before it, was enqueued already (or, with ARGV[11] = 1,
--      the marker does not exist); nothing written
--  -1  the uniqueness lock is held by another task; nothing written
--   0  a task hash with this ID exists already; nothing written
-- @include task_hash

local tick = tonumber(ARGV[1])
local id = ARGV[6]
local mark = redis.call("GET", KEYS[1])
if mark then
  if mark == ARGV[4] then
    return 2
  end
  local space = string.find(mark, " ", 1, true)
  if space then
    local last = tonumber(string.sub(mark, 1, space - 1))
    if last and tick < last + tonumber(ARGV[2]) then
      return 3
    end
  end
elseif ARGV[11] == "1" then
  return 3
end

local letter = string.lower(ARGV[5])
local kind = string.byte(letter)
local lock_key = nil
if letter ~= ARGV[5] then
  lock_key = KEYS[5] -- upper case: unique
end
local written = write_task_hash(KEYS[2], id, ARGV[7], kind, lock_key, ARGV[10], ARGV[8], ARGV[9])
if written ~= 1 then
  return written
end
if kind == KIND_PENDING then
  redis.call("LPUSH", KEYS[3], id)
else
  redis.call("ZADD", KEYS[3], ARGV[8], id)
end
if kind == KIND_GROUPED then
  redis.call("SADD", KEYS[4], ARGV[9])
end
redis.call("SET", KEYS[1], ARGV[4], "EX", ARGV[3])
return 1
