// Forwarder I/O (wire-format §4.16): finds due scheduled and retry tasks in one round trip, then moves them to pending or their group.
import type { Redis } from "ioredis";
import { unixNanos, unixSeconds } from "../../internal/clock.js";
import { toError } from "../../internal/errors.js";
import * as keys from "../../wire/keys.js";
import { LuaScript, runScript } from "../scripts.js";

const forwardScript = LuaScript.fromFile("upkeep/forward");

/** How many candidates one script call re-verifies and moves (asynq's batch, wire-format §5.1). */
const FORWARD_BATCH = 100;

/** How many rounds in a row may move nothing (candidates changed under us) before a source is left for the next run. */
const MAX_STALLS = 3;

/** The zsets the forwarder drains, in the order it drains them (as asynq: scheduled, then retry). */
type ForwardSource = "scheduled" | "retry";
const SOURCES: readonly ForwardSource[] = ["scheduled", "retry"];

/** What one {@link forwardDue} call did. */
export interface ForwardResult {
  /** Tasks moved to pending or back into their group. */
  moved: number;
  /** IDs found in scheduled or retry with no task hash; removed from there (no hash is created). */
  dangling: Array<{ queue: string; id: string }>;
  /** Queues whose check or move failed, with the error; the other queues were forwarded. */
  failed: Array<{ queue: string; error: Error }>;
}

/** One source zset with its first due candidates (oldest first). */
interface DueSource {
  queue: string;
  source: ForwardSource;
  ids: string[];
}

/**
 * Forwards every task of `queues` that is due at `nowMs` (score <= now in whole unix seconds): from
 * `scheduled` then `retry`, oldest first, to pending (`state` pending, `pending_since` = now in ns),
 * or, when its hash has a non-empty `group` field, into `g:<group>` (`state` aggregating, score now)
 * with the group added to `groups`. Checking costs one pipelined round trip over every queue; only
 * sources with due tasks are forwarded, in batches of {@link FORWARD_BATCH} until none is due.
 *
 * @returns what was moved and dropped; a queue whose Redis calls failed is listed in `failed`.
 * @throws Error when the check pipeline itself fails (e.g. no connection).
 */
export async function forwardDue(
  redis: Redis,
  queues: readonly string[],
  nowMs: number,
  batch = FORWARD_BATCH,
): Promise<ForwardResult> {
  const result: ForwardResult = { moved: 0, dangling: [], failed: [] };
  const due = await dueSources(redis, queues, nowMs, batch, result);
  for (const source of due) {
    if (result.failed.some((f) => f.queue === source.queue)) continue;
    try {
      await drainSource(redis, source, nowMs, batch, result);
    } catch (error) {
      result.failed.push({ queue: source.queue, error: toError(error) });
    }
  }
  return result;
}

/** Reads the first `batch` due IDs of every queue's scheduled and retry zsets in one pipeline. */
async function dueSources(
  redis: Redis,
  queues: readonly string[],
  nowMs: number,
  batch: number,
  result: ForwardResult,
): Promise<DueSource[]> {
  if (queues.length === 0) return [];
  const pipeline = redis.pipeline();
  const sources = queues.flatMap((queue) => SOURCES.map((source) => ({ queue, source })));
  for (const { queue, source } of sources) {
    pipeline.zrangebyscore(keys.stateKey(queue, source), "-inf", unixSeconds(nowMs), "LIMIT", 0, batch);
  }
  const replies = await pipeline.exec();
  if (replies === null) throw new Error("forward: the check pipeline was aborted");
  const due: DueSource[] = [];
  replies.forEach(([error, ids], i) => {
    const { queue, source } = sources[i]!;
    if (error !== null) {
      if (!result.failed.some((f) => f.queue === queue)) result.failed.push({ queue, error });
    } else if ((ids as string[]).length > 0) {
      due.push({ queue, source, ids: ids as string[] });
    }
  });
  return due;
}

/** Forwards batches of one source until a batch shows that nothing more is due. */
async function drainSource(
  redis: Redis,
  first: DueSource,
  nowMs: number,
  batch: number,
  result: ForwardResult,
): Promise<void> {
  const { queue, source } = first;
  let ids = first.ids;
  let stalls = 0;
  while (ids.length > 0 && stalls < MAX_STALLS) {
    const round = await forwardBatch(redis, queue, source, ids, nowMs);
    result.moved += round.moved;
    result.dangling.push(...round.dangling.map((id) => ({ queue, id })));
    const handled = round.moved + round.dangling.length;
    stalls = handled === 0 ? stalls + 1 : 0;
    // A short batch fully handled was everything due: no need to ask again.
    if (handled === ids.length && ids.length < batch) break;
    ids = await redis.zrangebyscore(
      keys.stateKey(queue, source),
      "-inf",
      unixSeconds(nowMs),
      "LIMIT",
      0,
      batch,
    );
  }
}

/** Reads the candidates' `group` fields, then runs the forward script on them once. */
async function forwardBatch(
  redis: Redis,
  queue: string,
  source: ForwardSource,
  ids: readonly string[],
  nowMs: number,
): Promise<{ moved: number; dangling: string[] }> {
  const groups = await readGroups(redis, queue, ids);
  const keyList = [keys.stateKey(queue, source), keys.pendingKey(queue), keys.allGroupsKey(queue)];
  const args: string[] = [String(unixSeconds(nowMs)), unixNanos(nowMs)];
  ids.forEach((id, i) => {
    const group = groups[i]!;
    keyList.push(keys.taskKey(queue, id));
    if (group !== "") keyList.push(keys.groupKey(queue, group));
    args.push(id, group);
  });
  return parseReply(await runScript(redis, forwardScript, keyList, args));
}

/** The `group` field of each task ("" when the field or the hash is missing), in one pipeline. */
async function readGroups(redis: Redis, queue: string, ids: readonly string[]): Promise<string[]> {
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hget(keys.taskKey(queue, id), "group");
  const replies = await pipeline.exec();
  if (replies === null) throw new Error("forward: the group pipeline was aborted");
  return replies.map(([error, group]) => {
    if (error !== null) throw error;
    return (group as string | null) ?? "";
  });
}

/** Reads the script reply `{ moved, { dangling ids } }`. */
function parseReply(reply: unknown): { moved: number; dangling: string[] } {
  if (!Array.isArray(reply) || reply.length !== 2 || typeof reply[0] !== "number" || !Array.isArray(reply[1]))
    throw new Error(`forward: unexpected script reply ${JSON.stringify(reply)}`);
  return { moved: reply[0], dangling: (reply[1] as unknown[]).map(String) };
}
