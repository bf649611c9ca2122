// Runs fetch/dequeue.lua itself (no finished tasks), for the tests of the script's claim rules.
import type { Redis } from "ioredis";
import { LuaScript, runScript } from "../../src/broker/scripts.js";
import { unixSeconds } from "../../src/internal/clock.js";
import * as keys from "../../src/wire/keys.js";

const script = LuaScript.fromFile("fetch/dequeue");

/** One run of the script: what it is given besides the queue's keys. */
export interface ClaimCall {
  queue: string;
  /** Candidate IDs, in the order to claim them. */
  candidates: readonly string[];
  /** The claim token (ARGV[5]). */
  token: string;
  /** Lease expiry and "now" (ms). */
  leaseMs: number;
  nowMs: number;
  /** The most tasks to claim; default: every candidate. */
  want?: number;
  /** How many pending IDs to list, and how deep from the tail; default 0 and 0. */
  h?: number;
  skip?: number;
  /** Ask for each claimed task's pending_since (ARGV[8]); default false. */
  since?: boolean;
  /** Replies as Buffers (binary-safe), as the worker reads them. */
  buffers?: boolean;
}

/** The reply `{ done, claimed, dangling, paused, next, length, taken }`. */
export type ClaimReply = [
  number[],
  Array<string | Buffer | null>,
  Array<string | Buffer>,
  number,
  Array<string | Buffer>,
  number,
  number,
];

/** Runs the script once on `conn` and returns its raw reply. */
export async function runClaim(conn: Redis, call: ClaimCall): Promise<ClaimReply> {
  const { queue: q, candidates } = call;
  return (await runScript(
    conn,
    script,
    [
      keys.pendingKey(q),
      keys.pausedKey(q),
      keys.activeKey(q),
      keys.leaseKey(q),
      keys.processedKey(q, new Date(call.nowMs)),
      keys.processedTotalKey(q),
      keys.eventsListeningKey(q),
      keys.eventsKey(q),
      ...candidates.map((id) => keys.taskKey(q, id)),
    ],
    [
      unixSeconds(call.leaseMs),
      unixSeconds(call.nowMs) + 90 * 86_400,
      0,
      call.h ?? 0,
      call.token,
      call.want ?? candidates.length,
      call.skip ?? 0,
      call.since === true ? "1" : "0",
      ...candidates,
    ],
    call.buffers ?? false,
  )) as ClaimReply;
}

/** The IDs a reply says were claimed (the even elements of `claimed`), as strings. */
export function claimedIds(reply: ClaimReply): string[] {
  return reply[1].filter((_, i) => i % 2 === 0).map((id) => String(id));
}
