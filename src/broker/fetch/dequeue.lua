-- dequeue: writes the success of finished tasks, then moves pending tasks near the tail to active (wire-format §4.11, §4.10).
-- One round trip per batch for a busy worker: the tasks it finished are deleted (as done.lua does,
-- the processed counters raised once for all of them) and the next ones claimed in the same call. A script may only touch keys passed in KEYS, so the
-- caller names the candidates: IDs an earlier reply listed near the tail of pending. A worker alone
-- names the tail, oldest first; workers that share a queue ask each reply for a stretch at a random
-- depth from the tail (ARGV[7]), so that they name different IDs. The caller may name more
-- candidates than it wants (ARGV[6]): those another worker took are skipped, and the call stops
-- once it has claimed what it wants.
--
-- A candidate is claimed when its hash says `state` pending and LREM (from the tail's side, where
-- the candidates are) removes it from pending; it is pushed onto the head of active, as asynq's
-- RPOPLPUSH does. Only the run that removes an ID from pending claims it, so no task is claimed
-- twice. Unlike asynq, a pending ID without a task hash (dangling) is dropped from pending, when it
-- is the tail, instead of being moved to active with a state-only hash.
--
-- A reply can be lost (a reset connection, a command timeout) after the script ran. The call then
-- runs again with the same arguments (ioredis re-sends it after reconnecting, or the caller replays
-- it), and its candidates are no longer in pending: they are in active, claimed by the first run.
-- Each claim is stamped with the call's token (hash field `claim`, which Go ignores and our scripts
-- remove when the task leaves active), so the second run recognises the tasks it claimed and
-- returns them again, with a fresh lease, instead of orphaning them until their lease runs out.
--
-- KEYS[1] -> asynq:{<q>}:pending
-- KEYS[2] -> asynq:{<q>}:paused
-- KEYS[3] -> asynq:{<q>}:active
-- KEYS[4] -> asynq:{<q>}:lease
-- KEYS[5] -> asynq:{<q>}:processed:<YYYY-MM-DD>
-- KEYS[6] -> asynq:{<q>}:processed
-- KEYS[7] -> asynq:{<q>}:events:listening
-- KEYS[8] -> asynq:{<q>}:events (each success is a "completed" entry while someone listens: lua/events)
-- KEYS[9...] -> first, for each finished task j = 1..d: asynq:{<q>}:t:<id j>, followed by its
--               uniqueness lock asynq:{<q>}:unique:<type>:<md5> when it has one; then, for each
--               candidate i = 1..n in the order to claim them: asynq:{<q>}:t:<id i>
--
-- ARGV[1] -> lease expiry, unix seconds
-- ARGV[2] -> expiry of a new daily counter: now + 90 days, unix seconds
-- ARGV[3] -> d, the number of finished tasks
-- ARGV[4] -> h, how many pending IDs to list for the next calls (0 for none)
-- ARGV[5] -> the claim token of this call, unique among all calls (the same when a call is replayed)
-- ARGV[6] -> w, the most tasks to claim (the call stops claiming once it has w)
-- ARGV[7] -> s, how many IDs from the tail the listed stretch starts (0: the tail itself)
-- ARGV[8] -> "1" to return each claimed task's pending_since (for wait-time metrics), else "0"
-- ARGV[9...] -> for each finished task: its ID, its fence (the SHA-1, 40 lowercase hex digits, of
--               the encoded TaskMessage as dequeued: nothing is written unless the stored message
--               still hashes to it; "" skips the check) and "1" when a lock key follows its task key
--               in KEYS, else "0"; then the n candidate IDs. All text: no binary argument.
--
-- Returns: { done, claimed, dangling, paused, next, length, taken }
--   done      1 or 0 per finished task, in order: 1 written, 0 nothing written (not in active, or fenced)
--   claimed   { id1, msg1, id2, msg2, ... }: the tasks moved to active, in candidate order (msg is nil
--             when the hash has no msg field); with ARGV[8] "1", { id1, msg1, since1, ... } where since
--             is the pending_since the task had (nil when it had none, or an earlier run claimed it), including those an earlier run of this same call
--             claimed; candidates no longer in pending (another worker took them) are left out; only
--             those an earlier run claimed when the queue is paused
--   dangling  the IDs removed from pending because their task hash did not exist
--   paused    1 when the queue is paused (nothing new claimed), else 0
--   next      up to h IDs of pending, newest first, ending s IDs from the tail (fewer IDs than the
--             list holds: the stretch moves towards the tail so as to list h of them)
--   length    the length of pending after the call
--   taken     how many candidates the call looked at and found taken by another call
-- @include done

