-- doctor: membership and removal helpers shared by the doctor_* repair scripts.
-- Pulled in by an include line ("doctor") in the doctor_* scripts.

-- True when the container holds the ID: LPOS for a list ("list"), ZSCORE for a zset ("zset").
local function holds(key, kind, id)
  if kind == "list" then
    return redis.call("LPOS", key, id) ~= false
  end
  return redis.call("ZSCORE", key, id) ~= false
end

-- Removes the ID from the container and tidies its companion: companion "lease" removes the lease
-- entry (the container is active); companion "groups" removes the group's name from `groups` when
-- the group zset is now empty. Returns the number of entries removed from the container.
local function remove_member(key, kind, id, companion_key, companion, group)
  local removed
  if kind == "list" then
    removed = redis.call("LREM", key, 0, id)
  else
    removed = redis.call("ZREM", key, id)
  end
  if companion == "lease" then
    redis.call("ZREM", companion_key, id)
  elseif companion == "groups" and redis.call("EXISTS", key) == 0 then
    redis.call("SREM", companion_key, group)
  end
  return removed
end
