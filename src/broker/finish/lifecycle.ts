// Worker-side task lifecycle (wire-format §4.11-§4.15, §4.18, §4.24): what an attempt's end does to an active task in Redis.
import { execPipeline, sha1Hex, toBuffer, statsExpireAt } from "../redis-values.js";
import type { Redis } from "ioredis";
import { unixSeconds } from "../../internal/clock.js";
import * as keys from "../../wire/keys.js";
import { LuaScript, runScript, type ScriptArg } from "../scripts.js";
import type { ActiveOutcome, ArchiveRequest } from "../ports.js";
import { encodeTaskMessage } from "../../wire/proto.js";

const scripts = {
  done: LuaScript.fromFile("finish/done"),
  markComplete: LuaScript.fromFile("finish/mark_complete"),
  retry: LuaScript.fromFile("finish/retry"),
  archive: LuaScript.fromFile("finish/archive"),
  requeue: LuaScript.fromFile("finish/requeue"),
  quarantine: LuaScript.fromFile("finish/quarantine"),
  deleteActive: LuaScript.fromFile("finish/delete_active"),
  writeResult: LuaScript.fromFile("finish/write_result"),
  writeProgress: LuaScript.fromFile("finish/write_progress"),
  trimArchive: LuaScript.fromFile("finish/trim_archive"),
};

export { STATS_TTL_SECONDS } from "../redis-values.js";

/** How many trim rounds in a row may delete nothing (candidates changed under us) before trimArchive stops. */
const MAX_TRIM_STALLS = 3;

/**
 * Deletes a task that succeeded with no retention (wire-format §4.11; also RevokeTask): removes it from
 * active and lease, deletes its hash, counts it as processed (daily key of the UTC date of `nowMs`
 * and total), and releases its uniqueness lock if the lock still holds this ID.
 *
 * @param uniqueKey the task's lock key (msg.uniqueKey), "" when it has none.
 * @param fence the encoded TaskMessage as dequeued: when given, nothing is written unless the stored
 *   message is still that one (a late write after the task was recovered elsewhere is dropped).
 * @param event what the queue's event stream says happened (while someone listens).
 * @returns "not-active" (nothing written) when the ID is not in active.
 */
export async function done(
  redis: Redis,
  queue: string,
  id: string,
  uniqueKey: string,
  nowMs: number,
  fence?: Uint8Array,
  event: "completed" | "revoked" = "completed",
): Promise<ActiveOutcome> {
  return runTransition(
    redis,
    scripts.done,
    [
      keys.activeKey(queue),
      keys.leaseKey(queue),
      keys.taskKey(queue, id),
      ...processedKeys(queue, nowMs),
      ...eventKeys(queue),
      ...lockKeys(uniqueKey),
    ],
    [id, statsExpireAt(nowMs), fenceArg(fence), event],
  );
}

/**
 * Keeps a task that succeeded with retention as completed (wire-format §4.12): moves it from active and
 * lease to the completed zset, rewrites `msg` (the caller set completed_at) and `state`, keeps
 * `result`, counts it as processed and releases its lock if still owned.
 *
 * @param encodedMsg the TaskMessage with completed_at = completion time.
 * @param uniqueKey the task's lock key, "" when it has none.
 * @param completedExpirySeconds the completed zset score: the absolute unix second at which the
 *   retention ends (completed_at + retention), when the janitor may delete the task.
 * @param fence the encoded TaskMessage as dequeued: when given, nothing is written unless the stored
 *   message is still that one (a late write after the task was recovered elsewhere is dropped).
 * @returns "not-active" (nothing written) when the ID is not in active.
 */
export async function markComplete(
  redis: Redis,
  queue: string,
  id: string,
  encodedMsg: Uint8Array,
  uniqueKey: string,
  nowMs: number,
  completedExpirySeconds: number,
  fence?: Uint8Array,
): Promise<ActiveOutcome> {
  return runTransition(
    redis,
    scripts.markComplete,
    [
      keys.activeKey(queue),
      keys.leaseKey(queue),
      keys.completedKey(queue),
      keys.taskKey(queue, id),
      ...processedKeys(queue, nowMs),
      ...eventKeys(queue),
      ...lockKeys(uniqueKey),
    ],
    [id, statsExpireAt(nowMs), completedExpirySeconds, toBuffer(encodedMsg), fenceArg(fence)],
  );
}

