// Inspector reads and admin writes on one queue (wire-format §4.28.1, §4.28.2, §4.28.11, §4.23): stats and memory
// estimate, daily history, groups, pause/unpause. Queue removal is in ./queue-removal.ts.
import { execPipeline as exec } from "../redis-values.js";
import type { Redis } from "ioredis";
import { unixSeconds } from "../../internal/clock.js";
import * as keys from "../../wire/keys.js";
import { LuaScript, runScript } from "../scripts.js";

const infoScript = LuaScript.fromFile("admin/queue_info");

/** IDs sampled per container for the memory estimate (asynq's sample size, wire-format §5.1). */
const MEMORY_SAMPLE = 20;
/** Groups sampled for the memory estimate (asynq's group sample size). */
const MEMORY_GROUP_SAMPLE = 5;

/** What Redis holds about a queue, as read by {@link readQueueStats} (counters still raw). */
export interface QueueStatsRecord {
  pending: number;
  active: number;
  scheduled: number;
  retry: number;
  archived: number;
  completed: number;
  /** Tasks waiting in groups (sum of the group zsets; tasks inside aggregation sets are not counted). */
  aggregating: number;
  /** Members of the groups set. */
  groups: number;
  /** Today's processed and failed counters and the all-time ones (0 when missing). */
  processedToday: number;
  failedToday: number;
  processedTotal: number;
  failedTotal: number;
  paused: boolean;
  /** `pending_since` (unix ns) of the next task to dequeue; null when pending is empty or it has none. */
  oldestPendingSinceNs: bigint | null;
  /** asynq's memory estimate in bytes (wire-format §4.28.1). */
  memoryUsage: number;
}

/** A group and the number of tasks waiting in it. */
export interface GroupSize {
  group: string;
  size: number;
}

/** One UTC day's counters. */
export interface DayCounters {
  /** `YYYY-MM-DD` (UTC). */
  date: string;
  processed: number;
  failed: number;
}

/**
 * Reads a queue's stats: one pipeline for the registration, the group names, the tail of pending and
 * the memory sample IDs; one more for the group samples when the queue has groups; then one script
 * (admin/queue_info) that counts everything and estimates memory. A fourth round trip happens only when the
 * tail of pending moved in between (then its successor's `pending_since` is read).
 *
 * @throws the Redis error when a command fails.
 */
export async function readQueueStats(
  redis: Redis,
  queue: string,
  nowMs: number,
): Promise<QueueStatsRecord | "queue-not-found"> {
  const last = MEMORY_SAMPLE - 1;
  const containers = [
    keys.pendingKey(queue),
    keys.activeKey(queue),
    keys.scheduledKey(queue),
    keys.retryKey(queue),
    keys.archivedKey(queue),
    keys.completedKey(queue),
  ] as const;
  const first = await exec(
    redis
      .pipeline()
      .sismember(keys.ALL_QUEUES, queue)
      .smembers(keys.allGroupsKey(queue))
      .lindex(containers[0], -1)
      .lrange(containers[0], 0, last)
      .lrange(containers[1], 0, last)
      .zrange(containers[2], 0, last)
      .zrange(containers[3], 0, last)
      .zrange(containers[4], 0, last)
      .zrange(containers[5], 0, last),
  );
  if (first[0] !== 1) return "queue-not-found";
  const groups = first[1] as string[];
  const tail = (first[2] as string | null) ?? "";
  const samples = first.slice(3) as string[][];
  let groupSamples: string[] = [];
  if (groups.length > 0) {
    const pipeline = redis.pipeline();
    for (const g of groups.slice(0, MEMORY_GROUP_SAMPLE)) pipeline.zrange(keys.groupKey(queue, g), 0, last);
    groupSamples = ((await exec(pipeline)) as string[][]).flat();
  }
  const now = new Date(nowMs);
  const scriptKeys = [
    ...containers,
    keys.processedKey(queue, now),
    keys.failedKey(queue, now),
    keys.processedTotalKey(queue),
    keys.failedTotalKey(queue),
    keys.pausedKey(queue),
    keys.allGroupsKey(queue),
    keys.taskKey(queue, tail),
    ...groups.map((g) => keys.groupKey(queue, g)),
    ...samples.flat().map((id) => keys.taskKey(queue, id)),
    ...groupSamples.map((id) => keys.taskKey(queue, id)),
  ];
  const args = [tail, groups.length, ...samples.map((s) => s.length), groupSamples.length];
  const reply = await runScript(redis, infoScript, scriptKeys, args);
  if (!Array.isArray(reply) || reply.length !== 16) {
    throw new Error(`admin/queue_info: unexpected reply ${JSON.stringify(reply)}`);
  }
  const r = reply as unknown[];
  let pendingSince = r[14] as string | null;
  const currentTail = r[13] as string | null;
  if (currentTail !== null && currentTail !== tail) {
    // The tail was dequeued in between: read its successor's field (a plain read; an estimate anyway).
    pendingSince = await redis.hget(keys.taskKey(queue, currentTail), "pending_since");
  }
  const count = (i: number): number => r[i] as number;
  return {
    pending: count(0),
    active: count(1),
    scheduled: count(2),
    retry: count(3),
    archived: count(4),
    completed: count(5),
    processedToday: counter(r[6]),
    failedToday: counter(r[7]),
    processedTotal: counter(r[8]),
    failedTotal: counter(r[9]),
    paused: count(10) === 1,
    groups: count(11),
    aggregating: count(12),
    oldestPendingSinceNs: currentTail === null ? null : nanos(pendingSince),
    memoryUsage: count(15),
  };
}

