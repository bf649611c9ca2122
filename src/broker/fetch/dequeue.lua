-- dequeue: writes the success of finished tasks, then moves pending tasks near the tail to active (wire-format §4.11, §4.10).
-- One round trip per batch for a busy worker: the tasks it finished are deleted (as done.lua does)
-- and the next ones claimed in the same call. A script may only touch keys passed in KEYS, so the
-- caller names the candidates: IDs it last saw near the tail of pending (a worker alone names the
-- tail, oldest first; workers that see others spread their candidates over what they saw). A
-- candidate is claimed when it is the tail of pending, or when its hash says `state` pending and it
-- is within the last max(h, n) + 64 IDs of pending: it is removed from pending (RPOPLPUSH when it is
-- the tail, else LREM from the tail's side) and pushed onto the head of active, as asynq's RPOPLPUSH
-- does. Only the run that removes an ID from pending claims it, so no task is claimed twice; a
-- candidate another worker took is skipped and the next one tried (it does not end the call). The
-- reply ends with the IDs now next in line, the candidates of the next calls. Unlike asynq, a
-- pending ID without a task hash (dangling) is dropped from pending, when it is the tail, instead of
-- being moved to active with a state-only hash.
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
-- KEYS[7...] -> first, for each finished task j = 1..d: asynq:{<q>}:t:<id j>, followed by its
--               uniqueness lock asynq:{<q>}:unique:<type>:<md5> when it has one; then, for each
--               candidate i = 1..n in the order to claim them: asynq:{<q>}:t:<id i>
--
-- ARGV[1] -> lease expiry, unix seconds
-- ARGV[2] -> expiry of a new daily counter: now + 90 days, unix seconds
-- ARGV[3] -> d, the number of finished tasks
-- ARGV[4] -> h, how many of the IDs next in line to return (0 for none)
-- ARGV[5] -> the claim token of this call, unique among all calls (the same when a call is replayed)
-- ARGV[6...] -> for each finished task: its ID, its fence (the encoded TaskMessage as dequeued; ""
--               skips the check) and "1" when a lock key follows its task key in KEYS, else "0";
--               then the n candidate IDs
--
-- Returns: { done, claimed, dangling, paused, next }
--   done      1 or 0 per finished task, in order: 1 written, 0 nothing written (not in active, or fenced)
--   claimed   { id1, msg1, id2, msg2, ... }: the tasks moved to active, in candidate order (msg is nil
--             when the hash has no msg field), including those an earlier run of this same call
--             claimed; candidates no longer in pending (another worker took them) are left out; only
--             those an earlier run claimed when the queue is paused
--   dangling  the IDs removed from pending because their task hash did not exist
--   paused    1 when the queue is paused (nothing new claimed), else 0
--   next      up to h IDs now at the tail of pending, newest first (as LRANGE pending -h -1 lists them)
-- @include done

local done = {}
local k = 7
local a = 6
local token = ARGV[5]
for j = 1, tonumber(ARGV[3]) do
  local task_key = KEYS[k]
  local lock_key = nil
  k = k + 1
  if ARGV[a + 2] == "1" then
    lock_key = KEYS[k]
    k = k + 1
  end
  done[j] = finish_done(KEYS[3], KEYS[4], task_key, KEYS[5], KEYS[6], lock_key, ARGV[a], ARGV[2], ARGV[a + 1])
  a = a + 3
end

local claimed = {}
local dangling = {}
local h = tonumber(ARGV[4])
-- How far from the tail a candidate is looked for: it was within the last h IDs (or n, for a call
-- without a hint) when a reply listed it, and IDs only come closer to the tail, unless a requeue
-- pushes new ones behind it.
local window = math.max(h, #ARGV - a + 1) + 64
-- A paused queue gives out nothing new; tasks an earlier run of this call claimed are still returned.
local paused = redis.call("EXISTS", KEYS[2]) == 1
for i = a, #ARGV do
  local id = ARGV[i]
  local task_key = KEYS[k + i - a]
  local at_tail = false
  local found = false
  local exists = true
  if not paused then
    at_tail = redis.call("LINDEX", KEYS[1], -1) == id
    if at_tail then
      found = true
      exists = redis.call("EXISTS", task_key) == 1
    elseif redis.call("HGET", task_key, "state") == "pending" then
      -- Only a pending task is looked for away from the tail: one another worker took is active, or
      -- already gone with its hash (a dangling ID away from the tail is dropped once it is the tail).
      found = redis.call("LPOS", KEYS[1], id, "RANK", -1, "MAXLEN", window) ~= false
    end
  end
  if not found then
    -- Not in pending: another worker took it (skipped), or an earlier run of this call did (its
    -- reply was lost), or the queue is paused.
    local stamp = redis.call("HMGET", task_key, "state", "claim")
    if stamp[1] == "active" and stamp[2] == token then
      redis.call("ZADD", KEYS[4], ARGV[1], id)
      claimed[#claimed + 1] = id
      claimed[#claimed + 1] = redis.call("HGET", task_key, "msg")
    end
  elseif not exists then
    redis.call("RPOP", KEYS[1])
    dangling[#dangling + 1] = id
  else
    if at_tail then
      redis.call("RPOPLPUSH", KEYS[1], KEYS[3])
    else
      redis.call("LREM", KEYS[1], -1, id)
      redis.call("LPUSH", KEYS[3], id)
    end
    redis.call("HSET", task_key, "state", "active", "claim", token)
    redis.call("HDEL", task_key, "pending_since")
    redis.call("ZADD", KEYS[4], ARGV[1], id)
    claimed[#claimed + 1] = id
    claimed[#claimed + 1] = redis.call("HGET", task_key, "msg")
  end
end
if paused then
  return { done, claimed, dangling, 1, {} }
end
local next = {}
if h > 0 then
  next = redis.call("LRANGE", KEYS[1], -h, -1)
end
return { done, claimed, dangling, 0, next }
