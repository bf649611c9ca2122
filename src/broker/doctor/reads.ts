// Doctor's read-only Redis I/O: SCAN batches, pipelined task reads, chunked container reads, atomic re-checks, memory estimate.
import type { ChainableCommander, Redis } from "ioredis";
import * as keys from "../../wire/keys.js";
import { scanStep } from "../connection/cluster.js";
import { LuaScript, runScript } from "../scripts.js";
import type { ContainerRef, TaskFields } from "./port.js";

const readTasksScript = LuaScript.fromFile("doctor/read_tasks");

/** Most task keys per doctor/read_tasks call (about 1.5 ms of Redis time). */
const READ_CHUNK = 500;

/** Runs a pipeline (or MULTI); returns each reply, or the Error Redis answered for it. Shared with snapshot.ts. */
export async function run(pipeline: ChainableCommander): Promise<unknown[]> {
  const replies = await pipeline.exec();
  if (replies === null) throw new Error("pipeline was discarded");
  return replies.map(([error, reply]) => error ?? reply);
}

/** Runs a pipeline and throws the first error reply. */
async function runStrict(pipeline: ChainableCommander): Promise<unknown[]> {
  const replies = await run(pipeline);
  for (const reply of replies) if (reply instanceof Error) throw reply;
  return replies;
}

const utf8 = (b: unknown): string | null => (Buffer.isBuffer(b) ? b.toString("utf8") : null);

/**
 * One SCAN step: `[next cursor, keys]`; cursor "0" ends the iteration.
 * @throws the Redis error when a command fails.
 */
export async function scanKeys(
  redis: Redis,
  cursor: string,
  match: string,
  count: number,
): Promise<[string, string[]]> {
  // On a Cluster, every master in turn (cluster.ts).
  return scanStep(redis, cursor, match, count);
}

export const TASK_FIELDS = ["state", "msg", "group", "unique_key"] as const;

/** Decodes an HMGET of {@link TASK_FIELDS} (or its WRONGTYPE error) into TaskFields. */
export function taskFields(reply: unknown, exists = true): TaskFields {
  if (reply instanceof Error) {
    return { exists: true, wrongType: "not a hash", state: null, msg: null, group: null, uniqueKey: null };
  }
  const [state, msg, group, uniqueKey] = (reply ?? []) as Array<Buffer | null>;
  return {
    exists,
    wrongType: null,
    state: utf8(state),
    msg: msg ?? null,
    group: utf8(group),
    uniqueKey: utf8(uniqueKey),
  };
}

/**
 * Reads state, msg, group and unique_key of each task hash, all of one queue (one doctor/read_tasks
 * call per 500 keys, sent together). Read-only.
 * @throws the Redis error when a command fails.
 */
export async function readTaskFields(redis: Redis, taskKeys: readonly string[]): Promise<TaskFields[]> {
  return readTasks(redis, taskKeys, true);
}

/**
 * The `state` and `group` fields of each task hash, all of one queue (`exists` false when missing). Read-only.
 * @throws the Redis error when a command fails.
 */
export async function readStatesAndGroups(redis: Redis, taskKeys: readonly string[]): Promise<TaskFields[]> {
  return readTasks(redis, taskKeys, false);
}

async function readTasks(redis: Redis, taskKeys: readonly string[], full: boolean): Promise<TaskFields[]> {
  const chunks: Array<Promise<unknown>> = [];
  for (let i = 0; i < taskKeys.length; i += READ_CHUNK) {
    const chunk = taskKeys.slice(i, i + READ_CHUNK);
    chunks.push(runScript(redis, readTasksScript, chunk, [full ? "full" : "light"], true));
  }
  const width = full ? 4 : 2;
  const out: TaskFields[] = [];
  for (const reply of await Promise.all(chunks)) {
    const flat = reply as Array<number | Buffer | null>;
    for (let k = 0; k < flat.length; k += width + 1) {
      const exists = flat[k] as number;
      const field = (j: number): Buffer | null => (flat[k + 1 + j] as Buffer | null) ?? null;
      out.push({
        exists: exists !== 0,
        wrongType: exists === -1 ? "not a hash" : null,
        state: utf8(field(0)),
        msg: full ? field(1) : null,
        group: utf8(field(full ? 2 : 1)),
        uniqueKey: full ? utf8(field(3)) : null,
      });
    }
  }
  return out;
}

