// Doctor's checks from the containers' side: dangling and misplaced IDs, leases, groups and aggregation sets.
import type { ContainerRef, TaskSnapshot } from "../broker/doctor/port.js";
import * as keys from "../wire/keys.js";
import type { TaskState } from "../wire/keys.js";
import { homeOf, type Context, type QueueState } from "./context.js";
import { danglingRepair, leaseRepair, misplacedRepair, repair } from "./fix.js";
import { isTaskState } from "./judge.js";
import type { RepairFn } from "./report.js";

/** A container and the state (and group) its members' hashes must have. */
interface Expected {
  ref: ContainerRef;
  state: TaskState;
  group?: string;
}

/** The containers of a queue to walk: the six state containers, every group zset and aggregation set. */
function containersOf(qs: QueueState): Expected[] {
  const q = qs.name;
  const list: Expected[] = [
    { ref: qs.pending.ref, state: "pending" },
    { ref: qs.active.ref, state: "active" },
    ...(["scheduled", "retry", "archived", "completed"] as const).map((state): Expected => ({
      ref: { key: keys.stateKey(q, state), type: "zset" },
      state,
    })),
    ...[...qs.groups].map((group): Expected => ({
      ref: { key: keys.groupKey(q, group), type: "zset" },
      state: "aggregating",
      group,
    })),
    ...[...qs.sets].map(([key, group]): Expected => ({
      ref: { key, type: "zset" },
      state: "aggregating",
      group,
    })),
  ];
  return list.filter((c) => !qs.wrongType.has(c.ref.key));
}

/** Walks every container of the queue in chunks (LRANGE / ZSCAN), then the lease zset, groups and sets. */
export async function checkContainers(ctx: Context, qs: QueueState): Promise<void> {
  for (const c of containersOf(qs)) await walk(ctx, qs, c);
  const q = qs.name;
  if (!qs.wrongType.has(keys.leaseKey(q))) await checkLease(ctx, qs);
  if (!qs.wrongType.has(keys.allGroupsKey(q))) await checkGroups(ctx, qs);
  if (!qs.wrongType.has(keys.allAggregationSetsKey(q))) await checkAggregationSets(ctx, qs);
}

/** Reads a container chunk by chunk; for a list, the next start moves back by the IDs removed by fixes. */
async function walk(ctx: Context, qs: QueueState, c: Expected): Promise<void> {
  const { broker, batch } = ctx;
  if (c.ref.type === "list") {
    for (let start = 0; ;) {
      const ids = await broker.listChunk(c.ref.key, start, batch);
      const removed = await checkChunk(ctx, qs, c, ids, start);
      if (ids.length < batch) return;
      start += ids.length - removed;
    }
  }
  let cursor = "0";
  do {
    const [next, ids] = await broker.zsetChunk(c.ref.key, cursor, batch);
    cursor = next;
    await checkChunk(ctx, qs, c, ids);
  } while (cursor !== "0");
}

/**
 * Checks one chunk of a container's members (read at index `start` for a list); returns how many a
 * fix removed from it. Suspects are re-read in one MULTI each with their membership: LINDEX at the
 * index they were read at for a list (LPOS only when the list moved meanwhile), ZSCORE for a zset.
 */
