-- delete_members: deletes one page of a finished aggregation set's members (wire-format §4.21, done in
-- pages): each member leaves the set and its task hash is deleted, and its uniqueness lock released
-- while the lock still holds its ID (asynq keeps member locks until their TTL). When the set is empty
-- it is unregistered from `aggregation_sets`. Only a finished set (score +inf, see finalize) is touched.
--
-- KEYS[1] -> asynq:{<q>}:g:<g>:<set>
-- KEYS[2] -> asynq:{<q>}:aggregation_sets
-- KEYS[3...] -> per member i, in order: asynq:{<q>}:t:<id i>, then its lock key
--               asynq:{<q>}:unique:<type>:<md5> when ARGV[2i] is "1"
--
-- ARGV[1...] -> per member i, in order: its ID, then "1" when a lock key follows its task key in
--               KEYS, else "0"
--
-- Returns:
--   { deleted, done }: deleted is the number of members removed from the set (IDs no longer in it are
--   skipped); done is 1 when the set is now gone and unregistered, else 0.
--   -1 when the set is not finished (not registered with the score +inf); nothing done.
-- @include lock
local score = redis.call("ZSCORE", KEYS[2], KEYS[1])
if score ~= "inf" and score ~= "+inf" then
  return -1
end
local deleted = 0
local k = 3
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  local task_key = KEYS[k]
  local lock_key = nil
  k = k + 1
  if ARGV[i + 1] == "1" then
    lock_key = KEYS[k]
    k = k + 1
  end
  if redis.call("ZREM", KEYS[1], id) == 1 then
    redis.call("DEL", task_key)
    if lock_key then
      release_lock(lock_key, id)
    end
    deleted = deleted + 1
  end
end
if redis.call("EXISTS", KEYS[1]) == 0 then
  redis.call("ZREM", KEYS[2], KEYS[1])
  return { deleted, 1 }
end
return { deleted, 0 }
