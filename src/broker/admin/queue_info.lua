-- queue_info: a queue's task counts, counters, pause flag, latency source and memory estimate (wire-format §4.28.1).
-- A script may only touch keys passed in KEYS, so the caller first reads with plain commands the group
-- names (SMEMBERS groups), the tail of pending (the next task to dequeue) and the sample IDs: up to 20
-- from the head of each container and up to 20 from each of the first 5 groups. Counts are taken here,
-- so they are consistent with one another.
-- The memory estimate follows asynq HEAD's memoryUsageCmd with its guards: per container,
-- (sum of MEMORY USAGE of the sampled task hashes, a missing hash adding nothing) / (number of IDs
-- sampled) * (current size), plus MEMORY USAGE of the container key itself; for the groups,
-- (sum over the sampled hashes that exist) / (number that exist) * (tasks in all groups), only when at
-- least one sampled hash exists. Group zsets, lease, counters, locks and aggregation sets are not counted.
--
-- KEYS[1] -> asynq:{<q>}:pending
-- KEYS[2] -> asynq:{<q>}:active
-- KEYS[3] -> asynq:{<q>}:scheduled
-- KEYS[4] -> asynq:{<q>}:retry
-- KEYS[5] -> asynq:{<q>}:archived
-- KEYS[6] -> asynq:{<q>}:completed
-- KEYS[7] -> asynq:{<q>}:processed:<today>
-- KEYS[8] -> asynq:{<q>}:failed:<today>
-- KEYS[9] -> asynq:{<q>}:processed
-- KEYS[10] -> asynq:{<q>}:failed
-- KEYS[11] -> asynq:{<q>}:paused
-- KEYS[12] -> asynq:{<q>}:groups
-- KEYS[13] -> asynq:{<q>}:t:<tail id> (the tail of pending as the caller read it; unused when ARGV[1] is "")
-- KEYS[14 .. 13+G] -> asynq:{<q>}:g:<group>, one per group the caller read (G = ARGV[2])
-- KEYS[14+G ...] -> asynq:{<q>}:t:<id> of the sampled IDs: ARGV[3] from pending, ARGV[4] from active,
--                   ARGV[5] from scheduled, ARGV[6] from retry, ARGV[7] from archived, ARGV[8] from
--                   completed, then ARGV[9] from the sampled groups, in that order
--
-- ARGV[1] -> the tail ID of pending as the caller read it ("" when pending was empty)
-- ARGV[2] -> G, the number of group keys
-- ARGV[3] -> the number of sampled task keys of pending
-- ARGV[4] -> the number of sampled task keys of active
-- ARGV[5] -> the number of sampled task keys of scheduled
-- ARGV[6] -> the number of sampled task keys of retry
-- ARGV[7] -> the number of sampled task keys of archived
-- ARGV[8] -> the number of sampled task keys of completed
-- ARGV[9] -> the number of sampled task keys of the groups
--
-- Returns:
--   { pending, active, scheduled, retry, archived, completed, processed_today, failed_today,
--     processed_total, failed_total, paused, groups, aggregating, tail, pending_since, memory }
--   where the four counters are the stored strings (false when the key is missing), paused is 0|1,
--   groups is SCARD of the groups set, aggregating the sum of ZCARD over the passed group keys, tail
--   the current tail ID of pending (false when empty), pending_since that task's field (false when the
--   tail is not the one the caller read, or has no pending_since), memory the estimate in bytes.
local sizes = {
  redis.call("LLEN", KEYS[1]),
  redis.call("LLEN", KEYS[2]),
  redis.call("ZCARD", KEYS[3]),
  redis.call("ZCARD", KEYS[4]),
  redis.call("ZCARD", KEYS[5]),
  redis.call("ZCARD", KEYS[6]),
}
local group_count = tonumber(ARGV[2])
local aggregating = 0
for i = 14, 13 + group_count do
  aggregating = aggregating + redis.call("ZCARD", KEYS[i])
end

local tail = redis.call("LINDEX", KEYS[1], -1)
local pending_since = false
if ARGV[1] ~= "" and tail == ARGV[1] then
  pending_since = redis.call("HGET", KEYS[13], "pending_since")
end

local function memory_of(key)
  local bytes = redis.call("MEMORY", "USAGE", key)
  if bytes then
    return bytes
  end
  return 0
end

local memory = 0
local k = 14 + group_count
local sample_counts = { ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8] }
for c = 1, 6 do
  local n = tonumber(sample_counts[c])
  if n > 0 then
    local total = 0
    for j = k, k + n - 1 do
      total = total + memory_of(KEYS[j])
    end
    memory = memory + (total / n) * sizes[c]
    k = k + n
  end
  memory = memory + memory_of(KEYS[c])
end
local group_samples = tonumber(ARGV[9])
local group_total = 0
local group_found = 0
for j = k, k + group_samples - 1 do
  local bytes = redis.call("MEMORY", "USAGE", KEYS[j])
  if bytes then
    group_total = group_total + bytes
    group_found = group_found + 1
  end
end
if group_found > 0 then
  memory = memory + (group_total / group_found) * aggregating
end

return {
  sizes[1],
  sizes[2],
  sizes[3],
  sizes[4],
  sizes[5],
  sizes[6],
  redis.call("GET", KEYS[7]),
  redis.call("GET", KEYS[8]),
  redis.call("GET", KEYS[9]),
  redis.call("GET", KEYS[10]),
  redis.call("EXISTS", KEYS[11]),
  redis.call("SCARD", KEYS[12]),
  aggregating,
  tail,
  pending_since,
  math.floor(memory),
}