/**
 * Schedules a failed task for another attempt (wire-format §4.14): moves it from active and lease to the
 * retry zset at `retryAtMs` (whole unix seconds), rewrites `msg` (the caller updated retried,
 * error_msg and last_failed_at) and `state`. When `isFailure`, counts it as processed and failed.
 * The uniqueness lock is kept.
 *
 * @param fence the encoded TaskMessage as dequeued: when given, nothing is written unless the stored
 *   message is still that one (a late write after the task was recovered elsewhere is dropped).
 * @param errorMsg the error, for the event stream.
 * @returns "not-active" (nothing written) when the ID is not in active.
 */
export async function retry(
  redis: Redis,
  queue: string,
  id: string,
  encodedMsg: Uint8Array,
  retryAtMs: number,
  isFailure: boolean,
  nowMs: number,
  fence?: Uint8Array,
  errorMsg = "",
): Promise<ActiveOutcome> {
  const call = retryCall(queue, id, encodedMsg, retryAtMs, isFailure, nowMs, fenced(fence), errorMsg);
  return runTransition(redis, scripts.retry, call.keys, call.args);
}

/**
 * Archives a failed task (wire-format §4.15 steps 1-3 and 6-7): moves it from active and lease to the
 * archived zset (score = now), rewrites `msg` (the caller updated error_msg and last_failed_at) and
 * `state`, counts it as processed and failed. Unlike asynq it releases the uniqueness lock
 * (`msg.uniqueKey`) if still owned (archived is not a live state) and does not trim the archive: call
 * {@link trimArchive}.
 *
 * The event stream says `expired` when `req.expired` (the deadline ended the task), else `archived`,
 * with `msg.errorMsg` as the error; an `unstarted` task (it expired before it could start) had no
 * failed attempt. With `req.fence`, nothing is written unless the stored message is still the one
 * dequeued (a late write after the task was recovered elsewhere is dropped).
 *
 * @returns "not-active" (nothing written) when the ID is not in active.
 */
export async function archive(redis: Redis, req: ArchiveRequest): Promise<ActiveOutcome> {
  const call = archiveCall(
    req.queue,
    req.id,
    encodeTaskMessage(req.msg),
    req.msg.uniqueKey,
    req.nowMs,
    fenced(req.fence),
    req.expired === true ? "expired" : "archived",
    req.msg.errorMsg,
    req.unstarted !== true,
  );
  return runTransition(redis, scripts.archive, call.keys, call.args);
}

/**
 * Puts an in-flight task back at the front of pending (wire-format §4.13, shutdown): `state` = pending;
 * msg, retried, counters and `pending_since` are left alone. An active ID whose hash is missing is
 * only removed from active and lease.
 *
 * @param fence the encoded TaskMessage as dequeued: when given, nothing is written unless the stored
 *   message is still that one (a late write after the task was recovered elsewhere is dropped).
 * @returns "not-active" (nothing written) when the ID is not in active.
 */
export async function requeue(
  redis: Redis,
  queue: string,
  id: string,
  fence?: Uint8Array,
): Promise<ActiveOutcome> {
  return runTransition(
    redis,
    scripts.requeue,
    [keys.activeKey(queue), keys.leaseKey(queue), keys.pendingKey(queue), keys.taskKey(queue, id)],
    [id, fenceArg(fence)],
  );
}

/**
 * Moves aside an active task whose msg cannot be decoded: to the archived zset (score = now) with
 * `state` = archived, msg untouched, no counters. Its uniqueness lock, unknowable without the msg,
 * expires by its TTL. An active ID whose hash is missing is only removed from active and lease.
 *
 * @returns "not-active" (nothing written) when the ID is not in active.
 */
export async function quarantine(
  redis: Redis,
  queue: string,
  id: string,
  nowMs: number,
): Promise<ActiveOutcome> {
  const reply = await runScript(
    redis,
    scripts.quarantine,
    [keys.activeKey(queue), keys.leaseKey(queue), keys.archivedKey(queue), keys.taskKey(queue, id)],
    [id, unixSeconds(nowMs), ""], // "": no precondition (the recoverer passes its lease guard)
  );
  if (reply === 2) return "ok"; // a dangling ID (no hash), removed from active and lease
  return replyCode(reply, scripts.quarantine.name) ? "ok" : "not-active";
}

/**
 * Deletes an expired active task (`onExpired: "delete"`): removes it from active and lease, deletes
 * its hash, counts it as processed and failed, and releases its lock if still owned.
 *
 * @param uniqueKey the task's lock key, "" when it has none.
 * @param fence the encoded TaskMessage as dequeued: when given, nothing is written unless the stored
 *   message is still that one (a late write after the task was recovered elsewhere is dropped).
 * @param errorMsg why it expired, for the event stream.
 * @returns "not-active" (nothing written) when the ID is not in active.
 */
