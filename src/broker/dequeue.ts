// Worker-side dequeue (spec §4.10): peek at the oldest pending IDs, then claim them with a script that re-verifies each.
import type { Redis } from "ioredis";
import { unixSeconds } from "../internal/clock.js";
import * as keys from "../wire/keys.js";
import { LuaScript, runScript } from "./scripts.js";

const dequeueScript = LuaScript.fromFile("dequeue");

/** How many peek-and-claim rounds a dequeue makes when other workers keep taking the tail first. */
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
 * @param max the most tasks to claim, an integer >= 1.
 * @throws RangeError when `max` is not an integer >= 1.
 */
export async function dequeue(
  redis: Redis,
  queue: string,
  max: number,
  leaseExpiresAtMs: number,
): Promise<DequeueResult> {
  if (!Number.isInteger(max) || max < 1)
    throw new RangeError(`dequeue: max must be an integer >= 1, got ${max}`);
  const dangling: string[] = [];
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const result = await dequeueRound(redis, queue, max, leaseExpiresAtMs);
    if (result === "empty") break;
    if (result.paused) return { tasks: [], paused: true, dangling };
    dangling.push(...result.dangling);
    if (result.tasks.length > 0) return { tasks: result.tasks, paused: false, dangling };
  }
  return { tasks: [], paused: false, dangling };
}

/** Peeks at the queue and, unless it is paused or empty, runs the claim script once. */
async function dequeueRound(
  redis: Redis,
  queue: string,
  max: number,
  leaseExpiresAtMs: number,
): Promise<RoundResult | "empty"> {
  const peek = await peekPending(redis, queue, max);
  if (peek === "paused") return { paused: true };
  if (peek.length === 0) return "empty";
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
