-- reclaim: puts the members of aggregation sets past their deadline back into their group
-- (wire-format §4.22, asynq's ReclaimStaleAggregationSets), with their scores, deletes the sets and
-- unregisters them. Unlike asynq, the group name is added back to `groups` (wire-format §9.2), so the
-- aggregator sees the reclaimed tasks at its next check. The caller lists the candidates (ZRANGEBYSCORE
-- aggregation_sets -inf now) and derives each group key from the set key; each is re-verified here. A
-- registered set whose key is gone is only unregistered. Finished sets (score +inf) are never reached.
--
-- KEYS[1] -> asynq:{<q>}:aggregation_sets
-- KEYS[2] -> asynq:{<q>}:groups
-- KEYS[3...] -> per candidate i, in order: asynq:{<q>}:g:<g i>:<set i>, then asynq:{<q>}:g:<g i>
--
-- ARGV[1] -> now, unix seconds (a set whose deadline is <= this is stale)
-- ARGV[1+i] -> <g i>, the group name of candidate i
--
-- Returns:
--   the number of sets unregistered (candidates no longer registered or not yet stale are skipped)
local now = tonumber(ARGV[1])
local reclaimed = 0
for i = 2, #ARGV do
  local set_key = KEYS[2 * i - 1]
  local group_key = KEYS[2 * i]
  local score = redis.call("ZSCORE", KEYS[1], set_key)
  if score and score ~= "inf" and score ~= "+inf" and tonumber(score) <= now then
    if redis.call("EXISTS", set_key) == 1 then
      redis.call("ZUNIONSTORE", group_key, 2, group_key, set_key, "AGGREGATE", "MIN")
      redis.call("DEL", set_key)
      redis.call("SADD", KEYS[2], ARGV[i])
    end
    redis.call("ZREM", KEYS[1], set_key)
    reclaimed = reclaimed + 1
  end
end
return reclaimed
