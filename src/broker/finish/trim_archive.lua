-- trim_archive: deletes archived tasks that are too old or beyond the size limit, with their hashes.
-- Replaces the trimming asynq does inside Archive (wire-format §4.15 steps 4-5). The caller reads the
-- candidates first; each is re-verified here against the current archive, so a concurrent change is
-- never trimmed by mistake. Exactly max_size tasks remain (asynq keeps one fewer).
--
-- KEYS[1] -> asynq:{<q>}:archived
-- KEYS[1+i] -> asynq:{<q>}:t:<id i>, for each candidate i = 1..n
--
-- ARGV[1] -> age cutoff, unix seconds: a task archived at or before it is trimmed
-- ARGV[2] -> max size: the lowest-ranked (oldest) tasks beyond this count are trimmed
-- ARGV[2+i] -> task ID of candidate i
--
-- Returns:
--   the number of tasks deleted (candidates no longer in the archive or no longer due are skipped)
local cutoff = tonumber(ARGV[1])
local max_size = tonumber(ARGV[2])
local deleted = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  local score = redis.call("ZSCORE", KEYS[1], id)
  if score then
    local too_old = tonumber(score) <= cutoff
    if too_old or redis.call("ZRANK", KEYS[1], id) < redis.call("ZCARD", KEYS[1]) - max_size then
      redis.call("ZREM", KEYS[1], id)
      redis.call("DEL", KEYS[i - 1])
      deleted = deleted + 1
    end
  end
end
return deleted