async function checkChunk(
  ctx: Context,
  qs: QueueState,
  c: Expected,
  ids: readonly string[],
  start = 0,
): Promise<number> {
  if (ids.length === 0) return 0;
  const q = qs.name;
  const read = await ctx.broker.readStatesAndGroups(ids.map((id) => keys.taskKey(q, id)));
  const suspects: Array<{ at: number; dangling: boolean }> = [];
  const held: string[] = [];
  ids.forEach((id, i) => {
    const { exists, wrongType, state, group } = read[i]!;
    if (!exists) suspects.push({ at: i, dangling: true });
    // A corrupt hash (no or unknown state, not a hash) is the scan's finding, not the container's.
    else if (wrongType !== null || !isTaskState(state)) return;
    else if (state !== c.state) suspects.push({ at: i, dangling: false });
    else if (c.group !== undefined && group !== null && group !== c.group)
      suspects.push({ at: i, dangling: false });
    else if (c.state === "active") held.push(id);
  });
  const snaps = await snapshotMembers(
    ctx,
    qs,
    c,
    ids,
    start,
    suspects.map((s) => s.at),
  );
  let removed = 0;
  // Counts the IDs a fix removes from this container (a list's next chunk starts that much earlier).
  const tally =
    (fix: RepairFn): RepairFn =>
    async () => {
      const result = await fix();
      if (result.outcome === "repaired") removed++;
      return result;
    };
  const work: Array<Promise<void>> = suspects.map(({ at, dangling }, k) => {
    const id = ids[at]!;
    const snap = snaps[k]!;
    if (!snap.member[0]) return Promise.resolve();
    if (dangling) {
      if (snap.exists) return Promise.resolve();
      return qs.log.add(
        { kind: "dangling-id", queue: q, key: c.ref.key, id, detail: `in ${c.ref.key} with no task hash` },
        tally(danglingRepair(ctx.broker, q, c.ref, id, c.group)),
      );
    }
    if (!snap.exists || snap.state !== read[at]!.state || !isTaskState(snap.state)) return Promise.resolve();
    const home = homeOf(q, snap.state, snap.group);
    const where = snap.state === "aggregating" ? `aggregating in group ${String(snap.group)}` : snap.state;
    return qs.log.add(
      {
        kind: "misplaced-id",
        queue: q,
        key: c.ref.key,
        id,
        detail: `in ${c.ref.key}, but the task is ${where}`,
      },
      home && tally(misplacedRepair(ctx.broker, q, c.ref, id, snap.state, home, c.group)),
    );
  });
  work.push(checkUnleased(ctx, qs, held));
  await Promise.all(work);
  return removed;
}

/** MULTI re-reads of the suspects at these chunk positions; list members that moved are re-read with LPOS. */
async function snapshotMembers(
  ctx: Context,
  qs: QueueState,
  c: Expected,
  ids: readonly string[],
  start: number,
  positions: readonly number[],
): Promise<TaskSnapshot[]> {
  const q = qs.name;
  const ref = (i: number): ContainerRef => (c.ref.type === "list" ? { ...c.ref, at: start + i } : c.ref);
  const snaps = await ctx.broker.snapshotTasks(
    positions.map((i) => ({ taskKey: keys.taskKey(q, ids[i]!), id: ids[i]!, containers: [ref(i)] })),
  );
  if (c.ref.type !== "list") return snaps;
  const moved = positions.flatMap((i, k) => (snaps[k]!.member[0] ? [] : [k]));
  const again = await ctx.broker.snapshotTasks(
    moved.map((k) => ({
      taskKey: keys.taskKey(q, ids[positions[k]!]!),
      id: ids[positions[k]!]!,
      containers: [c.ref],
    })),
  );
  moved.forEach((k, j) => (snaps[k] = again[j]!));
  return snaps;
}

/** Active tasks with no lease entry (re-checked with active, lease and state in one MULTI). */
async function checkUnleased(ctx: Context, qs: QueueState, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const q = qs.name;
  const lease: ContainerRef = { key: keys.leaseKey(q), type: "zset" };
  const [leased = []] = await ctx.broker.zsetMembership([[lease.key, ids]]);
  const missing = ids.filter((_, i) => !leased[i]);
  const snaps = await ctx.broker.snapshotTasks(
    missing.map((id) => ({ taskKey: keys.taskKey(q, id), id, containers: [qs.active.ref, lease] })),
  );
  await Promise.all(
    missing.map((id, i) => {
      const snap = snaps[i]!;
      if (snap.state !== "active" || !snap.member[0] || snap.member[1]) return Promise.resolve();
      return qs.log.add(
        {
          kind: "active-without-lease",
          queue: q,
          key: qs.active.ref.key,
          id,
          detail: `in active with no entry in ${lease.key}`,
        },
        leaseRepair(ctx.broker, q, id, ctx.clock.now()),
      );
    }),
  );
}