local done = {}
local written = 0
local k = 9
local a = 9
local with_since = ARGV[8] == "1"
local token = ARGV[5]
local d = tonumber(ARGV[3])
-- Whether someone listens to the queue's events: checked once for the whole batch.
local heard = d > 0 and is_heard(KEYS[7])
for j = 1, d do
  local task_key = KEYS[k]
  local lock_key = nil
  k = k + 1
  if ARGV[a + 2] == "1" then
    lock_key = KEYS[k]
    k = k + 1
  end
  done[j] = finish_done(KEYS[3], KEYS[4], task_key, KEYS[5], KEYS[6], lock_key, ARGV[a], ARGV[2], ARGV[a + 1], true, true, heard, KEYS[8], "completed")
  written = written + done[j]
  a = a + 3
end
if written > 0 then
  count_processed(ARGV[2], KEYS[5], KEYS[6], written)
end

local claimed = {}
local dangling = {}
local want = tonumber(ARGV[6])
local got = 0
local taken = 0
-- A paused queue gives out nothing new; tasks an earlier run of this call claimed are still returned.
local paused = redis.call("EXISTS", KEYS[2]) == 1
for i = a, #ARGV do
  if got >= want then
    break
  end
  local id = ARGV[i]
  local task_key = KEYS[k + i - a]
  local task
  if with_since then
    task = redis.call("HMGET", task_key, "state", "claim", "msg", "pending_since")
  else
    task = redis.call("HMGET", task_key, "state", "claim", "msg")
  end
  if task[1] == "pending" and not paused and redis.call("LREM", KEYS[1], -1, id) == 1 then
    redis.call("LPUSH", KEYS[3], id)
    redis.call("HSET", task_key, "state", "active", "claim", token)
    redis.call("HDEL", task_key, "pending_since")
    redis.call("ZADD", KEYS[4], ARGV[1], id)
    claimed[#claimed + 1] = id
    claimed[#claimed + 1] = task[3]
    if with_since then
      claimed[#claimed + 1] = task[4]
    end
    got = got + 1
  elseif task[1] == "active" and task[2] == token then
    -- An earlier run of this very call claimed it (its reply was lost): ours again, with a new lease.
    redis.call("ZADD", KEYS[4], ARGV[1], id)
    claimed[#claimed + 1] = id
    claimed[#claimed + 1] = task[3]
    if with_since then
      claimed[#claimed + 1] = false
    end
    got = got + 1
  elseif task[1] == false and not paused and redis.call("LINDEX", KEYS[1], -1) == id then
    -- No hash, and the tail of pending: a dangling ID (a hash deleted away from the tail was most
    -- likely finished by another worker, and is dropped once it reaches the tail).
    redis.call("RPOP", KEYS[1])
    dangling[#dangling + 1] = id
  elseif not paused then
    taken = taken + 1
  end
end
local length = redis.call("LLEN", KEYS[1])
if paused then
  return { done, claimed, dangling, 1, {}, length, 0 }
end
local next = {}
local h = tonumber(ARGV[4])
if h > 0 then
  local s = math.min(tonumber(ARGV[7]), math.max(0, length - h))
  next = redis.call("LRANGE", KEYS[1], -(s + h), -(s + 1))
end
return { done, claimed, dangling, 0, next, length, taken }
