// Aggregation I/O (wire-format §4.19 to §4.23, §5.12): list a queue's groups, check a group, read an
// aggregation set in pages, write the aggregated task, delete the members, reclaim stale sets.
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { unixNanos, unixSeconds } from "../../internal/clock.js";
import * as keys from "../../wire/keys.js";
import { encodeTaskMessage } from "../../wire/proto.js";
import type { TaskMessage } from "../../wire/messages.js";
import { execPipeline, toBuffer } from "../redis-values.js";
import { LuaScript, runScript, type ScriptArg } from "../scripts.js";

const scripts = {
  check: LuaScript.fromFile("group/check"),
  finalize: LuaScript.fromFile("group/finalize"),
  deleteMembers: LuaScript.fromFile("group/delete_members"),
  reclaim: LuaScript.fromFile("group/reclaim"),
};

/** Stale sets reclaimed per script call. */
const RECLAIM_BATCH = 100;

/** An aggregation set created by a check: where it is and when it becomes stale. */
export interface AggregationSetRef {
  queue: string;
  group: string;
  /** `asynq:{<q>}:g:<g>:<set>`. */
  setKey: string;
  /** Its score in `aggregation_sets` as created: the deadline, whole unix seconds. */
  deadlineSeconds: number;
}

/** The limits of one aggregation check (wire-format §4.19). */
export interface AggregationCheckRequest {
  queue: string;
  group: string;
  /** 0 = no maximum. */
  maxSize: number;
  /** Whole seconds; 0 = no maximum. */
  maxDelaySeconds: number;
  /** Whole seconds. */
  graceSeconds: number;
  nowMs: number;
  /** The set's deadline (its score in `aggregation_sets`), unix seconds: asynq's is now + 120. */
  deadlineSeconds: number;
}

/** One member of an aggregation set, as read. */
export interface AggregationMember {
  id: string;
  /** The encoded TaskMessage; null when the task hash (or its `msg`) is gone. */
  msg: Buffer | null;
  /** The hash's `unique_key` field ("" when absent): the lock asynq-ts's AddToGroupUnique names. */
  uniqueKeyField: string;
}

/** A member to delete, and its lock key ("" when it has none). */
export interface MemberToDelete {
  id: string;
  lockKey: string;
}

/** What {@link finishAggregation} did. */
export type FinishOutcome = "enqueued" | "conflict" | "lost";

/** What {@link deleteAggregatedMembers} did: `not-finished` when the set is not a finished one. */
export type DeleteMembersOutcome = { deleted: number; done: boolean } | "not-finished";

/** `SMEMBERS asynq:{<q>}:groups` (wire-format §4.23). */
export function listGroups(redis: Redis, queue: string): Promise<string[]> {
  return redis.smembers(keys.allGroupsKey(queue));
}

/**
 * Runs the aggregation check of one group (wire-format §4.19) with a fresh set ID.
 * @returns the set created, or null when the group is not due (or empty).
 */
export async function checkGroup(
  redis: Redis,
  req: AggregationCheckRequest,
): Promise<AggregationSetRef | null> {
  const { queue, group } = req;
  const setKey = keys.aggregationSetKey(queue, group, randomUUID());
  const now = unixSeconds(req.nowMs);
  const { deadlineSeconds } = req;
  const reply = await runScript(
    redis,
    scripts.check,
    [keys.groupKey(queue, group), setKey, keys.allAggregationSetsKey(queue), keys.allGroupsKey(queue)],
    [req.maxSize, req.maxDelaySeconds, req.graceSeconds, deadlineSeconds, now, group],
  );
  if (reply === 0) return null;
  if (reply !== 1) throw new Error(`${scripts.check.name}: unexpected reply ${String(reply)}`);
  return { queue, group, setKey, deadlineSeconds };
}

/**
 * Reads `count` members of a set from rank `start` (oldest first, wire-format §4.20): the IDs, then
 * their `msg` and `unique_key` fields in one pipeline. Read-only.
 */
