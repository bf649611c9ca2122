-- remove_drop_members: deletes a batch of tasks of a container being emptied by a forced queue removal
-- (wire-format §4.28.9): each ID leaves the container and its task hash is deleted in the same step, so no ID is
-- ever left without its hash. The caller reads the candidates first (a script may only touch keys passed
-- in KEYS); each is re-verified here. Unique locks are dealt with later by admin/remove_drop_locks.
--
-- KEYS[1] -> the container: asynq:{<q>}:pending (a LIST), or a ZSET: asynq:{<q>}:scheduled, retry,
--            archived, completed, a group asynq:{<q>}:g:<group> or an aggregation set asynq:{<q>}:g:<group>:<set>
-- KEYS[1+i] -> asynq:{<q>}:t:<id i>, for each candidate i = 1..n
--
-- ARGV[1] -> "list" or "zset", the type of KEYS[1]
-- ARGV[1+i] -> task ID of candidate i. For a list, the candidates are the tail first (the caller read
--              LRANGE -n -1 and reversed it): each is popped only while it is still the tail, and the
--              batch stops at the first that is not (so this costs O(1) per task on a long list).
--
-- Returns:
--   the number of candidates removed from the container (their hashes deleted)
local removed = 0
local is_list = ARGV[1] == "list"
for i = 2, #ARGV do
  local id = ARGV[i]
  if is_list then
    if redis.call("LINDEX", KEYS[1], -1) ~= id then
      break
    end
    redis.call("RPOP", KEYS[1])
    redis.call("DEL", KEYS[i])
    removed = removed + 1
  elseif redis.call("ZREM", KEYS[1], id) == 1 then
    redis.call("DEL", KEYS[i])
    removed = removed + 1
  end
end
return removed
