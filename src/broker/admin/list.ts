// Inspector listing I/O (wire-format §4.28.4): pages of task records by position, and cursor pages for iterating a whole state.
import { execPipeline as exec } from "../redis-values.js";
import type { Redis } from "ioredis";
import * as keys from "../../wire/keys.js";
import { LuaScript, runScript } from "../scripts.js";

const scripts = {
  seekList: LuaScript.fromFile("admin/seek_list"),
  seekZset: LuaScript.fromFile("admin/seek_zset"),
};

/** A state that can be listed, with its group for aggregating tasks. */
export type TaskSource =
  | { state: "pending" | "active" | "scheduled" | "retry" | "archived" | "completed" }
  | { state: "aggregating"; group: string };

/** One listed task hash as stored, before decoding. */
export interface ListedRecord {
  id: string;
  /** The `msg` field, or null when absent (null with `state` null: the hash is gone). */
  msg: Buffer | null;
  /** The `state` field, or null when absent. */
  state: string | null;
  /** The `result` field, or null when absent. */
  result: Buffer | null;
  /** The `progress` field (JSON text, asynq-ts only), or null when absent. */
  progress: Buffer | null;
  /**
   * The ID's score in its container (unix s): process-at for scheduled and retry, archive time,
   * expiry for completed, time added for aggregating; the lease expiry for active (null when it
   * has no lease); null for pending.
   */
  score: number | null;
}

/** Where an iteration stands after a page; pass it back to read the next page. */
export type SeekCursor =
  | {
      kind: "list";
      /** Position from the tail (1 = tail) of the last ID yielded. */
      position: number;
      /** IDs read just after the page (the next page starts at the first one still there). */
      markers: string[];
      /** IDs of the page, last first (the next page starts after the first one still there). */
      anchors: string[];
      /** How many times the iteration had to start again from the tail (no cursor ID left). */
      restarts: number;
    }
  | { kind: "zset"; member: string; score: string };

/** One page of an iteration. */
export interface SeekPage {
  records: ListedRecord[];
  /** Where to continue; null when the page reached the end. */
  next: SeekCursor | null;
}

/** How many IDs past a list page are kept as markers. */
const LOOKAHEAD = 16;
/** After this many restarts from the tail (consumers overtook the iteration), a list iteration ends. */
export const MAX_RESTARTS = 10;

/** The container key of a source. */
export function sourceKey(queue: string, source: TaskSource): string {
  if (source.state === "aggregating") return keys.groupKey(queue, source.group);
  if (source.state === "active") return keys.activeKey(queue);
  return keys.stateKey(queue, source.state);
}

function isList(source: TaskSource): boolean {
  return source.state === "pending" || source.state === "active";
}

/**
 * Reads the records at positions `start..stop` (0-based, inclusive) of a state, in the order of
 * wire-format §4.28.4: pending and active from the tail (next to run / longest running first), sorted
 * sets by ascending score. Two round trips: the queue check and the range (pipelined), then one
 * HMGET per ID (and, for active, the lease scores) in one pipeline. A task that vanished between
 * the two is returned with every field null.
 */
export async function listTaskRecords(
  redis: Redis,
  queue: string,
  source: TaskSource,
  start: number,
  stop: number,
): Promise<ListedRecord[] | "queue-not-found"> {
  const key = sourceKey(queue, source);
  const pipeline = redis.pipeline().sismember(keys.ALL_QUEUES, queue);
  if (isList(source)) pipeline.lrange(key, -(stop + 1), -(start + 1));
  else pipeline.zrange(key, start, stop, "WITHSCORES");
  const [registered, range] = (await exec(pipeline)) as [number, string[]];
  if (registered !== 1) return "queue-not-found";
  const entries = isList(source) ? range.reverse().map((id) => ({ id, score: null })) : pairs(range);
  return readRecords(redis, queue, source, entries);
}

