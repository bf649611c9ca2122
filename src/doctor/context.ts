// Doctor's working state: options, per-queue accumulators and list indexes, shared by the audit's passes.
import type { ContainerRef, DoctorBroker } from "../broker/doctor/port.js";
import type { Clock } from "../internal/clock.js";
import * as keys from "../wire/keys.js";
import type { TaskState } from "../wire/keys.js";
import { ListIndex } from "./list-index.js";
import { IssueLog } from "./report.js";
import type { Judged } from "./judge.js";

/** The settings of one run. */
export interface Settings {
  /** Every Redis read and repair goes through it. */
  broker: DoctorBroker;
  fix: boolean;
  /** SCAN COUNT and the chunk size of every container read. */
  batch: number;
  /** Issues listed per kind and queue. */
  limit: number;
  /** Most list members one ListIndex holds (8 bytes each); longer lists are indexed in partitions. */
  indexLimit: number;
  clock: Clock;
}

/** A list container and its membership index. */
export interface ListState {
  ref: ContainerRef;
  /** LLEN when the audit started: above LPOS_LIMIT, misses are confirmed by re-reading the list. */
  length: number;
  /** Tasks of this list's state missing from the index, waiting for a confirming pass over the list. */
  candidates: Judged[];
  /** Members indexed in K partitions; the main scan uses partition 0. */
  index: ListIndex;
}

/** What the audit gathers about one queue. */
export interface QueueState {
  name: string;
  registered: boolean;
  log: IssueLog;
  tasks: Record<TaskState, number>;
  quarantined: number;
  /** Keys seen other than counters, `paused` and locks (a queue with none of them is leftovers). */
  substantiveKeys: number;
  pending: ListState;
  active: ListState;
  /** Group names: `groups` members read at the start, and every `g:<g>` key seen. */
  groups: Set<string>;
  /** Aggregation set key → group: `aggregation_sets` members read at the start, and every set key seen. */
  sets: Map<string, string>;
  /** Container keys found with another type than the data model's (reported; not read). */
  wrongType: Set<string>;
  /**
   * Aggregating tasks not found in their group, re-checked after the scan, when every aggregation
   * set of the queue is known (at most DEFERRED_LIMIT; beyond it they are re-checked at once).
   */
  deferred: Judged[];
}

/** Most aggregating candidates per queue kept for the end of the scan. */
export const DEFERRED_LIMIT = 10_000;

/**
 * Longest list on which a miss is confirmed with LPOS (O(N), about 20 µs per 1000 members, blocking
 * Redis meanwhile). On a longer list, misses are gathered (up to DEFERRED_LIMIT) and confirmed by
 * one more chunked pass over the list.
 */
export const LPOS_LIMIT = 10_000;

/** Everything a pass needs. */
export interface Context extends Settings {
  registered: Set<string>;
  queues: Map<string, QueueState>;
  /** Queue states being created (their first reads in flight). */
  creating: Map<string, Promise<QueueState>>;
  global: IssueLog;
  /** Restrict to these queues (no global checks) when set. */
  only: ReadonlySet<string> | undefined;
}

const emptyTasks = (): Record<TaskState, number> => ({
  pending: 0,
  active: 0,
  scheduled: 0,
  retry: 0,
  archived: 0,
  completed: 0,
  aggregating: 0,
});

/** Reads a list in chunks into a new index of the given partition. */
export async function buildIndex(
  ctx: Settings,
  key: string,
  partitions: number,
  partition: number,
): Promise<ListIndex> {
  const index = new ListIndex(partitions, partition);
  for (let start = 0; ; start += ctx.batch) {
    // A key of another type (reported as an unknown key) holds no member.
    const chunk = await ctx.broker.listChunk(key, start, ctx.batch).catch(emptyIfWrongType);
    index.addAll(chunk);
    if (chunk.length < ctx.batch) return index;
  }
}

/** Turns Redis's WRONGTYPE error into an empty read; rethrows anything else. */
export function emptyIfWrongType(error: unknown): never[] {
  if (error instanceof Error && error.message.startsWith("WRONGTYPE")) return [];
  throw error;
}

