-- enqueue_many: writes new tasks of one queue in one call, each as asynq's single-task script would
-- (enqueue, enqueue_unique, schedule, schedule_unique, add_to_group, add_to_group_unique: wire-format §4.2
-- to §4.7, kept in test/broker/oracle/ to test against; same hash fields in the same order, same list
-- and zset entries). Tasks are taken in
-- order and each is written or refused on its own, so a duplicate or an ID conflict may also be
-- with an earlier task of the same call. A list or zset holding another type refuses the tasks
-- that go to it before anything of them is written (the single-task scripts would fail after
-- writing the hash). The IDs of pending and scheduled tasks are pushed once, at the end, in task
-- order: the same list as one LPUSH per task.
--
-- KEYS[1] -> asynq:{<q>}:pending
-- KEYS[2] -> asynq:{<q>}:scheduled
-- KEYS[3] -> asynq:{<q>}:groups
-- KEYS[4...] -> per task, in task order: asynq:{<q>}:t:<id>; then, when unique,
--   asynq:{<q>}:unique:<type>:<md5 of payload>; then, when grouped, asynq:{<q>}:g:<group>
--
-- ARGV[1] -> now, unix nanoseconds (pending_since of pending tasks)
-- ARGV[2] -> now, unix seconds (the score in a group zset)
-- ARGV[3] -> byte length of asynq:{<q>}:t: as the keys arrive, a client's key prefix included (a
--   task's ID is its key without it)
-- ARGV[4] -> one character per task: p pending, s scheduled, g grouped; upper case (P, S, G) when unique
-- ARGV[5...] -> per task, in task order: the encoded TaskMessage; then, when scheduled, the
--   process-at in unix seconds (the zset score); then, when unique, the lock TTL in whole seconds
--   (>= 1); then, when grouped, the group name
--
-- Returns: an array with one element per task, in task order, then one more element.
--   1  written
--  -1  the lock is held by another task (duplicate); nothing written
--   0  a task hash with this ID exists already; nothing written
--  -2  the task's pending list, scheduled zset or group zset holds another type; nothing written
--  -3  the groups set holds another type; nothing written
--   last element: 1 when a task was written into a list or zset that did not exist before this
--   call (the queue may be new to Redis, so the caller registers it again), else 0
-- @include task_hash

local BYTE_UP, BYTE_US, BYTE_UG = string.byte("PSG", 1, 3)

local since = ARGV[1]
local nowSeconds = ARGV[2]
local idFrom = tonumber(ARGV[3]) + 1
local kinds = ARGV[4]

-- Container key -> true when it may be written (absent or of the right type); `created` holds
-- those found absent.
local usableKeys = {}
local created = {}
local fresh = 0

local function usable(key, wanted)
  local known = usableKeys[key]
  if known == nil then
    local found = redis.call("TYPE", key)["ok"]
    if found == "none" then
      created[key] = true
      known = true
    else
      known = found == wanted
    end
    usableKeys[key] = known
  end
  return known
end

local replies = {}
local pushed = {}
local scheduledArgs = {}
local k = 4
local a = 5
for i = 1, #kinds do
  local kind = string.byte(kinds, i)
  local unique = kind == BYTE_UP or kind == BYTE_US or kind == BYTE_UG
  if unique then
    kind = kind + 32
  end
  local taskKey = KEYS[k]
  k = k + 1
  local msg = ARGV[a]
  a = a + 1
  local score
  if kind == KIND_SCHEDULED then
    score = ARGV[a]
    a = a + 1
  end
  local lockKey
  local ttl
  if unique then
    lockKey = KEYS[k]
    k = k + 1
    ttl = ARGV[a]
    a = a + 1
  end
  local group
  local container
  local wanted = "zset"
  if kind == KIND_GROUPED then
    container = KEYS[k]
    k = k + 1
    group = ARGV[a]
    a = a + 1
  elseif kind == KIND_SCHEDULED then
    container = KEYS[2]
  else
    container = KEYS[1]
    wanted = "list"
  end

  local reply = 1
  if not usable(container, wanted) then
    reply = -2
  elseif group and not usable(KEYS[3], "set") then
    reply = -3
  else
    local id = string.sub(taskKey, idFrom)
    reply = write_task_hash(taskKey, id, msg, kind, lockKey, ttl, since, group)
    if reply == 1 and kind == KIND_PENDING then
      pushed[#pushed + 1] = id
    elseif reply == 1 and kind == KIND_SCHEDULED then
      scheduledArgs[#scheduledArgs + 1] = score
      scheduledArgs[#scheduledArgs + 1] = id
    elseif reply == 1 then
      redis.call("ZADD", container, nowSeconds, id)
      redis.call("SADD", KEYS[3], group)
      if created[container] then
        fresh = 1
      end
    end
  end
  replies[i] = reply
end

-- In slices: unpack puts every element on the Lua stack.
for from = 1, #pushed, 500 do
  redis.call("LPUSH", KEYS[1], unpack(pushed, from, math.min(from + 499, #pushed)))
end
for from = 1, #scheduledArgs, 1000 do
  redis.call("ZADD", KEYS[2], unpack(scheduledArgs, from, math.min(from + 999, #scheduledArgs)))
end
if (#pushed > 0 and created[KEYS[1]]) or (#scheduledArgs > 0 and created[KEYS[2]]) then
  fresh = 1
end
replies[#kinds + 1] = fresh
return replies
