// Worker-side dequeue (spec §4.10): peek at the oldest pending IDs, then claim them with a script that re-verifies each.
import type { Redis } from "ioredis";
import { unixSeconds } from "../internal/clock.js";
import * as keys from "../wire/keys.js";
import { LuaScript, runScript } from "./scripts.js";

const dequeueScript = LuaScript.fromFile("dequeue");

/** How many peek-and-claim rounds in a row may claim nothing (other workers took the tail first). */
const MAX_ROUNDS = 3;

/** One task moved from pending to active. */
export interface DequeuedTask {
  id: string;
  /** The encoded TaskMessage; null when the hash exists but has no `msg` field (a corrupt task). */
  msg: Buffer | null;
}

/** What a dequeue did. */
export interface DequeueResult {
  /** Claimed tasks, oldest first; now in active, with a lease. */
  tasks: DequeuedTask[];
  /** True when the queue is paused; then nothing was moved. */
  paused: boolean;
  /** IDs that were in pending with no task hash; removed from pending (no hash was created). */
  dangling: string[];
}

/** One round's outcome: the script's reply, or that the queue is paused. */
type RoundResult = { paused: true } | { paused: false; tasks: DequeuedTask[]; dangling: string[] };

/**
 * Moves up to `max` of the oldest pending tasks of `queue` to active (FIFO), each with a lease
 * until `leaseExpiresAtMs` (stored as whole unix seconds). A paused queue moves nothing. Safe under
 * concurrent dequeues: a task is claimed only while it is still the tail of pending, and a round
 * that lost every candidate to another worker is retried (at most 3 rounds).
 *
 * With a `hint` (the IDs a previous peek saw behind the ones it claimed, oldest first), the claim
 * script is tried on them directly, saving the peek round trip: a worker that is alone on a queue
 * claims with one round trip. A wrong guess (another worker was faster) costs one script call that
 * claims nothing, and falls back to peeking. The hint is refilled by each peek. (A claim that gets
 * fewer than `max` tasks must mean the queue ran dry, so a hint shorter than `max` is not used.)
 *
 * @param max the most tasks to claim, an integer >= 1.
 * @throws RangeError when `max` is not an integer >= 1.
 */
export async function dequeue(
  redis: Redis,
  queue: string,
  max: number,
  leaseExpiresAtMs: number,
  hint?: DequeueHint,
): Promise<DequeueResult> {
  if (!Number.isInteger(max) || max < 1)
    throw new RangeError(`dequeue: max must be an integer >= 1, got ${max}`);
  const tasks: DequeuedTask[] = [];
  const dangling: string[] = [];
  // Only a hint that covers the whole request is tried; then peeks take what is still missing, so
  // that fewer than `max` tasks means the queue ran dry (not that another worker was faster).
  if (hint !== undefined && hint.ids.length >= max) {
    const candidates = hint.ids.splice(0, max);
    const result = await claim(redis, queue, candidates, leaseExpiresAtMs);
    if (result.paused) return { tasks: [], paused: true, dangling };
    if (result.tasks.length + result.dangling.length < candidates.length) hint.ids.length = 0; // stale guess
    tasks.push(...result.tasks);
    dangling.push(...result.dangling);
  }
  for (let fruitless = 0; tasks.length < max && fruitless < MAX_ROUNDS;) {
    const result = await dequeueRound(redis, queue, max - tasks.length, leaseExpiresAtMs, hint);
    if (result === "empty") break;
    if (result.paused) return { tasks, paused: tasks.length === 0, dangling };
    tasks.push(...result.tasks);
    dangling.push(...result.dangling);
    if (result.tasks.length === 0 && result.dangling.length === 0) fruitless++;
  }
  return { tasks, paused: false, dangling };
}

/** IDs expected next at the tail of a queue's pending list, oldest first; owned by one caller. */
export interface DequeueHint {
  ids: string[];
}

/** How far beyond the wanted tasks a peek looks, to refill the hint. */
const LOOKAHEAD = 32;

/** Peeks at the queue and, unless it is paused or empty, runs the claim script once. */
async function dequeueRound(
  redis: Redis,
  queue: string,
  max: number,
  leaseExpiresAtMs: number,
  hint: DequeueHint | undefined,
): Promise<RoundResult | "empty"> {
  const seen = await peekPending(
    redis,
    queue,
    hint === undefined ? max : Math.min(max * 2 + LOOKAHEAD, 1000),
  );
  if (seen === "paused") return { paused: true };
  if (seen.length === 0) return "empty";
  const peek = seen.slice(0, max);
  const result = await claim(redis, queue, peek, leaseExpiresAtMs);
  if (hint !== undefined) {
    const settled = !result.paused ? result.tasks.length + result.dangling.length : 0;
    hint.ids = settled === peek.length ? seen.slice(max) : [];
  }
  return result;
}

/** Runs the claim script on candidates (oldest first). */
async function claim(
  redis: Redis,
  queue: string,
  peek: readonly string[],
  leaseExpiresAtMs: number,
): Promise<RoundResult> {
  const reply = await runScript(
    redis,
    dequeueScript,
    [
      keys.pendingKey(queue),
      keys.pausedKey(queue),
      keys.activeKey(queue),
      keys.leaseKey(queue),
      ...peek.map((id) => keys.taskKey(queue, id)),
    ],
    [unixSeconds(leaseExpiresAtMs), ...peek],
    true,
  );
  return parseReply(reply);
}

/** The candidate IDs in dequeue order (oldest first), or "paused". */
async function peekPending(redis: Redis, queue: string, max: number): Promise<string[] | "paused"> {
  const replies = await redis
    .pipeline()
    .exists(keys.pausedKey(queue))
    .lrange(keys.pendingKey(queue), -max, -1)
    .exec();
  if (replies === null) throw new Error("dequeue: the peek pipeline was aborted");
  const [[pausedError, paused], [rangeError, range]] = replies as [
    [Error | null, number],
    [Error | null, string[]],
  ];
  if (pausedError !== null) throw pausedError;
  if (rangeError !== null) throw rangeError;
  if (paused === 1) return "paused";
  return range.reverse();
}

/** Reads the script reply: 0 when paused, else `{ {id, msg, ...}, {dangling ids} }` (bulk strings as Buffers). */
function parseReply(reply: unknown): RoundResult {
  if (reply === 0) return { paused: true };
  if (!Array.isArray(reply) || reply.length !== 2)
    throw new Error(`dequeue: unexpected script reply ${String(reply)}`);
  const [claimed, dangling] = reply as [Array<Buffer | null>, Buffer[]];
  const tasks: DequeuedTask[] = [];
  for (let i = 0; i + 1 < claimed.length; i += 2) {
    tasks.push({ id: claimed[i]!.toString("utf8"), msg: claimed[i + 1] ?? null });
  }
  return { paused: false, tasks, dangling: dangling.map((id) => id.toString("utf8")) };
}