/**
 * The `state` field of each task hash (null when missing or not a hash). Read-only.
 * @throws the Redis error when a command fails.
 */
export async function readStates(redis: Redis, taskKeys: readonly string[]): Promise<Array<string | null>> {
  return (await readStatesAndGroups(redis, taskKeys)).map((f) => f.state);
}

/**
 * The Redis type of each key ("none" when gone).
 * @throws the Redis error when a command fails.
 */
export async function keyTypes(redis: Redis, list: readonly string[]): Promise<string[]> {
  if (list.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const key of list) pipeline.type(key);
  return (await runStrict(pipeline)) as string[];
}

/**
 * PTTL of each key: -1 no TTL, -2 gone.
 * @throws the Redis error when a command fails.
 */
export async function ttls(redis: Redis, list: readonly string[]): Promise<number[]> {
  if (list.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const key of list) pipeline.pttl(key);
  return (await runStrict(pipeline)) as number[];
}

/**
 * GET of each key (null when missing or not a string).
 * @throws the Redis error when a command fails.
 */
export async function readStrings(redis: Redis, list: readonly string[]): Promise<Array<string | null>> {
  if (list.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const key of list) pipeline.get(key);
  return (await run(pipeline)).map((r) => (typeof r === "string" ? r : null));
}

/**
 * EXISTS of each key.
 * @throws the Redis error when a command fails.
 */
export async function existing(redis: Redis, list: readonly string[]): Promise<boolean[]> {
  if (list.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const key of list) pipeline.exists(key);
  return ((await runStrict(pipeline)) as number[]).map((n) => n === 1);
}

/**
 * For each `[zset, ids]` group, whether each ID is a member (one ZMSCORE per group, one pipeline).
 * @throws the Redis error when a command fails.
 */
export async function zsetMembership(
  redis: Redis,
  groups: ReadonlyArray<readonly [string, readonly string[]]>,
): Promise<boolean[][]> {
  const asked = groups.filter(([, ids]) => ids.length > 0);
  if (asked.length === 0) return groups.map(() => []);
  const pipeline = redis.pipeline();
  for (const [key, ids] of asked) pipeline.zmscore(key, ...ids);
  const replies = await run(pipeline);
  let k = 0;
  return groups.map(([, ids]) => {
    if (ids.length === 0) return [];
    const reply = replies[k++];
    // A wrongly typed container (reported as an unknown key) holds nothing.
    return Array.isArray(reply) ? reply.map((s) => s !== null) : ids.map(() => false);
  });
}

/**
 * LRANGE of `count` members from `start`.
 * @throws the Redis error when a command fails.
 */
export function listChunk(redis: Redis, key: string, start: number, count: number): Promise<string[]> {
  return redis.lrange(key, start, start + count - 1);
}

/**
 * One ZSCAN step over a zset: `[next cursor, members, scores]`.
 * @throws the Redis error when a command fails.
 */
export async function zsetChunk(
  redis: Redis,
  key: string,
  cursor: string,
  count: number,
): Promise<[string, string[], number[]]> {
  const [next, flat] = await redis.zscan(key, cursor, "COUNT", count);
  const members: string[] = [];
  const scores: number[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    members.push(flat[i]!);
    scores.push(Number(flat[i + 1]));
  }
  return [next, members, scores];
}

/**
 * SMEMBERS (the `groups` set and `asynq:queues` are small).
 * @throws the Redis error when a command fails.
 */
export function setMembers(redis: Redis, key: string): Promise<string[]> {
  return redis.smembers(key);
}

