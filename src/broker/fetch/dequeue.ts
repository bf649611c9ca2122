// Worker-side dequeue (wire-format §4.10), combined with the success writes of finished tasks (§4.11): one
// script call per batch writes what the worker finished and claims what it takes next.
import * as crypto from "node:crypto";
import type { Redis } from "ioredis";
import { unixSeconds } from "../../internal/clock.js";
import * as keys from "../../wire/keys.js";
import { LuaScript, runScript, type ScriptArg } from "../scripts.js";
import { sha1Hex, statsExpireAt } from "../redis-values.js";

const dequeueScript = LuaScript.fromFile("fetch/dequeue");

/** How many calls in a row may claim nothing (other workers took every candidate first). */
const MAX_ROUNDS = 3;

/**
 * With other workers on the queue, how deep from the tail a reply's stretch may start, per task
 * claimed between two of our calls (by us and by the others). The deeper the spread, the rarer two
 * workers name the same IDs, and the further tasks may run out of their order.
 */
const SPREAD = 8;

/** The most IDs a reply lists as next in line. */
const MAX_NEXT = 1000;

/**
 * How often a call whose reply was lost is replayed, and the waits between replays (ms). The waits
 * only pace a connection that fails at once; one that is reconnecting holds each replay until it is
 * back (or its command timeout). Past the last replay, the claimed tasks' leases run out and the
 * recoverer retries them, as for a crashed worker.
 */
const REPLAY_WAITS_MS = [0, 50, 100, 200, 400, 800, 1000, 1000];

/**
 * Claim tokens: unique among every call of every worker (48 random bits per process, then a
 * counter), and the same when one call is replayed.
 */
const TOKEN_PREFIX = crypto.randomBytes(6).toString("base64url");
let tokenSeq = 0;

/** One task moved from pending to active. */
interface DequeuedTask {
  queue: string;
  id: string;
  /** The encoded TaskMessage; null when the hash exists but has no `msg` field (a corrupt task). */
  msg: Buffer | null;
  /** When the lease written by the dequeue runs out (ms; whole seconds, as stored in Redis). */
  leaseExpiresAt: number;
  /**
   * When it became pending (ms since the epoch, from the hash's `pending_since`), when the call asked
   * for it and the task had one.
   */
  pendingSince?: number;
}

/** A task whose handler succeeded (retention 0): deleted and counted by the next call. */
export interface FinishedTask {
  id: string;
  /** The task's lock key (msg.uniqueKey), "" when it has none. */
  uniqueKey: string;
  /**
   * The encoded TaskMessage as dequeued: nothing is written unless the stored message is still that
   * one (compared by SHA-1).
   */
  fence?: Uint8Array;
}

/** What a dequeue did. */
interface DequeueResult {
  /** Claimed tasks, oldest first; now in active, with a lease. */
  tasks: DequeuedTask[];
  /** True when the queue is paused; then nothing was moved. */
  paused: boolean;
  /** IDs that were in pending with no task hash; removed from pending (no hash was created). */
  dangling: string[];
  /**
   * Per finished task, in order: true when it was written (deleted and counted), false when nothing
   * was written (not in active, or its message changed since it was dequeued). Empty when none were given.
   */
  finished: boolean[];
}

/**
 * What a worker knows of a queue's pending list between calls: the IDs the last reply listed (oldest
 * first), the IDs its calls in flight are claiming, and how busy the queue is with other workers.
 * Owned by one connection, whose replies arrive in the order Redis ran the calls.
 */
export interface DequeueHint {
  ids: string[];
  /** The last reply listed the whole pending list (fewer IDs than it asked for). */
  complete: boolean;
  /** Candidates of calls in flight; a newer reply may list them still, they are not offered twice. */
  claiming: Set<string>;
  /**
   * How many pending IDs other workers took between two of our calls, lately (0: none seen, the
   * worker is alone and claims the oldest first). Halved by every call that sees none taken.
   */
  others: number;
  /** The length of pending after the last reply's call; -1 before the first. */
  length: number;
}