/**
 * Reads the next page of an iteration over every task of a state: `size` IDs from `cursor` (null
 * to start) with one script call, then their hashes with one pipeline. The cursor follows the
 * tasks themselves, not positions, so tasks that stay in the state are neither skipped nor
 * repeated when others come and go: exactly so for sorted sets; for lists (pending, active) as
 * long as one of the previous page's IDs or of the IDs just after it is still there, otherwise the
 * iteration starts again from the tail (which may repeat tasks), at most {@link MAX_RESTARTS} times.
 * The queue is checked on the first page only. Two round trips per page.
 */
export async function seekTaskRecords(
  redis: Redis,
  queue: string,
  source: TaskSource,
  cursor: SeekCursor | null,
  size: number,
): Promise<SeekPage | "queue-not-found"> {
  const key = sourceKey(queue, source);
  const list = cursor?.kind === "list" ? cursor : null;
  const zset = cursor?.kind === "zset" ? cursor : null;
  const call = isList(source)
    ? runScript(
        redis,
        scripts.seekList,
        [key],
        [
          size,
          LOOKAHEAD,
          list?.position ?? 0,
          size + LOOKAHEAD,
          list?.markers.length ?? 0,
          ...(list === null ? [] : [...list.markers, ...list.anchors]),
        ],
      )
    : runScript(
        redis,
        scripts.seekZset,
        [key],
        [size + 1, zset?.member ?? "", zset === null ? "" : `(${zset.score}`, zset?.score ?? ""],
      );
  // Sent back to back with the (read-only) script: one round trip.
  const [registered, reply] = await Promise.all([
    cursor === null ? redis.sismember(keys.ALL_QUEUES, queue) : 1,
    call,
  ]);
  if (registered !== 1) return "queue-not-found";
  if (isList(source)) {
    const [start, restarted, ids] = reply as [number, number, string[]];
    const page = ids.slice(0, size);
    const markers = ids.slice(size);
    const restarts = (list?.restarts ?? 0) + restarted;
    const records = await readRecords(
      redis,
      queue,
      source,
      page.map((id) => ({ id, score: null })),
    );
    const ended = markers.length === 0 || restarts > MAX_RESTARTS;
    const next: SeekCursor | null = ended
      ? null
      : { kind: "list", position: start + page.length - 1, markers, anchors: page.reverse(), restarts };
    return { records, next };
  }
  const flat = reply as string[];
  const entries = pairs(flat);
  const page = entries.slice(0, size);
  const records = await readRecords(redis, queue, source, page);
  const last = flat[2 * page.length - 2];
  const lastScore = flat[2 * page.length - 1];
  const next: SeekCursor | null =
    entries.length > size && last !== undefined && lastScore !== undefined
      ? { kind: "zset", member: last, score: lastScore }
      : null;
  return { records, next };
}

/** `[member, score, member, score, …]` → entries. */
function pairs(flat: readonly string[]): Array<{ id: string; score: number | null }> {
  const out: Array<{ id: string; score: number | null }> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push({ id: flat[i]!, score: Number(flat[i + 1]) });
  return out;
}

/** HMGET msg, state, result, progress of each ID (and ZMSCORE lease for active) in one pipeline. */
async function readRecords(
  redis: Redis,
  queue: string,
  source: TaskSource,
  entries: ReadonlyArray<{ id: string; score: number | null }>,
): Promise<ListedRecord[]> {
  if (entries.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const { id } of entries) {
    pipeline.hmgetBuffer(keys.taskKey(queue, id), "msg", "state", "result", "progress");
  }
  const active = source.state === "active";
  if (active) pipeline.zmscore(keys.leaseKey(queue), ...entries.map((e) => e.id));
  const replies = await exec(pipeline);
  const leases = active ? (replies[entries.length] as Array<string | null>) : [];
  return entries.map(({ id, score }, i) => {
    const [msg = null, state = null, result = null, progress = null] = replies[i] as Array<Buffer | null>;
    const lease = leases[i];
    return {
      id,
      msg,
      state: state === null ? null : state.toString("utf8"),
      result,
      progress,
      score: active ? (lease === null || lease === undefined ? null : Number(lease)) : score,
    };
  });
}