/**
 * Every member of a small zset (`aggregation_sets`).
 * @throws the Redis error when a command fails.
 */
export function zsetMembers(redis: Redis, key: string): Promise<string[]> {
  return redis.zrange(key, 0, -1);
}

/**
 * LLEN or ZCARD of each container (0 when missing or of another type).
 * @throws the Redis error when a command fails.
 */
export async function containerSizes(redis: Redis, containers: readonly ContainerRef[]): Promise<number[]> {
  if (containers.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const c of containers) {
    if (c.type === "list") pipeline.llen(c.key);
    else pipeline.zcard(c.key);
  }
  return (await run(pipeline)).map((r) => (typeof r === "number" ? r : 0));
}

/** Sum of MEMORY USAGE over keys (missing keys count 0). */
async function memoryOf(redis: Redis, list: readonly string[]): Promise<number[]> {
  if (list.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const key of list) pipeline.call("MEMORY", "USAGE", key);
  return (await run(pipeline)).map((r) => (typeof r === "number" ? r : 0));
}

const SAMPLE = 20;
const GROUP_SAMPLE = 5;

/**
 * asynq's memory estimate of a queue (wire-format §4.28.1, HEAD's variant with missing-hash guards): for
 * each container, MEMORY USAGE of its first 20 task hashes, averaged over the IDs sampled, times
 * its size, plus the container key itself; for groups, the first 5 groups of `groups` sampled
 * likewise (only existing hashes count) and scaled to Σ ZCARD of every group. Read-only.
 * @throws the Redis error when a command fails.
 */
export async function memoryEstimate(redis: Redis, queue: string): Promise<number> {
  const containers = [
    keys.activeKey(queue),
    keys.pendingKey(queue),
    keys.scheduledKey(queue),
    keys.retryKey(queue),
    keys.archivedKey(queue),
    keys.completedKey(queue),
  ];
  const first = redis.pipeline();
  containers.forEach((key, i) => {
    if (i < 2) first.lrange(key, 0, SAMPLE - 1).llen(key);
    else first.zrange(key, 0, SAMPLE - 1).zcard(key);
  });
  first.smembers(keys.allGroupsKey(queue));
  const replies = await run(first);
  const list = (r: unknown): string[] => (Array.isArray(r) ? (r as string[]) : []);
  const num = (r: unknown): number => (typeof r === "number" ? r : 0);
  const samples = containers.map((_, i) => list(replies[2 * i]));
  const groups = list(replies[12]);
  const sampled = groups.slice(0, GROUP_SAMPLE).map((g) => keys.groupKey(queue, g));
  const second = redis.pipeline();
  for (const g of groups) second.zcard(keys.groupKey(queue, g));
  for (const g of sampled) second.zrange(g, 0, SAMPLE - 1);
  const groupReplies = await run(second);
  const groupTotal = groupReplies.slice(0, groups.length).reduce<number>((a, r) => a + num(r), 0);
  const groupIds = groupReplies.slice(groups.length).flatMap(list);
  const sampleKeys = samples.map((ids) => ids.map((id) => keys.taskKey(queue, id)));
  const usage = await memoryOf(redis, [
    ...containers,
    ...sampleKeys.flat(),
    ...groupIds.map((id) => keys.taskKey(queue, id)),
  ]);
  let total = 0;
  let at = containers.length;
  samples.forEach((ids, i) => {
    const sum = usage.slice(at, at + ids.length).reduce((a, b) => a + b, 0);
    at += ids.length;
    if (ids.length > 0) total += (sum / ids.length) * num(replies[2 * i + 1]);
    total += usage[i] ?? 0;
  });
  const groupUsage = usage.slice(at).filter((u) => u > 0);
  if (groupUsage.length > 0) {
    total += (groupUsage.reduce((a, b) => a + b, 0) / groupUsage.length) * groupTotal;
  }
  return Math.trunc(total);
}