export async function deleteActive(
  redis: Redis,
  queue: string,
  id: string,
  uniqueKey: string,
  nowMs: number,
  fence?: Uint8Array,
  errorMsg = "",
): Promise<ActiveOutcome> {
  return runTransition(
    redis,
    scripts.deleteActive,
    [
      keys.activeKey(queue),
      keys.leaseKey(queue),
      keys.taskKey(queue, id),
      ...dailyKeys(queue, nowMs),
      ...totalKeys(queue),
      ...eventKeys(queue),
      ...lockKeys(uniqueKey),
    ],
    [id, statsExpireAt(nowMs), fenceArg(fence), errorMsg],
  );
}

/**
 * Stores a handler's result in the task hash field `result` (wire-format §4.24), replacing any earlier
 * one. Unlike asynq's plain HSET, a task whose hash is gone is not re-created.
 *
 * @returns "not-found" (nothing written) when the task hash does not exist.
 */
export async function writeResult(
  redis: Redis,
  queue: string,
  id: string,
  bytes: Uint8Array,
): Promise<"ok" | "not-found"> {
  const reply = await runScript(redis, scripts.writeResult, [keys.taskKey(queue, id)], [toBuffer(bytes)]);
  return replyCode(reply, "write_result") ? "ok" : "not-found";
}

/**
 * Stores a running task's progress (hash field `progress`, JSON text; Go ignores the field) and adds a
 * `progress` entry to the queue's event stream while someone listens.
 *
 * @param fence the encoded TaskMessage as dequeued: nothing is written unless the task is active with
 *   that message (compared by SHA-1).
 * @returns "not-active" (nothing written) when the task is no longer active with that message.
 */
export async function writeProgress(
  redis: Redis,
  queue: string,
  id: string,
  json: string,
  fence: Uint8Array,
): Promise<"ok" | "not-active"> {
  const reply = await runScript(
    redis,
    scripts.writeProgress,
    [keys.taskKey(queue, id), ...eventKeys(queue)],
    [id, json, sha1Hex(fence)],
  );
  return replyCode(reply, "write_progress") ? "ok" : "not-active";
}

/**
 * Extends the leases of active tasks to `leaseExpiresAtMs` (whole unix seconds) with
 * `ZADD lease XX` (wire-format §4.18): IDs no longer in the lease zset are not added back.
 */
export async function extendLease(
  redis: Redis,
  queue: string,
  ids: readonly string[],
  leaseExpiresAtMs: number,
): Promise<void> {
  if (ids.length === 0) return;
  const expiry = unixSeconds(leaseExpiresAtMs);
  await redis.zadd(keys.leaseKey(queue), "XX", ...ids.flatMap((id) => [expiry, id]));
}

/**
 * Trims the archive of `queue`: deletes (zset member and task hash) every task archived at or
 * before `nowMs - maxAgeMs`, and the oldest tasks beyond `maxSize`, so that at most `maxSize`
 * remain (asynq keeps one fewer). Works in rounds of at most `batch` candidates per limit, each
 * re-verified atomically, until nothing is left to trim. Lock keys are not touched (archive
 * released them).
 *
 * @param maxSize the most archived tasks to keep, an integer >= 0 (resolved and validated by the
 *   server config or the Inspector's options).
 * @param maxAgeMs how long an archived task is kept, in ms.
 * @param batch the most candidates per limit per round, an integer >= 1.
 * @returns the number of tasks deleted.
 */
export async function trimArchive(
  redis: Redis,
  queue: string,
  nowMs: number,
  maxSize: number,
  maxAgeMs: number,
  batch = 100,
): Promise<number> {
  const cutoff = unixSeconds(nowMs - maxAgeMs);
  let deleted = 0;
  let stalls = 0;
  while (stalls < MAX_TRIM_STALLS) {
    const ids = await trimCandidates(redis, queue, cutoff, maxSize, batch);
    if (ids.length === 0) break;
    const reply = await runScript(
      redis,
      scripts.trimArchive,
      [keys.archivedKey(queue), ...ids.map((id) => keys.taskKey(queue, id))],
      [cutoff, maxSize, ...ids],
    );
    const count = Number(reply);
    deleted += count;
    stalls = count === 0 ? stalls + 1 : 0;
  }
  return deleted;
}

/** IDs archived at or before `cutoff` and the lowest-ranked IDs beyond `maxSize`, at most `batch` of each. */
async function trimCandidates(
  redis: Redis,
  queue: string,
  cutoff: number,
  maxSize: number,
  batch: number,
): Promise<string[]> {
  const key = keys.archivedKey(queue);
  const [old, size] = (await execPipeline(
    redis.pipeline().zrange(key, "-inf", cutoff, "BYSCORE", "LIMIT", 0, batch).zcard(key),
  )) as [string[], number];
  const excess = Math.min(size - maxSize, batch);
  const ranked = excess > 0 ? await redis.zrange(key, 0, excess - 1) : [];
  return [...new Set([...old, ...ranked])];
}

