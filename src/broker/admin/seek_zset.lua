-- seek_zset: reads the next page of an iteration over a sorted set (scheduled, retry, archived, completed, a group), from a cursor.
-- Read-only. The cursor is the last member yielded and its score: the page starts just after it in
-- the set's order (score, then member bytes), found by its rank while it is still in the set, or
-- else by a binary search among the members with its score. So members that stay in the set are
-- neither skipped nor repeated, whatever else changes.
--
-- KEYS[1] -> the sorted set
--
-- ARGV[1] -> how many members to read
-- ARGV[2] -> the last member yielded; "" to start at the lowest score
-- ARGV[3] -> its score as an exclusive bound, "(<score>"
-- ARGV[4] -> its score
--
-- Returns:
--   { member1, score1, member2, score2, ... } from the cursor on, in order (as ZRANGE WITHSCORES)

-- Whether member a sorts after member b: byte order, as Redis orders members of equal score
-- (Lua's own string comparison follows the locale).
local function after(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      return x > y
    end
  end
  return #a > #b
end

local start = 0
if ARGV[2] ~= "" then
  local rank = redis.call("ZRANK", KEYS[1], ARGV[2])
  if rank then
    start = rank + 1
  else
    -- Members with the cursor's score occupy the ranks lo .. hi - 1.
    local lo = redis.call("ZCOUNT", KEYS[1], "-inf", ARGV[3])
    local hi = redis.call("ZCOUNT", KEYS[1], "-inf", ARGV[4])
    while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      if after(redis.call("ZRANGE", KEYS[1], mid, mid)[1], ARGV[2]) then
        hi = mid
      else
        lo = mid + 1
      end
    end
    start = lo
  end
end
return redis.call("ZRANGE", KEYS[1], start, start + tonumber(ARGV[1]) - 1, "WITHSCORES")
