-- guard: the recoverer's check that a lease is still as it saw it.
-- Pulled in by an include line ("guard") in finish/quarantine and lua/precondition (finish/retry, finish/archive).
-- True while the task's lease is as the recoverer saw it: mode "expired", a lease that ran out at or
-- before cutoff (unix s; an owner that extended it meanwhile keeps the task); mode "unleased", no
-- lease at all (a task that got one meanwhile is being processed). Any other mode is a caller's bug:
-- the script stops with an error before writing anything.
local function lease_as_seen(lease_key, id, mode, cutoff)
  if mode ~= "expired" and mode ~= "unleased" then
    error("lease_as_seen: unknown lease mode")
  end
  local score = redis.call("ZSCORE", lease_key, id)
  if mode == "unleased" then
    return not score
  end
  return score ~= false and tonumber(score) <= tonumber(cutoff)
end
