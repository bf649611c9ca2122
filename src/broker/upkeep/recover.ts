// Recoverer-side Redis I/O (wire-format §4.18, §5.8): find orphaned active tasks; retry, archive or set them aside.
import { execPipeline } from "../redis-values.js";
import type { Redis } from "ioredis";
import { unixSeconds } from "../../internal/clock.js";
import * as keys from "../../wire/keys.js";
import { archiveCall, retryCall } from "../finish/lifecycle.js";
import type { RecoverArchiveRequest, RecoverRetryRequest } from "../ports.js";
import { encodeTaskMessage } from "../../wire/proto.js";
import { LuaScript, runScript, type ScriptArg } from "../scripts.js";

// The worker's own retry, archive and quarantine scripts, called with the recoverer's lease guard as
// their precondition (guardArgs) where the worker passes its fence.
const scripts = {
  retry: LuaScript.fromFile("finish/retry"),
  archive: LuaScript.fromFile("finish/archive"),
  quarantine: LuaScript.fromFile("finish/quarantine"),
  listUnleased: LuaScript.fromFile("upkeep/recover_list_unleased"),
};

/**
 * The lease the recoverer saw, which each write re-verifies atomically: `expired`, a lease that ran
 * out at or before `cutoffMs` (stored in whole seconds); `unleased`, no lease at all.
 */
export type LeaseGuard = { kind: "expired"; cutoffMs: number } | { kind: "unleased" };

/** An active task seen by a listing. */
export interface OrphanCandidate {
  id: string;
  /** The encoded TaskMessage; null when the hash has no `msg` field or does not exist. */
  msg: Buffer | null;
}

/** Outcome of a recovery write: `skipped` when the guard no longer held or the task left active. */
export type RecoverWrite = "ok" | "skipped";

/** Outcome of {@link recoverQuarantine}: archived as it is, dangling ID removed, or skipped. */
export type QuarantineWrite = "archived" | "removed" | "skipped";

/**
 * Lists up to `limit` tasks of `queue` whose lease ran out at or before `cutoffMs` (whole seconds,
 * as asynq's ListLeaseExpired), oldest lease first, skipping the first `offset`, with their `msg`
 * (read in one pipeline). Read-only.
 */
export async function listLeaseExpired(
  redis: Redis,
  queue: string,
  cutoffMs: number,
  offset: number,
  limit: number,
): Promise<OrphanCandidate[]> {
  const ids = await redis.zrangebyscore(
    keys.leaseKey(queue),
    "-inf",
    unixSeconds(cutoffMs),
    "LIMIT",
    offset,
    limit,
  );
  const msgs = await readMessages(redis, queue, ids);
  return ids.map((id, i) => ({ id, msg: msgs[i] ?? null }));
}

/**
 * Lists the IDs in the active list of `queue` that have no lease score (asynq#1144: asynq's
 * recoverer never sees them), in chunks of `chunk` IDs. Each chunk and its lease scores are read
 * atomically (one script call), so a task that finishes meanwhile is never listed: every ID listed
 * was in active without a lease at that instant. Read-only. The list may change between chunks, so
 * an ID may be missed (found on a later call); none is listed twice.
 */
export async function listUnleased(redis: Redis, queue: string, chunk = 1000): Promise<string[]> {
  const unleased = new Set<string>();
  const scriptKeys = [keys.activeKey(queue), keys.leaseKey(queue)];
  for (let start = 0; ; start += chunk) {
    const reply = await runScript(redis, scripts.listUnleased, scriptKeys, [start, chunk]);
    if (!Array.isArray(reply) || typeof reply[0] !== "number")
      throw new Error(`${scripts.listUnleased.name}: unexpected script reply ${String(reply)}`);
    for (const id of reply.slice(1) as string[]) unleased.add(id);
    if (reply[0] < chunk) break;
  }
  return [...unleased];
}