/** Partitions needed so that one index holds at most `indexLimit` members. */
function partitionsFor(ctx: Settings, length: number): number {
  return Math.max(1, Math.ceil(length / ctx.indexLimit));
}

/**
 * The state of `queue`, created on first use: reads `groups`, `aggregation_sets` and the lengths of
 * pending and active, and indexes partition 0 of each list.
 */
export async function queueState(ctx: Context, queue: string): Promise<QueueState> {
  const known = ctx.queues.get(queue);
  if (known !== undefined) return known;
  // Batches run concurrently: the first to meet a queue creates its state, the others wait for it.
  let creating = ctx.creating.get(queue);
  if (creating === undefined) {
    creating = createQueueState(ctx, queue);
    ctx.creating.set(queue, creating);
  }
  return creating;
}

async function createQueueState(ctx: Context, queue: string): Promise<QueueState> {
  const { broker } = ctx;
  const [groups, sets, [pendingLength = 0, activeLength = 0]] = await Promise.all([
    broker.setMembers(keys.allGroupsKey(queue)).catch(() => []),
    broker.zsetMembers(keys.allAggregationSetsKey(queue)).catch(() => []),
    broker.containerSizes([
      { key: keys.pendingKey(queue), type: "list" },
      { key: keys.activeKey(queue), type: "list" },
    ]),
  ]);
  const setMap = new Map<string, string>();
  addSets(queue, setMap, sets);
  const list = async (key: string, length: number): Promise<ListState> => ({
    ref: { key, type: "list" },
    length,
    candidates: [],
    index: await buildIndex(ctx, key, partitionsFor(ctx, length), 0),
  });
  const state: QueueState = {
    name: queue,
    registered: ctx.registered.has(queue),
    log: new IssueLog(ctx.limit, ctx.fix),
    tasks: emptyTasks(),
    quarantined: 0,
    substantiveKeys: 0,
    pending: await list(keys.pendingKey(queue), pendingLength),
    active: await list(keys.activeKey(queue), activeLength),
    groups: new Set(groups),
    sets: setMap,
    wrongType: new Set(),
    deferred: [],
  };
  ctx.queues.set(queue, state);
  ctx.creating.delete(queue);
  return state;
}

/** Adds aggregation set keys (members of `aggregation_sets`) with their group names. */
function addSets(queue: string, sets: Map<string, string>, setKeys: readonly string[]): void {
  const setPrefix = keys.groupKeyPrefix(queue);
  for (const setKey of setKeys) {
    const rest = setKey.startsWith(setPrefix) ? setKey.slice(setPrefix.length) : "";
    const cut = rest.lastIndexOf(":");
    if (cut > 0) sets.set(setKey, rest.slice(0, cut));
  }
}

/** Re-reads `aggregation_sets` (sets created since the audit started); returns how many sets are new. */
export async function refreshSets(ctx: Context, qs: QueueState): Promise<number> {
  const before = qs.sets.size;
  const setKeys = await ctx.broker.zsetMembers(keys.allAggregationSetsKey(qs.name)).catch(() => []);
  addSets(qs.name, qs.sets, setKeys);
  return qs.sets.size - before;
}

/** The container a state names (aggregating: the task's group zset). Undefined for aggregating without a group. */
export function homeOf(queue: string, state: TaskState, group: string | null): ContainerRef | undefined {
  switch (state) {
    case "pending":
    case "active":
      return { key: state === "pending" ? keys.pendingKey(queue) : keys.activeKey(queue), type: "list" };
    case "aggregating":
      return group === null || group === "" ? undefined : { key: keys.groupKey(queue, group), type: "zset" };
    default:
      return { key: keys.stateKey(queue, state), type: "zset" };
  }
}

/** Every container that may legitimately hold a task of this state: its home, and for aggregating the group's aggregation sets. */
export function homesOf(qs: QueueState, state: TaskState, group: string | null): ContainerRef[] {
  const home = homeOf(qs.name, state, group);
  if (home === undefined) return [];
  if (state !== "aggregating") return [home];
  const sets = [...qs.sets]
    .filter(([, g]) => g === group)
    .map(([key]): ContainerRef => ({ key, type: "zset" }));
  return [home, ...sets];
}