/** A hint with nothing known yet. */
export function newHint(): DequeueHint {
  return { ids: [], complete: false, claiming: new Set(), others: 0, length: -1 };
}

/**
 * Writes the success of `finished` tasks (as lifecycle `done`, wire-format §4.11), then moves up to `max` of
 * the oldest pending tasks of `queue` to active (FIFO), each with a lease until `leaseExpiresAtMs`
 * (stored as whole unix seconds). A paused queue moves nothing (finished tasks are still written).
 *
 * A script may only touch keys named in KEYS, so the candidates come from the `hint`: the IDs an
 * earlier reply listed. The script claims each candidate it still finds in pending (only the call
 * that removes an ID from pending claims it, so concurrent workers never take the same task) and
 * skips those another worker took. A worker alone on a queue names the oldest IDs (FIFO) and thus
 * claims, and writes what it finished, in one round trip per batch. A worker that sees others take
 * IDs (the list shrank by more than it claimed, or its candidates were taken) asks each reply for
 * a stretch at a random depth from the tail (up to SPREAD times what all take between two of its
 * calls) and names more candidates than it wants, so that workers rarely name the same IDs and a
 * collision rarely leaves a call short; the tasks still run roughly in order. A call whose
 * candidates were all taken brings a fresh list (at most 3 such calls in a row). Fewer than `max`
 * tasks means the queue ran dry.
 *
 * @param max the most tasks to claim, an integer >= 0 (0: only write the finished tasks).
 * @param hint the caller's hint for this queue and connection; without one, a call first looks at the tail.
 * @param nowMs the time of the success writes (names the daily counter).
 * @param withPendingSince also read when each claimed task became pending (for wait-time metrics;
 *   off, the script reads and returns nothing more).
 * @throws Error when `max` is not an integer >= 0, or is 0 with no finished tasks: a bug in the
 *   caller (the processor asks for its free slots, at least 1).
 */
export async function dequeue(
  redis: Redis,
  queue: string,
  max: number,
  leaseExpiresAtMs: number,
  hint?: DequeueHint,
  finished: readonly FinishedTask[] = [],
  nowMs: number = Date.now(),
  withPendingSince = false,
): Promise<DequeueResult> {
  if (!Number.isInteger(max) || max < 0 || (max === 0 && finished.length === 0))
    throw new Error(`dequeue: max must be an integer >= 1, got ${max} (a bug in the caller)`);
  const known = hint ?? newHint();
  const result: DequeueResult = { tasks: [], paused: false, dangling: [], finished: [] };
  let toFinish = finished;
  let fresh = false; // a reply of this call listed the IDs
  for (let fruitless = 0; fruitless < MAX_ROUNDS;) {
    const want = max - result.tasks.length;
    const shared = known.others >= 1;
    // Candidates beyond those wanted, when other workers may take some first.
    const extra = shared ? Math.ceil(want / 2) + 1 : 0;
    const candidates = want > 0 ? takeCandidates(known, want + extra, want, fresh) : [];
    if (candidates.length === 0 && toFinish.length === 0 && (want <= 0 || fresh)) break;
    // With a persistent hint, list enough IDs to serve the next calls too (two lanes share a
    // connection). A call that only writes finished tasks lists nothing.
    const lookahead =
      max === 0
        ? 0
        : hint === undefined
          ? max
          : Math.min(2 * (max + (shared ? Math.ceil(max / 2) + 1 : 0)) + 2, MAX_NEXT);
    const skip = shared ? Math.floor(Math.random() * SPREAD * (known.others + max)) : 0;
    let reply: Reply;
    try {
      const args = {
        queue,
        finished: toFinish,
        candidates,
        want,
        leaseExpiresAtMs,
        nowMs,
        lookahead,
        skip,
        withPendingSince,
      };
      reply = await callWithReplay(redis, args);
    } finally {
      for (const id of candidates) known.claiming.delete(id);
    }
    if (toFinish.length > 0) {
      result.finished = reply.done;
      toFinish = [];
    }
    noteOthers(known, reply);
    fresh = true;
    if (reply.paused) {
      // Tasks an earlier run of a replayed call claimed are still ours, paused queue or not.
      result.tasks.push(...reply.claimed);
      known.ids = [];
      known.complete = false;
      result.paused = result.tasks.length === 0;
      return result;
    }
    if (lookahead === 0) break;
    result.tasks.push(...reply.claimed);
    result.dangling.push(...reply.dangling);
    known.ids = known.claiming.size === 0 ? reply.next : reply.next.filter((id) => !known.claiming.has(id));
    known.complete = reply.next.length < lookahead;
    if (candidates.length > 0 && reply.claimed.length + reply.dangling.length === 0) fruitless++;
    if (known.ids.length === 0) break; // the queue is dry (or the rest is being claimed by our other calls)
  }
  return result;
}

