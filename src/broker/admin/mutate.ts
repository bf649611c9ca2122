// Inspector write I/O (wire-format §4.28.5-§4.28.8): delete, archive or run tasks by ID or all of a state, in verified batches; replace a task's msg.
import { execPipeline as exec, toBuffer } from "../redis-values.js";
import type { Redis } from "ioredis";
import { unixNanos, unixSeconds } from "../../internal/clock.js";
import * as keys from "../../wire/keys.js";
import { sourceKey } from "./list.js";
import { LuaScript, runScript, type ScriptArg } from "../scripts.js";

const scripts = {
  delete: LuaScript.fromFile("admin/delete_tasks"),
  archive: LuaScript.fromFile("admin/archive_tasks"),
  run: LuaScript.fromFile("admin/run_tasks"),
  updatePayload: LuaScript.fromFile("admin/update_payload"),
};

/** What an inspector write does to a task. */
export type TaskOp = "delete" | "archive" | "run";

/** The states whose tasks can all be acted on at once (not active), with the group for aggregating tasks. */
export type BulkSource =
  | { state: "pending" | "scheduled" | "retry" | "archived" | "completed" }
  | { state: "aggregating"; group: string };

/**
 * What happened to one task: `done`; `not-found` (no hash); `active` (refused); `refused` (archive
 * of an archived task, run of a pending one); `outside` (not in its state's container: an
 * aggregating task being aggregated, or a corrupt record); `unknown-state` (no or unknown state
 * field); `changed` (kept changing under the call, 3 times).
 */
export type MutationCode =
  "done" | "not-found" | "active" | "refused" | "outside" | "unknown-state" | "changed";

/** The outcome for one ID of {@link mutateTasks}. */
export interface MutationOutcome {
  id: string;
  code: MutationCode;
  /** The task's state as the script saw it (null when there is no hash or no state). */
  state: string | null;
  /** The task's `group` field as read ("" when none). */
  group: string;
}

/** Tasks per script call: about 1 ms of Redis time for 200 deletes (bench/inspector.ts), so Redis stays responsive. */
export const MUTATE_BATCH = 200;

/** How many times a task whose fields changed between the read and the script is read again. */
const MAX_ROUNDS = 3;
/** How many bulk rounds in a row may make no progress before a bulk call stops. */
const MAX_STALLS = 3;

const CODES: Record<number, MutationCode | "moved" | "dangling" | "stuck"> = {
  1: "done",
  0: "not-found",
  [-1]: "active",
  [-2]: "refused",
  [-3]: "changed",
  [-4]: "outside",
  [-5]: "unknown-state",
  [-6]: "moved",
  [-7]: "dangling",
  [-8]: "stuck",
};

/** One task as passed to a script. */
interface Candidate {
  id: string;
  /** The group passed (aggregating tasks only), else "". */
  group: string;
  /** The unique_key passed ("" for none, and always "" for run). */
  unique: string;
}

/**
 * Deletes, archives or runs the tasks with these IDs, each in whatever state it is (wire-format §4.28.5-7
 * and our differences: locks released on delete and archive, pending_since set on run). Reads each
 * task's state, group and unique_key in one pipeline, then acts with script calls of at most
 * `batch` tasks and at most one pending task each (removing a pending ID may scan the list: from the
 * head for the 1,000 newest, else from the tail; 8 ms for the middle of 1,000,000); a task that
 * changed in between is read again (3 rounds at most).
 *
 * @returns one outcome per ID, in order; or "queue-not-found" (nothing written).
 */
export async function mutateTasks(
  redis: Redis,
  queue: string,
  op: TaskOp,
  ids: readonly string[],
  nowMs: number,
  batch = MUTATE_BATCH,
): Promise<MutationOutcome[] | "queue-not-found"> {
  const outcomes = new Map<string, MutationOutcome>();
  let todo = [...new Set(ids)];
  for (let round = 0; round < MAX_ROUNDS && (round === 0 || todo.length > 0); round++) {
    const pipeline = redis.pipeline();
    if (round === 0) pipeline.sismember(keys.ALL_QUEUES, queue);
    for (const id of todo) pipeline.hmget(keys.taskKey(queue, id), "state", "group", "unique_key");
    const replies = await exec(pipeline);
    if (round === 0 && replies.shift() !== 1) return "queue-not-found";
    const read = todo.map((id, i) => {
      const [state = null, group = null, unique = null] = replies[i] as Array<string | null>;
      return { id, state, group: group ?? "", unique: op === "run" ? "" : (unique ?? "") };
    });
    const retry: string[] = [];
    for (const chunk of chunks(read, batch)) {
      const candidates = chunk.map((t) => ({ ...t, group: t.state === "aggregating" ? t.group : "" }));
      const results = await runBatch(redis, queue, op, "", candidates, 1, nowMs);
      results.forEach(({ code, state }, i) => {
        const t = chunk[i]!;
        if (code === "changed" && round < MAX_ROUNDS - 1) retry.push(t.id);
        else outcomes.set(t.id, { id: t.id, code: code as MutationCode, state, group: t.group });
      });
    }
    todo = retry;
  }
  return ids.map((id) => outcomes.get(id)!);
}

/**
 * Deletes, archives or runs every task of a state (of one group for aggregating), in rounds: read
 * up to `batch` IDs (and their unique_key fields), then one script call that re-verifies each
 * (still in that container, hash in that state) and acts. Redis stays responsive between calls.
 * Tasks added during the call may or may not be included: the call ends once the state is empty
 * or it has examined as many IDs as the state held at the start plus one batch. IDs left in the
 * container without a hash are removed from it; IDs whose hash is in another state are skipped.
 *
 * @returns how many tasks were acted on; or "queue-not-found" (nothing written).
 */
