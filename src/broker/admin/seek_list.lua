-- seek_list: reads the next page of an iteration over a list (pending or active), tail first, from a cursor.
-- Read-only. The cursor is where the previous page ended: its position, the IDs read just after it
-- (markers) and the IDs it yielded (anchors). The page starts at the first marker still in the list,
-- or else just after the last anchor still there, searched within `drift` positions of where they
-- were; when none is left the iteration restarts from the tail (reported, so the caller can tell).
-- Positions count from the tail: 1 is the tail (the next task to be dequeued).
--
-- KEYS[1] -> asynq:{<q>}:pending or asynq:{<q>}:active
--
-- ARGV[1] -> page size
-- ARGV[2] -> lookahead: how many IDs to read after the page (the next cursor's markers)
-- ARGV[3] -> position of the last ID of the previous page; 0 to start at the tail
-- ARGV[4] -> drift: how far from their old positions the cursor's IDs are searched
-- ARGV[5] -> m, the number of markers
-- ARGV[6...] -> the m markers in list order (tail first), then the anchors, last yielded first
--
-- Returns:
--   { start, restarted, ids } where start is the position of the first ID returned, restarted is 1
--   when no cursor ID was found (the page starts at the tail again) and 0 otherwise, and ids holds
--   up to size + lookahead IDs from there toward the head (tail first)
local size = tonumber(ARGV[1])
local lookahead = tonumber(ARGV[2])
local last = tonumber(ARGV[3])
local drift = tonumber(ARGV[4])
local markers = tonumber(ARGV[5])
local start = 1
local restarted = 0
if last > 0 then
  local lo = math.max(1, last + 1 - drift)
  local hi = last + lookahead + drift
  local window = redis.call("LRANGE", KEYS[1], -hi, -lo)
  local position = {}
  for i = 1, #window do
    position[window[i]] = lo + #window - i
  end
  local found = nil
  for i = 6, 5 + markers do
    if position[ARGV[i]] then
      found = position[ARGV[i]]
      break
    end
  end
  if not found then
    for i = 6 + markers, #ARGV do
      if position[ARGV[i]] then
        found = position[ARGV[i]] + 1
        break
      end
    end
  end
  if found then
    start = found
  else
    restarted = 1
  end
end
local head_first = redis.call("LRANGE", KEYS[1], -(start + size + lookahead - 1), -start)
local ids = {}
for i = #head_first, 1, -1 do
  ids[#ids + 1] = head_first[i]
end
return { start, restarted, ids }