/**
 * Takes up to `count` candidates off the hint (oldest first), when it can be trusted: it covers the
 * `want`ed tasks, or it listed the whole queue, or it is this call's own fresh reply.
 */
function takeCandidates(hint: DequeueHint, count: number, want: number, fresh: boolean): string[] {
  if (hint.ids.length === 0 || !(hint.ids.length >= want || hint.complete || fresh)) return [];
  const candidates = hint.ids.splice(0, count);
  for (const id of candidates) hint.claiming.add(id);
  return candidates;
}

/**
 * Updates the hint's estimate of what other workers take between two of our calls: pending shrank
 * by more than this call claimed (new tasks make the figure smaller, never larger), or the call
 * found candidates taken. Both are zero for a worker alone on a queue nobody else drains.
 */
function noteOthers(hint: DequeueHint, reply: Reply): void {
  const shrank =
    hint.length < 0 ? 0 : hint.length - reply.length - reply.claimed.length - reply.dangling.length;
  hint.length = reply.length;
  const seen = Math.max(shrank, reply.taken);
  hint.others = seen > 0 ? Math.max(seen, hint.others / 2) : hint.others >= 1 ? hint.others / 2 : 0;
}

interface Reply {
  done: boolean[];
  claimed: DequeuedTask[];
  dangling: string[];
  paused: boolean;
  /** IDs listed for the next calls, oldest first. */
  next: string[];
  /** The length of pending after the call. */
  length: number;
  /** Candidates the call found taken by another worker. */
  taken: number;
}

/** The arguments of one script call. */
interface CallArgs {
  queue: string;
  finished: readonly FinishedTask[];
  candidates: readonly string[];
  /** The most tasks to claim. */
  want: number;
  leaseExpiresAtMs: number;
  nowMs: number;
  /** How many pending IDs to list for the next calls. */
  lookahead: number;
  /** How deep from the tail the listed stretch starts. */
  skip: number;
  /** Return each claimed task's pending_since. */
  withPendingSince: boolean;
}

/**
 * Runs the script; when its reply is lost (the connection broke or the command timed out; not an
 * error Redis answered), runs the very same call again, with the same claim token. The script
 * recognises the tasks an earlier run claimed by that token and returns them again, so a lost reply
 * costs a round trip instead of orphaning the claimed tasks until their lease runs out; the finished
 * tasks' writes are fenced, so none applies twice (a replay reports those that already applied as
 * not written).
 */