export async function readAggregationSet(
  redis: Redis,
  queue: string,
  setKey: string,
  start: number,
  count: number,
): Promise<AggregationMember[]> {
  const ids = await redis.zrange(setKey, start, start + count - 1);
  if (ids.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hmgetBuffer(keys.taskKey(queue, id), "msg", "unique_key");
  const replies = (await execPipeline(pipeline)) as Array<[Buffer | null, Buffer | null]>;
  return ids.map((id, i) => {
    const [msg, unique] = replies[i] ?? [null, null];
    return { id, msg, uniqueKeyField: unique?.toString("utf8") ?? "" };
  });
}

/** `count` member IDs of a set from rank `start` (oldest first). Read-only. */
export function aggregationSetIds(
  redis: Redis,
  setKey: string,
  start: number,
  count: number,
): Promise<string[]> {
  return redis.zrange(setKey, start, start + count - 1);
}

/**
 * Registers the aggregated task's queue (`SADD asynq:queues`, as asynq's client does, wire-format §4.1),
 * then writes the task as pending and marks the set finished, atomically, if the set is still the
 * one created by the check (see group/finalize.lua).
 */
export async function finishAggregation(
  redis: Redis,
  set: AggregationSetRef,
  msg: TaskMessage,
  nowMs: number,
): Promise<FinishOutcome> {
  await redis.sadd(keys.ALL_QUEUES, msg.queue);
  const reply = await runScript(
    redis,
    scripts.finalize,
    [
      set.setKey,
      keys.allAggregationSetsKey(set.queue),
      keys.taskKey(msg.queue, msg.id),
      keys.pendingKey(msg.queue),
    ],
    [set.deadlineSeconds, toBuffer(encodeTaskMessage(msg)), msg.id, unixNanos(nowMs)],
  );
  switch (reply) {
    case 1:
      return "enqueued";
    case 0:
      return "conflict";
    case -1:
      return "lost";
    default:
      throw new Error(`${scripts.finalize.name}: unexpected reply ${String(reply)}`);
  }
}

/** Deletes members of a finished set (one script call), and unregisters the set once it is empty. */
export async function deleteAggregatedMembers(
  redis: Redis,
  queue: string,
  setKey: string,
  members: readonly MemberToDelete[],
): Promise<DeleteMembersOutcome> {
  const scriptKeys = [setKey, keys.allAggregationSetsKey(queue)];
  const args: ScriptArg[] = [];
  for (const m of members) {
    scriptKeys.push(keys.taskKey(queue, m.id));
    if (m.lockKey !== "") scriptKeys.push(m.lockKey);
    args.push(m.id, m.lockKey === "" ? "0" : "1");
  }
  const reply = await runScript(redis, scripts.deleteMembers, scriptKeys, args);
  if (reply === -1) return "not-finished";
  if (Array.isArray(reply) && typeof reply[0] === "number")
    return { deleted: reply[0], done: reply[1] === 1 };
  throw new Error(`${scripts.deleteMembers.name}: unexpected reply ${String(reply)}`);
}

/** Keys of the finished sets of a queue (score +inf): their members are still to be deleted. */
export function listFinishedAggregationSets(redis: Redis, queue: string): Promise<string[]> {
  return redis.zrangebyscore(keys.allAggregationSetsKey(queue), "+inf", "+inf", "LIMIT", 0, RECLAIM_BATCH);
}

/**
 * The group of an aggregation set key `asynq:{<q>}:g:<g>:<set>`: everything between `g:` and the
 * last `:` (group names may hold `:`); null when the key is not one of the queue's set keys.
 */
export function groupOfSetKey(queue: string, setKey: string): string | null {
  const prefix = keys.groupKeyPrefix(queue);
  if (!setKey.startsWith(prefix)) return null;
  const rest = setKey.slice(prefix.length);
  const cut = rest.lastIndexOf(":");
  return cut <= 0 ? null : rest.slice(0, cut);
}

/**
 * Reclaims one set of `queue` if its deadline is at or before `nowMs`, as
 * {@link reclaimStaleAggregationSets} does (doctor --fix).
 * @returns true when it was reclaimed (or only unregistered, its key being gone).
 */
export async function reclaimAggregationSet(
  redis: Redis,
  queue: string,
  setKey: string,
  nowMs: number,
): Promise<boolean> {
  const group = groupOfSetKey(queue, setKey);
  if (group === null) return false;
  const reply = await runScript(
    redis,
    scripts.reclaim,
    [keys.allAggregationSetsKey(queue), keys.allGroupsKey(queue), setKey, keys.groupKey(queue, group)],
    [unixSeconds(nowMs), group],
  );
  return reply === 1;
}

/**
 * Reclaims the sets of `queue` whose deadline is at or before `nowMs` (wire-format §4.22), in script
 * calls of {@link RECLAIM_BATCH}: members back into their group with their scores, the group name
 * back into `groups` (unlike asynq), the set deleted and unregistered. A registry member that is no
 * set key of the queue is left alone (doctor reports it).
 * @returns the number of sets unregistered.
 */
export async function reclaimStaleAggregationSets(
  redis: Redis,
  queue: string,
  nowMs: number,
): Promise<number> {
  const registry = keys.allAggregationSetsKey(queue);
  const now = unixSeconds(nowMs);
  let reclaimed = 0;
  let offset = 0;
  for (;;) {
    const candidates = await redis.zrangebyscore(registry, "-inf", now, "LIMIT", offset, RECLAIM_BATCH);
    const scriptKeys = [registry, keys.allGroupsKey(queue)];
    const groups: string[] = [];
    for (const setKey of candidates) {
      const group = groupOfSetKey(queue, setKey);
      if (group === null) {
        offset++;
        continue;
      }
      scriptKeys.push(setKey, keys.groupKey(queue, group));
      groups.push(group);
    }
    if (groups.length > 0) {
      const reply = await runScript(redis, scripts.reclaim, scriptKeys, [now, ...groups]);
      if (typeof reply !== "number")
        throw new Error(`${scripts.reclaim.name}: unexpected reply ${String(reply)}`);
      reclaimed += reply;
      // Candidates skipped by the script (changed meanwhile) stay in the range: step over them.
      offset += groups.length - reply;
    }
    if (candidates.length < RECLAIM_BATCH) break;
  }
  return reclaimed;
}
