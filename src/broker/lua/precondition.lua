-- precondition: the check that lets a write end an attempt, named by its caller: the worker's fence or the recoverer's lease guard.
-- Pulled in by an include line ("precondition") in finish/retry and finish/archive, which the worker
-- (src/broker/finish/lifecycle.ts) and the recoverer (src/broker/upkeep/recover.ts) share.
-- @include guard

-- @include move

-- True when the write may go ahead; mode and operand are the caller's two script arguments:
--   "fence"     the worker's own attempt: operand is the message as it was dequeued, and the stored
--               msg must still be that one (see fenced_out; "" skips the check). A task hash that is
--               gone fails a fence too.
--   "expired"   the recoverer's lease guard (see lease_as_seen): the lease ran out at or before
--   "unleased"  operand (unix s), or there is no lease at all; and the task hash must still exist,
--               since the recoverer's msg was made from it: a task deleted since is not re-created.
local function precondition_holds(mode, operand, task_key, lease_key, id)
  if mode == "fence" then
    return not fenced_out(task_key, operand)
  end
  return lease_as_seen(lease_key, id, mode, operand) and redis.call("EXISTS", task_key) == 1
end