async function callWithReplay(redis: Redis, args: CallArgs): Promise<Reply> {
  const token = `${TOKEN_PREFIX}${(tokenSeq++).toString(36)}`;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call(redis, args, token);
    } catch (error) {
      const wait = REPLAY_WAITS_MS[attempt];
      if (wait === undefined || !replyMayBeLost(error)) throw error;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/** False for an error Redis answered (the script failed): replaying it would fail the same way. */
function replyMayBeLost(error: unknown): boolean {
  return !(error instanceof Error && error.name === "ReplyError");
}

/** Runs the script once. */
async function call(redis: Redis, args: CallArgs, token: string): Promise<Reply> {
  const { queue, finished, candidates, want, leaseExpiresAtMs, nowMs, lookahead, skip, withPendingSince } =
    args;
  const keyList = [
    keys.pendingKey(queue),
    keys.pausedKey(queue),
    keys.activeKey(queue),
    keys.leaseKey(queue),
    keys.processedKey(queue, new Date(nowMs)),
    keys.processedTotalKey(queue),
    keys.eventsListeningKey(queue),
    keys.eventsKey(queue),
  ];
  const argv: ScriptArg[] = [
    unixSeconds(leaseExpiresAtMs),
    statsExpireAt(nowMs),
    finished.length,
    lookahead,
    token,
    want,
    skip,
    withPendingSince ? "1" : "0",
  ];
  for (const task of finished) {
    keyList.push(keys.taskKey(queue, task.id));
    if (task.uniqueKey !== "") keyList.push(task.uniqueKey);
    argv.push(
      task.id,
      task.fence === undefined ? "" : sha1Hex(task.fence),
      task.uniqueKey !== "" ? "1" : "0",
    );
  }
  for (const id of candidates) {
    keyList.push(keys.taskKey(queue, id));
    argv.push(id);
  }
  // Redis keeps the lease in whole seconds (truncated): our view of it must not outlive it.
  const lease = { queue, leaseExpiresAt: unixSeconds(leaseExpiresAtMs) * 1000 };
  const reply = await runScript(redis, dequeueScript, keyList, argv, true);
  return parseReply(reply, finished.length, lease, withPendingSince);
}

/** Reads the script reply `{ done, claimed, dangling, paused, next, length, taken }` (bulk strings as Buffers). */
function parseReply(
  reply: unknown,
  finishedCount: number,
  lease: { queue: string; leaseExpiresAt: number },
  withPendingSince: boolean,
): Reply {
  if (!Array.isArray(reply) || reply.length !== 7)
    throw new Error(`dequeue: unexpected script reply ${String(reply)}`);
  const [done, claimed, dangling, paused, next, length, taken] = reply as [
    number[],
    Array<Buffer | null>,
    Buffer[],
    number,
    Buffer[],
    number,
    number,
  ];
  if (done.length !== finishedCount)
    throw new Error(`dequeue: ${done.length} results for ${finishedCount} finished tasks`);
  const tasks: DequeuedTask[] = [];
  if (withPendingSince) {
    for (let i = 0; i + 2 < claimed.length; i += 3) {
      const task: DequeuedTask = {
        queue: lease.queue,
        id: claimed[i]!.toString("utf8"),
        msg: claimed[i + 1] ?? null,
        leaseExpiresAt: lease.leaseExpiresAt,
      };
      // Unix nanoseconds, as decimal text: whole milliseconds, exactly.
      const since = claimed[i + 2]?.toString("latin1") ?? "";
      const ms = since.length > 6 ? Number(since.slice(0, -6)) : NaN;
      if (ms > 0) task.pendingSince = ms;
      tasks.push(task);
    }
  } else {
    for (let i = 0; i + 1 < claimed.length; i += 2) {
      tasks.push({
        queue: lease.queue,
        id: claimed[i]!.toString("utf8"),
        msg: claimed[i + 1] ?? null,
        leaseExpiresAt: lease.leaseExpiresAt,
      });
    }
  }
  const nextIds: string[] = new Array<string>(next.length);
  for (let i = 0; i < next.length; i++) nextIds[next.length - 1 - i] = next[i]!.toString("utf8");
  const finishedOk: boolean[] = new Array<boolean>(done.length);
  for (let i = 0; i < done.length; i++) finishedOk[i] = done[i] === 1;
  return {
    done: finishedOk,
    claimed: tasks,
    dangling: dangling.length === 0 ? [] : dangling.map((id) => id.toString("utf8")),
    paused: paused === 1,
    next: nextIds,
    length,
    taken,
  };
}
