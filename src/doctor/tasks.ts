// Doctor's checks of task hashes: corrupt records, and hashes their state's container does not hold (orphans).
import * as keys from "../wire/keys.js";
import type { TaskState } from "../wire/keys.js";
import { DEFERRED_LIMIT, homeOf, type Context, type ListState, type QueueState } from "./context.js";
import { archiveRepair } from "./fix.js";
import { judgeTask, lockOf, type Judged } from "./judge.js";
import { routeListMiss } from "./lists.js";
import { confirmOrphans } from "./orphans.js";

/** Checks a batch of task hashes of one queue (from the main scan). */
export async function checkTasks(ctx: Context, qs: QueueState, ids: readonly string[]): Promise<void> {
  const q = qs.name;
  const fields = await ctx.broker.readTaskFields(ids.map((id) => keys.taskKey(q, id)));
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
  const [inArchive = []] = await ctx.broker.zsetMembership([[keys.archivedKey(q), archived]]);
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
        archiveRepair(ctx.broker, q, t.id, observed, lockOf(q, t.fields, t.msg), ctx.clock.now()),
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
  const found = await ctx.broker.zsetMembership(
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
