-- events: the queue's event stream (QueueEvents, Client.waitForResult), written only while someone listens.
-- Pulled in by an include line ("events") in the scripts that end an attempt or report progress.
-- Listeners keep the marker asynq:{<q>}:events:listening alive (a TTL they refresh); with no marker
-- the scripts write nothing, so a queue nobody listens to pays one EXISTS per script call. The
-- stream is bounded: about 10,000 entries (XADD MAXLEN ~), and it expires 10 minutes after its last
-- entry. Go's asynq neither writes nor reads these keys.

-- True while someone listens (the marker exists).
local function is_heard(listening)
  return redis.call("EXISTS", listening) == 1
end

-- Appends one entry (field, value pairs) to the stream; the caller checked is_heard.
local function append_event(stream, ...)
  redis.call("XADD", stream, "MAXLEN", "~", "10000", "*", ...)
  redis.call("PEXPIRE", stream, 600000)
end

-- Appends one entry when the marker exists. Returns true when written.
local function emit_event(listening, stream, ...)
  if not is_heard(listening) then
    return false
  end
  append_event(stream, ...)
  return true
end

-- A task's result for a `completed` entry: the `result` field when it is at most 4 KiB, else false
-- (a listener then reads it from the task hash, when the task is retained).
local function result_for_event(task_key)
  if redis.call("HSTRLEN", task_key, "result") > 4096 then
    return false
  end
  return redis.call("HGET", task_key, "result")
end