/** The `msg` of each task hash (null when absent), in one pipeline. */
export async function readMessages(
  redis: Redis,
  queue: string,
  ids: readonly string[],
): Promise<Array<Buffer | null>> {
  if (ids.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hgetBuffer(keys.taskKey(queue, id), "msg");
  return (await execPipeline(pipeline)) as Array<Buffer | null>;
}

/**
 * Retries an orphaned active task as asynq's Retry does (wire-format §4.14): to the retry zset at
 * `retryAtMs` (whole seconds) with `msg` and state rewritten, counted as processed and failed when
 * `counted`; the lock is kept; the event stream gets `msg.errorMsg`. Only while `guard` still holds and
 * the task is in active with its hash.
 */
export async function recoverRetry(redis: Redis, req: RecoverRetryRequest): Promise<RecoverWrite> {
  const { queue, id, msg, retryAtMs, counted, nowMs, guard } = req;
  const call = retryCall(
    queue,
    id,
    encodeTaskMessage(msg),
    retryAtMs,
    counted,
    nowMs,
    guardArgs(guard),
    msg.errorMsg,
  );
  const reply = await runScript(redis, scripts.retry, call.keys, call.args);
  return replyCode(reply, scripts.retry.name, [0, 1]) === 1 ? "ok" : "skipped";
}

/**
 * Archives an orphaned active task as asynq's Archive does (wire-format §4.15, without trimming): to the
 * archived zset at now with `msg` and state rewritten, counted as processed and failed; the lock
 * (`msg.uniqueKey`) is released if still owned (docs/compatibility.md P7). The event stream says
 * `expired` when `req.expired` (the deadline ends the task), else `archived`, with `msg.errorMsg`.
 * Only while `guard` still holds and the task is in active with its hash.
 */
export async function recoverArchive(redis: Redis, req: RecoverArchiveRequest): Promise<RecoverWrite> {
  const { queue, id, msg, nowMs, guard } = req;
  const event = req.expired === true ? "expired" : "archived";
  // A lost lease is a failed attempt.
  const call = archiveCall(
    queue,
    id,
    encodeTaskMessage(msg),
    msg.uniqueKey,
    nowMs,
    guardArgs(guard),
    event,
    msg.errorMsg,
    true,
  );
  const reply = await runScript(redis, scripts.archive, call.keys, call.args);
  return replyCode(reply, scripts.archive.name, [0, 1]) === 1 ? "ok" : "skipped";
}

/**
 * Sets aside an orphaned task whose msg is missing or undecodable, while `guard` still holds: a
 * task with a hash is archived as it is (no counters, msg untouched); an ID without a hash is
 * removed from active and lease.
 */
export async function recoverQuarantine(
  redis: Redis,
  queue: string,
  id: string,
  nowMs: number,
  guard: LeaseGuard,
): Promise<QuarantineWrite> {
  const reply = await runScript(
    redis,
    scripts.quarantine,
    [keys.activeKey(queue), keys.leaseKey(queue), keys.archivedKey(queue), keys.taskKey(queue, id)],
    [id, unixSeconds(nowMs), ...guardArgs(guard)],
  );
  const code = replyCode(reply, scripts.quarantine.name, [0, 1, 2]);
  return code === 1 ? "archived" : code === 2 ? "removed" : "skipped";
}

/** The guard as the scripts' precondition arguments: the lease mode and the cutoff in unix seconds. */
function guardArgs(guard: LeaseGuard): ScriptArg[] {
  return guard.kind === "expired" ? ["expired", unixSeconds(guard.cutoffMs)] : ["unleased", 0];
}

/** Reads an integer script reply. @throws Error on any reply not in `allowed`. */
function replyCode(reply: unknown, name: string, allowed: readonly number[]): number {
  if (typeof reply === "number" && allowed.includes(reply)) return reply;
  throw new Error(`${name}: unexpected script reply ${String(reply)}`);
}
