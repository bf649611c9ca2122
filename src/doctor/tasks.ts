// Doctor's checks of task hashes: corrupt records, and hashes their state's container does not hold (orphans).
import * as broker from "../broker/doctor/reads.js";
import * as snapshot from "../broker/doctor/snapshot.js";
import type { ContainerRef, TaskFields } from "../broker/doctor/reads.js";
import * as keys from "../wire/keys.js";
import { TASK_STATES, type TaskState } from "../wire/keys.js";
import type { TaskMessage } from "../wire/messages.js";
import { decodeTaskMessage } from "../wire/proto.js";
import { routeListMiss } from "./lists.js";
import {
  DEFERRED_LIMIT,
  homeOf,
  homesOf,
  refreshSets,
  type Context,
  type ListState,
  type QueueState,
} from "./context.js";
import { archiveRepair, restoreRepair, restoreTarget } from "./fix.js";

/** A task hash judged from its fields. */
export interface Judged {
  id: string;
  fields: TaskFields;
  state: TaskState | undefined;
  msg: TaskMessage | undefined;
  /** The group: the hash field, else msg.group_key. */
  group: string | null;
  /** What makes it corrupt; empty when it is sound. */
  problems: string[];
}

const isState = (s: string | null): s is TaskState =>
  s !== null && (TASK_STATES as readonly string[]).includes(s);

