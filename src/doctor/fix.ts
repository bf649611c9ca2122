// Doctor's repairs: what --fix does for each kind of damage, as RepairFns over the port's re-verifying repairs.
import type {
  Companion,
  ContainerRef,
  DoctorBroker,
  ObservedTask,
  RestoreTarget,
} from "../broker/doctor/port.js";
import { unixSeconds } from "../internal/clock.js";
import * as keys from "../wire/keys.js";
import type { TaskState } from "../wire/keys.js";
import type { TaskMessage } from "../wire/messages.js";
import type { RepairFn } from "./report.js";

const CHANGED = "changed since the audit: the damage is gone or the task moved on";

/** A repair that reports `action` as repaired when `run` resolves true, as skipped otherwise. */
export function repair(action: string, run: () => Promise<boolean>, skipped = CHANGED): RepairFn {
  return async () =>
    (await run()) ? { outcome: "repaired", action } : { outcome: "skipped", action, reason: skipped };
}

/**
 * Where an orphaned task goes back (decision: the `state` field wins, the task is re-added to the
 * container it names). Scores: scheduled and retry are due now (their time was only in the lost
 * zset entry); archived keeps its last failure time, so age trimming still applies; completed
 * expires at completed_at + retention, so the janitor still deletes it on time; aggregating joins
 * its group now; an active task gets a lease expiring now, so a recoverer settles it unless an owner
 * is still running and extends the lease.
 */
export function restoreTarget(
  queue: string,
  state: TaskState,
  msg: TaskMessage | undefined,
  group: string | null,
  nowMs: number,
): RestoreTarget | undefined {
  const now = unixSeconds(nowMs);
  switch (state) {
    case "pending":
      return { mode: "list", key: keys.pendingKey(queue) };
    case "active":
      return {
        mode: "active",
        key: keys.activeKey(queue),
        leaseKey: keys.leaseKey(queue),
        leaseExpiresAtSeconds: now,
      };
    case "scheduled":
    case "retry":
      return { mode: "zset", key: keys.stateKey(queue, state), score: now };
    case "archived": {
      const failed = Number(msg?.lastFailedAt ?? 0n);
      return { mode: "zset", key: keys.archivedKey(queue), score: failed > 0 ? failed : now };
    }
    case "completed": {
      const completedAt = Number(msg?.completedAt ?? 0n);
      const retention = Number(msg?.retention ?? 0n);
      return {
        mode: "zset",
        key: keys.completedKey(queue),
        score: (completedAt > 0 ? completedAt : now) + retention,
      };
    }
    case "aggregating":
      if (group === null || group === "") return undefined;
      return {
        mode: "group",
        key: keys.groupKey(queue, group),
        groupsKey: keys.allGroupsKey(queue),
        group,
        score: now,
      };
  }
}

/** Puts an orphaned task back into its state's container. */
export function restoreRepair(
  broker: DoctorBroker,
  queue: string,
  id: string,
  state: TaskState,
  target: RestoreTarget,
): RepairFn {
  return repair(`put back into ${target.key}`, () =>
    broker.restoreTask(keys.taskKey(queue, id), id, state, target),
  );
}

/** Archives a corrupt task as it is (decision: set aside in the archive, msg untouched, never deleted). */
export function archiveRepair(
  broker: DoctorBroker,
  queue: string,
  id: string,
  observed: ObservedTask,
  lockKey: string,
  nowMs: number,
): RepairFn {
  const action = `archive as it is in ${keys.archivedKey(queue)}`;
  return async () => {
    const outcome = await broker.archiveAsIs(queue, id, observed, lockKey, nowMs);
    if (outcome === "archived") return { outcome: "repaired", action };
    return {
      outcome: "skipped",
      action,
      reason:
        outcome === "leased"
          ? "in active under a lease that has not run out; the recoverer sets it aside when it does"
          : CHANGED,
    };
  };
}

/** The companion entry to tidy when an ID leaves `container`: the lease for active, `groups` for a group zset. */
function companionOf(queue: string, container: ContainerRef, group?: string): Companion | undefined {
  if (container.key === keys.activeKey(queue)) return { kind: "lease", key: keys.leaseKey(queue) };
  if (group !== undefined && container.key === keys.groupKey(queue, group)) {
    return { kind: "groups", key: keys.allGroupsKey(queue), group };
  }
  return undefined;
}

/** Removes an ID that has no task hash from its container. */
export function danglingRepair(
  broker: DoctorBroker,
  queue: string,
  container: ContainerRef,
  id: string,
  group?: string,
): RepairFn {
  return repair(`remove ${id} from ${container.key}`, () =>
    broker.removeDangling(container, keys.taskKey(queue, id), id, companionOf(queue, container, group)),
  );
}

/** Removes an ID from a container its task's state does not name, once its state's container holds it. */
export function misplacedRepair(
  broker: DoctorBroker,
  queue: string,
  container: ContainerRef,
  id: string,
  state: string,
  home: ContainerRef,
  group?: string,
): RepairFn {
  return repair(
    `remove ${id} from ${container.key} (it is in ${home.key}, as its state says)`,
    () =>
      broker.removeMisplaced(
        container,
        keys.taskKey(queue, id),
        id,
        state,
        home,
        companionOf(queue, container, group),
      ),
    `skipped: the task is not in ${home.key} (or changed since the audit)`,
  );
}

/** Gives an unleased active task a lease expiring now (decision: the recoverer then settles it). */
export function leaseRepair(broker: DoctorBroker, queue: string, id: string, nowMs: number): RepairFn {
  return repair(`add a lease expiring now to ${keys.leaseKey(queue)}`, () =>
    broker.addLease(queue, id, nowMs),
  );
}