/** Runs a transition script replying 1 (done) or 0 (not in active). */
async function runTransition(
  redis: Redis,
  script: LuaScript,
  keyList: string[],
  args: ScriptArg[],
): Promise<ActiveOutcome> {
  return replyCode(await runScript(redis, script, keyList, args), script.name) ? "ok" : "not-active";
}

/** Reads a 1/0 script reply. @throws Error on any other reply. */
function replyCode(reply: unknown, name: string): boolean {
  if (reply === 1) return true;
  if (reply === 0) return false;
  throw new Error(`${name}: unexpected script reply ${String(reply)}`);
}

/** The fencing argument: the dequeued message, or "" for no check. */
function fenceArg(fence: Uint8Array | undefined): ScriptArg {
  return fence === undefined ? "" : toBuffer(fence);
}

/** The precondition arguments of retry and archive, shared with the recoverer: the worker's fence. */
/** The KEYS and ARGV of one script call. */
export interface ScriptCall {
  keys: string[];
  args: ScriptArg[];
}

/**
 * The call of finish/retry.lua, shared by the worker (precondition: its fence) and the recoverer
 * (precondition: its lease guard): the script is one, so are its KEYS and ARGV.
 */
export function retryCall(
  queue: string,
  id: string,
  encodedMsg: Uint8Array,
  retryAtMs: number,
  isFailure: boolean,
  nowMs: number,
  precondition: ScriptArg[],
  errorMsg: string,
): ScriptCall {
  return {
    keys: [
      keys.taskKey(queue, id),
      keys.activeKey(queue),
      keys.leaseKey(queue),
      keys.retryKey(queue),
      ...dailyKeys(queue, nowMs),
      ...totalKeys(queue),
      ...eventKeys(queue),
    ],
    args: [
      id,
      toBuffer(encodedMsg),
      unixSeconds(retryAtMs),
      statsExpireAt(nowMs),
      isFailure ? 1 : 0,
      ...precondition,
      errorMsg,
    ],
  };
}

/** The call of finish/archive.lua, shared by the worker and the recoverer (see {@link retryCall}). */
export function archiveCall(
  queue: string,
  id: string,
  encodedMsg: Uint8Array,
  uniqueKey: string,
  nowMs: number,
  precondition: ScriptArg[],
  event: ArchiveEvent,
  errorMsg: string,
  attempted: boolean,
): ScriptCall {
  return {
    keys: [
      keys.taskKey(queue, id),
      keys.activeKey(queue),
      keys.leaseKey(queue),
      keys.archivedKey(queue),
      ...dailyKeys(queue, nowMs),
      ...totalKeys(queue),
      ...eventKeys(queue),
      ...lockKeys(uniqueKey),
    ],
    args: [
      id,
      toBuffer(encodedMsg),
      unixSeconds(nowMs),
      statsExpireAt(nowMs),
      ...precondition,
      event,
      errorMsg,
      attempted ? "1" : "0",
    ],
  };
}

/** What the event stream says of an archived task. */
export type ArchiveEvent = "archived" | "expired";

function fenced(fence: Uint8Array | undefined): ScriptArg[] {
  return ["fence", fenceArg(fence)];
}

/** `[processed:<UTC day of nowMs>, processed]`. */
function processedKeys(queue: string, nowMs: number): string[] {
  return [keys.processedKey(queue, new Date(nowMs)), keys.processedTotalKey(queue)];
}

/** `[processed:<day>, failed:<day>]` for the UTC day of `nowMs`. */
function dailyKeys(queue: string, nowMs: number): string[] {
  const day = new Date(nowMs);
  return [keys.processedKey(queue, day), keys.failedKey(queue, day)];
}

/** `[processed, failed]` all-time counters. */
function totalKeys(queue: string): string[] {
  return [keys.processedTotalKey(queue), keys.failedTotalKey(queue)];
}

/** `[events:listening, events]`: the queue's event stream and its listeners' marker (lua/events.lua). */
function eventKeys(queue: string): string[] {
  return [keys.eventsListeningKey(queue), keys.eventsKey(queue)];
}

/** The lock key as an optional trailing KEYS entry: none when the task has no lock. */
function lockKeys(uniqueKey: string): string[] {
  return uniqueKey === "" ? [] : [uniqueKey];
}