/** Judges one task hash: state, msg decoding, msg.id / msg.queue against the key, group of an aggregating task. */
export function judgeTask(queue: string, id: string, fields: TaskFields): Judged {
  const problems: string[] = [];
  const state = isState(fields.state) ? fields.state : undefined;
  if (fields.state === null) problems.push("no state field");
  else if (state === undefined) problems.push(`unknown state ${JSON.stringify(fields.state)}`);
  let msg: TaskMessage | undefined;
  if (fields.msg === null) problems.push("no msg field");
  else {
    try {
      msg = decodeTaskMessage(fields.msg);
    } catch (error) {
      problems.push(`msg does not decode (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  if (msg !== undefined && msg.id !== id) problems.push(`msg.id is ${JSON.stringify(msg.id)}`);
  if (msg !== undefined && msg.queue !== queue) problems.push(`msg.queue is ${JSON.stringify(msg.queue)}`);
  const group = fields.group ?? (msg?.groupKey ? msg.groupKey : null);
  if (state === "aggregating" && group === null) problems.push("aggregating without a group");
  return { id, fields, state, msg, group, problems };
}

/** The uniqueness lock of a task, when it names a lock of this queue (a key of another slot is never touched). */
export function lockOf(queue: string, fields: TaskFields, msg: TaskMessage | undefined): string {
  const lock = fields.uniqueKey ?? msg?.uniqueKey ?? "";
  return lock.startsWith(`${keys.queuePrefix(queue)}unique:`) ? lock : "";
}

/** Checks a batch of task hashes of one queue (from the main scan). */
export async function checkTasks(ctx: Context, qs: QueueState, ids: readonly string[]): Promise<void> {
  const q = qs.name;
  const fields = await broker.readTaskFields(
    ctx.redis,
    ids.map((id) => keys.taskKey(q, id)),
  );
  const sound: Judged[] = [];
  const corrupt: Judged[] = [];
  const findings: Array<Promise<void>> = [];
  fields.forEach((f, i) => {
    const id = ids[i]!;
    if (!f.exists) return;
    if (f.wrongType !== null) {
      findings.push(
        ctx.global.add({
          kind: "unknown-key",
          key: keys.taskKey(q, id),
          detail: "a task key that is not a hash",
        }),
      );
      return;
    }
    const judged = judgeTask(q, id, f);
    if (judged.state !== undefined) qs.tasks[judged.state]++;
    (judged.problems.length === 0 ? sound : corrupt).push(judged);
  });
  await Promise.all([...findings, checkCorrupt(ctx, qs, corrupt), checkHomes(ctx, qs, sound)]);
}

/** Corrupt tasks: those already in the archive are counted as quarantined; the others are reported. */
async function checkCorrupt(ctx: Context, qs: QueueState, corrupt: readonly Judged[]): Promise<void> {
  if (corrupt.length === 0) return;
  const q = qs.name;
  const archived = corrupt.filter((t) => t.state === "archived").map((t) => t.id);
  const [inArchive = []] = await broker.zsetMembership(ctx.redis, [[keys.archivedKey(q), archived]]);
  const quarantined = new Set(archived.filter((_, i) => inArchive[i]));
  await Promise.all(
    corrupt.map((t) => {
      if (quarantined.has(t.id)) {
        qs.quarantined++;
        return Promise.resolve();
      }
      const observed = { state: t.fields.state, msg: t.fields.msg, group: t.group };
      return qs.log.add(
        {
          kind: "corrupt-task",
          queue: q,
          key: keys.taskKey(q, t.id),
          id: t.id,
          detail: t.problems.join("; "),
        },
        archiveRepair(ctx.redis, q, t.id, observed, lockOf(q, t.fields, t.msg), ctx.clock.now()),
      );
    }),
  );
}

/** The list state of a list-held task state. */
function listOf(qs: QueueState, state: TaskState): ListState | undefined {
  return state === "pending" ? qs.pending : state === "active" ? qs.active : undefined;
}

/**
 * Sound tasks: is each in the container its state names? Lists are checked against their index (only
 * the IDs of the indexed partition), zsets and groups with one ZMSCORE per container. Every miss is
 * re-checked atomically before it is reported, since tasks move while the audit runs.
 */
async function checkHomes(ctx: Context, qs: QueueState, tasks: readonly Judged[]): Promise<void> {
  const q = qs.name;
  const misses: Judged[] = [];
  const listMisses: Array<[ListState, Judged]> = [];
  const byZset = new Map<string, Judged[]>();
  for (const t of tasks) {
    const state = t.state!;
    const list = listOf(qs, state);
    if (list !== undefined) {
      if (list.index.covers(t.id) && !list.index.has(t.id)) listMisses.push([list, t]);
      continue;
    }
    const home = homeOf(q, state, t.group)!;
    const group = byZset.get(home.key) ?? [];
    group.push(t);
    byZset.set(home.key, group);
  }
  const zsets = [...byZset];
  const found = await broker.zsetMembership(
    ctx.redis,
    zsets.map(([key, ts]) => [key, ts.map((t) => t.id)] as const),
  );
  zsets.forEach(([, ts], i) =>
    ts.forEach((t, k) => {
      if (found[i]![k]) return;
      // An aggregating task may sit in an aggregation set this scan has not reached yet.
      if (t.state === "aggregating" && qs.deferred.length < DEFERRED_LIMIT) qs.deferred.push(t);
      else misses.push(t);
    }),
  );
  await confirmOrphans(ctx, qs, misses);
  for (const [list, t] of listMisses) await routeListMiss(ctx, qs, list, t);
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
    await report(ctx, qs, orphans);
  }
}

/** A task still orphaned after a re-read, and the containers that do not hold it. */
export interface Orphan {
  task: Judged;
  homes: ContainerRef[];
}

/** Re-reads each candidate with its homes in one MULTI; returns those still orphaned. */
export async function stillOrphaned(
  ctx: Context,
  qs: QueueState,
  candidates: readonly Judged[],
): Promise<Orphan[]> {
  if (candidates.length === 0) return [];
  const q = qs.name;
  const homes = candidates.map((t) => homesOf(qs, t.state!, t.group));
  const snapshots = await snapshot.snapshotTasks(
    ctx.redis,
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
  await report(ctx, qs, await stillOrphaned(ctx, qs, candidates));
}

/** Reports orphans (with their repair). */
export async function report(ctx: Context, qs: QueueState, orphans: readonly Orphan[]): Promise<void> {
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
    target === undefined ? undefined : restoreRepair(ctx.redis, q, id, state, target),
  );
}