/**
 * Reads the processed and failed counters of `days` UTC days, newest first: day i is the calendar day
 * of `nowMs` - i × 24 h (wire-format §1.6, §4.28.2). One pipeline (registration check and MGETs).
 *
 * @throws the Redis error when a command fails.
 */
export async function readQueueHistory(
  redis: Redis,
  queue: string,
  days: number,
  nowMs: number,
): Promise<DayCounters[] | "queue-not-found"> {
  const dates = Array.from({ length: days }, (_, i) => new Date(nowMs - i * 86_400_000));
  const pipeline = redis.pipeline().sismember(keys.ALL_QUEUES, queue);
  const CHUNK = 100;
  for (let i = 0; i < dates.length; i += CHUNK) {
    const chunk = dates.slice(i, i + CHUNK);
    pipeline.mget(chunk.flatMap((d) => [keys.processedKey(queue, d), keys.failedKey(queue, d)]));
  }
  const replies = await exec(pipeline);
  if (replies[0] !== 1) return "queue-not-found";
  const values = (replies.slice(1) as Array<Array<string | null>>).flat();
  return dates.map((d, i) => ({
    date: keys.dayString(d),
    processed: counter(values[2 * i]),
    failed: counter(values[2 * i + 1]),
  }));
}

/**
 * Pauses a queue as asynq does (wire-format §4.28.11): `SET paused <now unix s> NX`, no TTL. Servers stop
 * dequeuing from it; the forwarder, janitor, recoverer and aggregator keep working.
 * @returns "already-paused" when the key existed (nothing written).
 * @throws the Redis error when the command fails.
 */
export async function pauseQueue(
  redis: Redis,
  queue: string,
  nowMs: number,
): Promise<"ok" | "already-paused"> {
  const set = await redis.set(keys.pausedKey(queue), String(unixSeconds(nowMs)), "NX");
  return set === "OK" ? "ok" : "already-paused";
}

/**
 * Unpauses a queue (wire-format §4.28.11): `DEL paused`.
 * @returns "not-paused" when there was no key.
 * @throws the Redis error when the command fails.
 */
export async function unpauseQueue(redis: Redis, queue: string): Promise<"ok" | "not-paused"> {
  return (await redis.del(keys.pausedKey(queue))) === 1 ? "ok" : "not-paused";
}

/**
 * Lists the groups of a queue with their sizes (wire-format §4.28.4 "Groups"): one pipeline for the
 * registration and `SMEMBERS groups`, one for `ZCARD` of each group. Sorted by group name.
 * @throws the Redis error when a command fails.
 */
export async function readGroups(redis: Redis, queue: string): Promise<GroupSize[] | "queue-not-found"> {
  const [registered, names] = (await exec(
    redis.pipeline().sismember(keys.ALL_QUEUES, queue).smembers(keys.allGroupsKey(queue)),
  )) as [number, string[]];
  if (registered !== 1) return "queue-not-found";
  if (names.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const g of names) pipeline.zcard(keys.groupKey(queue, g));
  const sizes = (await exec(pipeline)) as number[];
  return names
    .map((group, i) => ({ group, size: sizes[i] ?? 0 }))
    .sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}

/** A stored counter (decimal string) as a number; 0 when missing or unreadable. */
function counter(value: unknown): number {
  if (typeof value !== "string" || !/^-?\d+$/.test(value)) return 0;
  return Number(value);
}

/** A stored `pending_since` (decimal unix ns) as a bigint; null when missing or unreadable. */
function nanos(value: string | null): bigint | null {
  return value !== null && /^-?\d+$/.test(value) ? BigInt(value) : null;
}
