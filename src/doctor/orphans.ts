// Doctor's orphan confirmation: a task hash its state's container does not hold, re-read atomically before it is reported.
import type { ContainerRef } from "../broker/doctor/port.js";
import * as keys from "../wire/keys.js";
import type { TaskState } from "../wire/keys.js";
import type { TaskMessage } from "../wire/messages.js";
import { homesOf, refreshSets, type Context, type QueueState } from "./context.js";
import { restoreRepair, restoreTarget } from "./fix.js";
import type { Judged } from "./judge.js";

/** A task still orphaned after a re-read, and the containers that do not hold it. */
export interface Orphan {
  task: Judged;
  homes: ContainerRef[];
}

/** Re-reads each candidate with its homes in one MULTI; returns those still orphaned. */
async function stillOrphaned(ctx: Context, qs: QueueState, candidates: readonly Judged[]): Promise<Orphan[]> {
  if (candidates.length === 0) return [];
  const q = qs.name;
  const homes = candidates.map((t) => homesOf(qs, t.state!, t.group));
  const snapshots = await ctx.broker.snapshotTasks(
    candidates.map((t, i) => ({ taskKey: keys.taskKey(q, t.id), id: t.id, containers: homes[i]! })),
  );
  return candidates.flatMap((task, i) => {
    const snap = snapshots[i]!;
    const moved = !snap.exists || snap.state !== task.fields.state || snap.member.some(Boolean);
    return moved ? [] : [{ task, homes: homes[i]! }];
  });
}

/** Reports the candidates a MULTI re-read still finds orphaned. */
export async function confirmOrphans(
  ctx: Context,
  qs: QueueState,
  candidates: readonly Judged[],
): Promise<void> {
  await reportOrphans(ctx, qs, await stillOrphaned(ctx, qs, candidates));
}

/**
 * Re-checks the aggregating tasks deferred by the scan, now that every aggregation set is known;
 * `aggregation_sets` is re-read before and after, since an aggregator may create a set meanwhile.
 */
export async function checkDeferred(ctx: Context, qs: QueueState): Promise<void> {
  const deferred = qs.deferred.splice(0);
  for (let i = 0; i < deferred.length; i += ctx.batch) {
    await refreshSets(ctx, qs);
    let orphans = await stillOrphaned(ctx, qs, deferred.slice(i, i + ctx.batch));
    if (orphans.length > 0 && (await refreshSets(ctx, qs)) > 0) {
      orphans = await stillOrphaned(
        ctx,
        qs,
        orphans.map((o) => o.task),
      );
    }
    await reportOrphans(ctx, qs, orphans);
  }
}

/** Reports orphans (with their repair). */
export async function reportOrphans(ctx: Context, qs: QueueState, orphans: readonly Orphan[]): Promise<void> {
  await Promise.all(
    orphans.map(({ task, homes }) =>
      reportOrphan(ctx, qs, task.id, task.state!, task.msg, task.group, homes),
    ),
  );
}

function reportOrphan(
  ctx: Context,
  qs: QueueState,
  id: string,
  state: TaskState,
  msg: TaskMessage | undefined,
  group: string | null,
  homes: readonly ContainerRef[],
): Promise<void> {
  const q = qs.name;
  const target = restoreTarget(q, state, msg, group, ctx.clock.now());
  return qs.log.add(
    {
      kind: "orphaned-task",
      queue: q,
      key: keys.taskKey(q, id),
      id,
      detail: `state is ${state} but ${homes.map((h) => h.key).join(" / ")} does not hold it`,
    },
    target === undefined ? undefined : restoreRepair(ctx.broker, q, id, state, target),
  );
}