/** Lease entries whose ID is not in active. */
async function checkLease(ctx: Context, qs: QueueState): Promise<void> {
  const q = qs.name;
  const lease: ContainerRef = { key: keys.leaseKey(q), type: "zset" };
  const index = qs.active.index;
  let cursor = "0";
  do {
    const [next, ids] = await ctx.broker.zsetChunk(lease.key, cursor, ctx.batch);
    cursor = next;
    const unsure = ids.filter((id) => !(index.covers(id) && index.has(id)));
    const found = await ctx.broker.memberships(
      unsure.map((id) => ({ id, containers: [qs.active.ref, lease] })),
    );
    await Promise.all(
      unsure.map((id, i) => {
        const [active, leased] = found[i]!;
        if (active || !leased) return Promise.resolve();
        return qs.log.add(
          {
            kind: "stale-lease",
            queue: q,
            key: lease.key,
            id,
            detail: `in ${lease.key} but not in ${qs.active.ref.key}`,
          },
          repair(`ZREM ${lease.key} ${id}`, () => ctx.broker.removeLease(q, id)),
        );
      }),
    );
  } while (cursor !== "0");
}

/** `groups` must hold exactly the names of the non-empty group zsets. */
async function checkGroups(ctx: Context, qs: QueueState): Promise<void> {
  const q = qs.name;
  const names = [...qs.groups].filter((g) => !qs.wrongType.has(keys.groupKey(q, g)));
  const states = await ctx.broker.groupStates(q, names);
  await Promise.all(
    names.map((g, i) => {
      const { registered, filled } = states[i]!;
      if (registered === filled) return Promise.resolve();
      const groupKey = keys.groupKey(q, g);
      const groupsKey = keys.allGroupsKey(q);
      return registered
        ? qs.log.add(
            {
              kind: "empty-group-registered",
              queue: q,
              key: groupsKey,
              detail: `names group ${JSON.stringify(g)}, but ${groupKey} is empty`,
            },
            repair(`SREM ${groupsKey} ${g}`, () => ctx.broker.fixGroup(q, g, "remove")),
          )
        : qs.log.add(
            {
              kind: "unregistered-group",
              queue: q,
              key: groupKey,
              detail: `has tasks, but ${groupsKey} does not name ${JSON.stringify(g)}`,
            },
            repair(`SADD ${groupsKey} ${g}`, () => ctx.broker.fixGroup(q, g, "add")),
          );
    }),
  );
}

/**
 * How long past its deadline an aggregation set may stay before it is reported: a live recoverer
 * (asynq's every minute, ours every `recoverInterval`) reclaims it within that time.
 */
const STALE_SET_GRACE_MS = 60_000;

/**
 * Every aggregation set must be in `aggregation_sets`, or no recoverer ever reclaims its tasks; one
 * a minute past its deadline is reported (no live recoverer reclaimed it), and reclaimed by `fix` as
 * the recoverer would.
 */
async function checkAggregationSets(ctx: Context, qs: QueueState): Promise<void> {
  const q = qs.name;
  const sets = [...qs.sets.keys()].filter((k) => !qs.wrongType.has(k));
  const states = await ctx.broker.aggregationSetStates(q, sets);
  const registry = keys.allAggregationSetsKey(q);
  await Promise.all(
    sets.map((setKey, i) => {
      const { exists, registered, deadlineSeconds } = states[i]!;
      if (!exists) return Promise.resolve();
      if (registered) {
        const cutoffMs = ctx.clock.now() - STALE_SET_GRACE_MS;
        if (deadlineSeconds === null || deadlineSeconds * 1000 > cutoffMs) return Promise.resolve();
        return qs.log.add(
          {
            kind: "stale-aggregation-set",
            queue: q,
            key: setKey,
            detail: `past its deadline (${new Date(deadlineSeconds * 1000).toISOString()}) in ${registry}: not reclaimed yet`,
          },
          repair(`reclaim ${setKey} into its group`, () =>
            ctx.broker.reclaimAggregationSet(q, setKey, ctx.clock.now()),
          ),
        );
      }
      return qs.log.add(
        {
          kind: "unregistered-aggregation-set",
          queue: q,
          key: setKey,
          detail: `not in ${registry}: never reclaimed`,
        },
        repair(`ZADD ${registry} <now> ${setKey}`, () =>
          ctx.broker.registerAggregationSet(q, setKey, ctx.clock.now()),
        ),
      );
    }),
  );
}
