// Doctor's list checks that stay O(N): confirming misses by a pass over a long list, and partitioned indexes.
import * as keys from "../wire/keys.js";
import type { TaskState } from "../wire/keys.js";
import { escapeGlob } from "./classify.js";
import {
  buildIndex,
  DEFERRED_LIMIT,
  LPOS_LIMIT,
  type Context,
  type ListState,
  type QueueState,
} from "./context.js";
import { judgeTask, type Judged } from "./judge.js";
import { confirmOrphans, reportOrphans, type Orphan } from "./orphans.js";

/**
 * A task of a list state missing from the list's index: on a short list it is confirmed at once
 * (MULTI with LPOS); on a long one it waits for {@link confirmByPass}, which runs when DEFERRED_LIMIT
 * candidates have gathered and at the end of the scan.
 */
export async function routeListMiss(
  ctx: Context,
  qs: QueueState,
  list: ListState,
  task: Judged,
): Promise<void> {
  if (list.length <= LPOS_LIMIT) {
    await confirmOrphans(ctx, qs, [task]);
    return;
  }
  list.candidates.push(task);
  if (list.candidates.length >= DEFERRED_LIMIT) await confirmByPass(ctx, qs, list);
}

/**
 * Confirms a long list's candidates without LPOS: reads the list again in chunks (LRANGE, a few µs
 * of Redis each), dropping every candidate seen, then re-reads the state of those never seen. A
 * second pass over the list for those left covers a candidate that a concurrent LREM shifted past
 * the read position. Candidates whose state changed meanwhile moved on and are not orphans.
 */
export async function confirmByPass(ctx: Context, qs: QueueState, list: ListState): Promise<void> {
  let wanted = new Map(list.candidates.splice(0).map((t) => [t.id, t]));
  for (let pass = 0; pass < 2 && wanted.size > 0; pass++) {
    for (let start = 0; wanted.size > 0; start += ctx.batch) {
      const chunk = await ctx.broker.listChunk(list.ref.key, start, ctx.batch);
      for (const id of chunk) wanted.delete(id);
      if (chunk.length < ctx.batch) break;
    }
    const left = [...wanted.values()];
    const now = await ctx.broker.readStates(left.map((t) => keys.taskKey(qs.name, t.id)));
    wanted = new Map(left.filter((t, i) => now[i] === t.fields.state).map((t) => [t.id, t]));
  }
  const orphans: Orphan[] = [...wanted.values()].map((task) => ({ task, homes: [list.ref] }));
  await reportOrphans(ctx, qs, orphans);
}

/**
 * The extra passes for a list too long for one index: for each further partition, index it and scan
 * the queue's task hashes again (SCAN MATCH), checking only the tasks of that list's state in that
 * partition. O(N) per partition, memory bounded by the index limit.
 */
export async function checkListPartitions(ctx: Context, qs: QueueState, list: ListState): Promise<void> {
  const state: TaskState = list === qs.pending ? "pending" : "active";
  const prefix = keys.taskKeyPrefix(qs.name);
  const match = `${escapeGlob(prefix)}*`;
  for (let p = 1; p < list.index.partitions; p++) {
    list.index = await buildIndex(ctx, list.ref.key, list.index.partitions, p);
    let cursor = "0";
    do {
      const [next, found] = await ctx.broker.scanKeys(cursor, match, ctx.batch);
      cursor = next;
      const ids = found.filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
      const missing = ids.filter((id) => list.index.covers(id) && !list.index.has(id));
      const states = await ctx.broker.readStates(missing.map((id) => keys.taskKey(qs.name, id)));
      const listed = missing.filter((_, i) => states[i] === state);
      const fields = await ctx.broker.readTaskFields(listed.map((id) => keys.taskKey(qs.name, id)));
      const candidates = listed
        .map((id, i) => judgeTask(qs.name, id, fields[i]!))
        .filter((t) => t.fields.exists && t.problems.length === 0 && t.state === state);
      for (const t of candidates) await routeListMiss(ctx, qs, list, t);
    } while (cursor !== "0");
    await confirmByPass(ctx, qs, list);
  }
}