export async function mutateAllTasks(
  redis: Redis,
  queue: string,
  op: TaskOp,
  source: BulkSource,
  nowMs: number,
  batch = MUTATE_BATCH,
): Promise<number | "queue-not-found"> {
  const key = sourceKey(queue, source);
  const list = source.state === "pending";
  const group = source.state === "aggregating" ? source.group : "";
  const check = redis.pipeline().sismember(keys.ALL_QUEUES, queue);
  if (list) check.llen(key);
  else check.zcard(key);
  const [registered, size] = (await exec(check)) as [number, number];
  if (registered !== 1) return "queue-not-found";
  let acted = 0;
  let examined = 0;
  let skipped = 0;
  let stalls = 0;
  while (examined < size + batch && stalls < MAX_STALLS) {
    const ids = list
      ? (await redis.lrange(key, -(skipped + batch), -(skipped + 1))).reverse()
      : await redis.zrange(key, skipped, skipped + batch - 1);
    if (ids.length === 0) break;
    const uniques = op === "run" ? [] : await readUniques(redis, queue, ids);
    const candidates = ids.map((id, i) => ({ id, group, unique: uniques[i] ?? "" }));
    const scan = skipped + 2 * batch;
    const results = await runBatch(redis, queue, op, source.state, candidates, scan, nowMs);
    examined += ids.length;
    let progress = 0;
    for (const { code } of results) {
      if (code === "done") acted++;
      if (code === "stuck" || code === "unknown-state") skipped++;
      if (code !== "changed") progress++;
    }
    stalls = progress === 0 ? stalls + 1 : 0;
  }
  return acted;
}

/** What {@link replaceTaskMessage} did, with the task's state as the script saw it (null when none). */
export interface ReplaceOutcome {
  /** `ok` (written), `not-found` (no hash), `changed` (msg changed since read), `refused` (state not allowed). */
  outcome: "ok" | "not-found" | "changed" | "refused";
  state: string | null;
}

/**
 * Replaces the `msg` of a task whose state is one of `states`, only if its msg is still `expected`
 * (wire-format §4.28.8, atomic). Nothing else is written.
 */
export async function replaceTaskMessage(
  redis: Redis,
  queue: string,
  id: string,
  expected: Uint8Array,
  next: Uint8Array,
  states: readonly string[],
): Promise<ReplaceOutcome> {
  const [code, state = null] = (await runScript(
    redis,
    scripts.updatePayload,
    [keys.taskKey(queue, id)],
    [toBuffer(expected), toBuffer(next), ...states],
  )) as [number, string | null | undefined];
  const outcome = ({ 1: "ok", 0: "not-found", [-2]: "changed", [-1]: "refused" } as const)[code];
  if (outcome === undefined) throw new Error(`admin/update_payload: unexpected reply ${String(code)}`);
  return { outcome, state };
}

/** Runs one script call on candidates; one result per candidate. */
async function runBatch(
  redis: Redis,
  queue: string,
  op: TaskOp,
  expected: string,
  candidates: readonly Candidate[],
  scan: number,
  nowMs: number,
): Promise<Array<{ code: MutationCode | "moved" | "dangling" | "stuck"; state: string | null }>> {
  const keyList = [
    keys.pendingKey(queue),
    keys.scheduledKey(queue),
    keys.retryKey(queue),
    keys.archivedKey(queue),
    keys.completedKey(queue),
    keys.allGroupsKey(queue),
  ];
  const args: ScriptArg[] = [expected, scan];
  if (op === "archive") args.push(unixSeconds(nowMs));
  if (op === "run") args.push(unixNanos(nowMs));
  for (const c of candidates) {
    keyList.push(keys.taskKey(queue, c.id));
    if (c.group !== "") keyList.push(keys.groupKey(queue, c.group));
    if (c.unique !== "") keyList.push(c.unique);
    args.push(c.id, c.group);
    if (op !== "run") args.push(c.unique);
  }
  const reply = (await runScript(redis, scripts[op], keyList, args)) as Array<number | string | null>;
  if (!Array.isArray(reply) || reply.length !== 2 * candidates.length)
    throw new Error(`insp_${op}: unexpected reply ${String(reply)}`);
  return candidates.map((_, i) => {
    const code = CODES[reply[2 * i] as number];
    if (code === undefined) throw new Error(`insp_${op}: unexpected code ${String(reply[2 * i])}`);
    const state = reply[2 * i + 1];
    return { code, state: typeof state === "string" ? state : null };
  });
}

/** The `unique_key` field of each task ("" when absent), in one pipeline. */
async function readUniques(redis: Redis, queue: string, ids: readonly string[]): Promise<string[]> {
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hget(keys.taskKey(queue, id), "unique_key");
  return ((await exec(pipeline)) as Array<string | null>).map((u) => u ?? "");
}

/** Splits tasks into script calls of at most `size`, with at most one pending task each. */
function chunks<T extends { state: string | null }>(tasks: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let pending = false;
  for (const t of tasks) {
    const isPending = t.state === "pending";
    if (current.length >= size || (isPending && pending)) {
      out.push(current);
      current = [];
      pending = false;
    }
    current.push(t);
    pending ||= isPending;
  }
  if (current.length > 0) out.push(current);
  return out;
}
