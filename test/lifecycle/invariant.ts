// The key-lifecycle invariant (docs/key-lifecycle.md) checked on a small Redis DB in two round trips.
import type { Redis } from "ioredis";
import type { TaskMessage } from "../../src/wire/messages.js";
import { decodeTaskMessage } from "../../src/wire/proto.js";
import { TASK_STATES, allGroupsKey, taskKey, type TaskState } from "../../src/wire/keys.js";

/** One task hash as read, with the score of its container when that is a zset. */
export interface TaskView {
  queue: string;
  id: string;
  state: TaskState;
  /** The `group` field ("" when absent). */
  group: string;
  /** The encoded msg as stored (the fence a worker compares with). */
  raw: Buffer;
  msg: TaskMessage;
  /** Score in scheduled, retry, archived, completed, the group zset, or the lease (active). */
  score: number | undefined;
}

/** What a check saw: the tasks by hash key, the locks, registered and paused queues, and what is wrong. */
export interface Snapshot {
  tasks: Map<string, TaskView>;
  /** Lock key -> the task ID it holds. */
  locks: Map<string, string>;
  registered: Set<string>;
  paused: Set<string>;
  /** Every key of the DB. */
  keys: string[];
  violations: string[];
}

const LIVE: ReadonlySet<string> = new Set(["pending", "active", "scheduled", "retry", "aggregating"]);
const LISTS = new Set(["pending", "active"]);
const ZSETS = new Set(["lease", "scheduled", "retry", "archived", "completed"]);
const QUEUE_KEY = /^asynq:\{([^}]+)\}:(.*)$/s;
const DAILY = /^(processed|failed):\d{4}-\d{2}-\d{2}$/;

type Kind = "task" | "list" | "zset" | "group" | "groups" | "lock" | "daily" | "total" | "paused";
interface Entry {
  key: string;
  queue: string;
  kind: Kind;
  /** The task ID, list or zset name, or group name. */
  name: string;
}

/** asynq keys by kind; unknown keys become violations. */
function classify(keys: readonly string[], violations: string[]): Entry[] {
  const entries: Entry[] = [];
  for (const key of keys) {
    if (key === "asynq:queues") continue;
    const m = QUEUE_KEY.exec(key);
    const rest = m?.[2] ?? "";
    const queue = m?.[1] ?? "";
    let kind: Kind | undefined;
    let name = rest;
    if (rest.startsWith("t:")) [kind, name] = ["task", rest.slice(2)];
    else if (LISTS.has(rest)) kind = "list";
    else if (ZSETS.has(rest)) kind = "zset";
    else if (/^g:[^:]+$/.test(rest)) [kind, name] = ["group", rest.slice(2)];
    else if (rest === "groups") kind = "groups";
    else if (rest.startsWith("unique:")) kind = "lock";
    else if (DAILY.test(rest)) kind = "daily";
    else if (rest === "processed" || rest === "failed") kind = "total";
    else if (rest === "paused") kind = "paused";
    if (m === null || kind === undefined) violations.push(`unknown key ${key}`);
    else entries.push({ key, queue, kind, name });
  }
  return entries;
}

/** Queues each command of the pipeline for an entry; the reply handler fills the read state. */
interface Read {
  hashes: Map<string, { entry: Entry; fields: Record<string, Buffer> }>;
  /** queue -> container name (pending, active, g:<g>, ...) -> members with scores (lists: NaN). */
  containers: Map<string, Map<string, Array<[string, number]>>>;
  groupSets: Map<string, string[]>;
  locks: Array<{ entry: Entry; value: string | null; pttl: number }>;
  /** Counter key -> its value. */
  counters: Map<string, number>;
}

async function readAll(redis: Redis, entries: Entry[], violations: string[]): Promise<Read> {
  const read: Read = {
    hashes: new Map(),
    containers: new Map(),
    groupSets: new Map(),
    locks: [],
    counters: new Map(),
  };
  const p = redis.pipeline();
  const handlers: Array<(reply: unknown) => void> = [];
  const container = (q: string, name: string): Array<[string, number]> => {
    const byName = read.containers.get(q) ?? new Map<string, Array<[string, number]>>();
    read.containers.set(q, byName);
    const list = byName.get(name) ?? [];
    byName.set(name, list);
    return list;
  };
  const zsetReply = (list: Array<[string, number]>) => (reply: unknown) => {
    const flat = reply as string[];
    for (let i = 0; i < flat.length; i += 2) list.push([flat[i]!, Number(flat[i + 1])]);
  };
  for (const e of entries) {
    if (e.kind === "task") {
      p.hgetallBuffer(e.key);
      handlers.push((r) => read.hashes.set(e.key, { entry: e, fields: r as Record<string, Buffer> }));
    } else if (e.kind === "list") {
      p.lrange(e.key, 0, -1);
      const list = container(e.queue, e.name);
      handlers.push((r) => (r as string[]).forEach((id) => list.push([id, NaN])));
    } else if (e.kind === "zset" || e.kind === "group") {
      p.zrange(e.key, 0, -1, "WITHSCORES");
      handlers.push(zsetReply(container(e.queue, e.kind === "group" ? `g:${e.name}` : e.name)));
    } else if (e.kind === "groups") {
      p.smembers(e.key);
      handlers.push((r) => read.groupSets.set(e.queue, r as string[]));
    } else if (e.kind === "lock") {
      p.get(e.key);
      p.pttl(e.key);
      let value: string | null = null;
      handlers.push((r) => (value = r as string | null));
      handlers.push((r) => read.locks.push({ entry: e, value, pttl: r as number }));
    } else if (e.kind === "daily" || e.kind === "total") {
      if (e.kind === "daily") {
        p.ttl(e.key);
        handlers.push((r) => {
          if ((r as number) <= 0) violations.push(`daily counter ${e.key} has no TTL`);
        });
      }
      p.get(e.key);
      handlers.push((r) => {
        if (!/^\d+$/.test(String(r))) violations.push(`counter ${e.key} is not a count: ${String(r)}`);
        read.counters.set(e.key, Number(r));
      });
    }
  }
  const replies = (await p.exec()) ?? [];
  replies.forEach(([error, reply], i) => {
    if (error) violations.push(`read failed: ${error.message}`);
    else handlers[i]!(reply);
  });
  return read;
}

/**
 * Reads every key of the DB and checks the invariant: each task hash has a known state and sits in
 * exactly the container its state names (once); each container member has a hash in that state;
 * active ⇔ leased; `groups` ⇔ non-empty `g:<g>`; each lock holds a live task of its queue whose
 * `unique_key` is that lock, and has a TTL; the msg decodes and agrees with its key, `unique_key`,
 * `group` and (completed) its score; only the documented keys exist; every queue with keys other
 * than `paused` is registered; counters are counts, daily ones have a TTL, and none counts more
 * failures than processed tasks.
 * @throws Error only when Redis fails as a whole.
 */
export async function checkInvariant(redis: Redis): Promise<Snapshot> {
  const violations: string[] = [];
  const keys = await redis.keys("*");
  const entries = classify(keys, violations);
  const read = await readAll(redis, entries, violations);
  const registered = new Set(keys.includes("asynq:queues") ? await redis.smembers("asynq:queues") : []);
  const snapshot: Snapshot = {
    tasks: new Map(),
    locks: new Map(),
    registered,
    paused: new Set(),
    keys,
    violations,
  };
  for (const e of entries) {
    if (e.kind === "paused") snapshot.paused.add(e.queue);
    else if (!registered.has(e.queue))
      violations.push(`queue "${e.queue}" has key ${e.key} but is not registered`);
  }
  // Where each ID is listed, per queue.
  const placed = new Map<string, Array<[string, number]>>();
  for (const [q, byName] of read.containers) {
    for (const [name, members] of byName) {
      if (name === "lease") continue;
      for (const [id, score] of members) {
        const at = placed.get(taskKey(q, id)) ?? [];
        at.push([name, score]);
        placed.set(taskKey(q, id), at);
        if (!read.hashes.has(taskKey(q, id))) violations.push(`dangling ID ${id} in ${q}/${name}`);
      }
    }
  }
  for (const [key, { entry, fields }] of read.hashes) {
    const view = taskView(entry, fields, placed.get(key) ?? [], read, violations);
    if (view !== undefined) snapshot.tasks.set(key, view);
  }
  for (const [q, byName] of read.containers) {
    const active = new Set((byName.get("active") ?? []).map(([id]) => id));
    for (const [id] of byName.get("lease") ?? []) {
      if (!active.has(id)) violations.push(`lease of ${q}/${id}, which is not active`);
    }
    const groups = [...byName.keys()].filter((n) => n.startsWith("g:")).map((n) => n.slice(2));
    const registeredGroups = read.groupSets.get(q) ?? [];
    for (const g of groups)
      if (!registeredGroups.includes(g)) violations.push(`group ${q}/${g} not in ${allGroupsKey(q)}`);
    for (const g of registeredGroups)
      if (!groups.includes(g)) violations.push(`${allGroupsKey(q)} names empty group ${g}`);
  }
  for (const [q, gs] of read.groupSets) {
    if (!read.containers.has(q))
      violations.push(`${allGroupsKey(q)} names groups ${gs.join(",")} of no zset`);
  }
  for (const { entry, value, pttl } of read.locks) {
    const owner = value === null ? undefined : read.hashes.get(taskKey(entry.queue, value));
    const state = owner?.fields.state?.toString();
    if (value !== null) snapshot.locks.set(entry.key, value);
    if (owner === undefined || state === undefined || !LIVE.has(state))
      violations.push(`lock ${entry.key} holds ${value}, which is ${state ?? "gone"}`);
    else if (owner.fields.unique_key?.toString() !== entry.key)
      violations.push(
        `lock ${entry.key} holds ${value}, whose unique_key is ${owner.fields.unique_key?.toString()}`,
      );
    if (pttl <= 0) violations.push(`lock ${entry.key} has no TTL (${pttl})`);
  }
  // Every failure is also counted as processed (wire-format §4.14-4.15).
  for (const [key, failed] of read.counters) {
    const processed = read.counters.get(key.replace(/:failed(?=:|$)/, ":processed")) ?? 0;
    if (/:failed(:|$)/.test(key) && failed > processed)
      violations.push(`${key} = ${failed} > processed ${processed}`);
  }
  return snapshot;
}

/** Checks one task hash against where it was found; undefined when it is too broken to describe. */
function taskView(
  entry: Entry,
  fields: Record<string, Buffer>,
  at: Array<[string, number]>,
  read: Read,
  violations: string[],
): TaskView | undefined {
  const { queue, name: id } = entry;
  const where = `${queue}/${id}`;
  const state = fields.state?.toString() ?? "";
  const group = fields.group?.toString() ?? "";
  if (!(TASK_STATES as readonly string[]).includes(state)) {
    violations.push(`task ${where} has unknown state "${state}"`);
    return undefined;
  }
  const expected = state === "aggregating" ? `g:${group}` : state;
  if (at.length !== 1 || at[0]![0] !== expected) {
    violations.push(
      `task ${where} (${state}) is listed in [${at.map(([n]) => n).join(", ")}], not once in ${expected}`,
    );
  }
  let score = at[0]?.[1];
  if (state === "active") {
    const lease = read.containers
      .get(queue)
      ?.get("lease")
      ?.find(([m]) => m === id);
    if (lease === undefined) violations.push(`active task ${where} has no lease`);
    score = lease?.[1];
  }
  const raw = fields.msg;
  if (raw === undefined) {
    violations.push(`task ${where} has no msg`);
    return undefined;
  }
  let msg: TaskMessage;
  try {
    msg = decodeTaskMessage(raw);
  } catch (error) {
    violations.push(`task ${where}: msg does not decode (${String(error)})`);
    return undefined;
  }
  const unique = fields.unique_key?.toString() ?? "";
  if (msg.id !== id || msg.queue !== queue)
    violations.push(`task ${where}: msg names ${msg.queue}/${msg.id}`);
  if (unique !== "" && unique !== msg.uniqueKey)
    violations.push(`task ${where}: unique_key ${unique} ≠ msg ${msg.uniqueKey}`);
  if (group !== "" && group !== msg.groupKey)
    violations.push(`task ${where}: group ${group} ≠ msg ${msg.groupKey}`);
  if (msg.retried > msg.retry) violations.push(`task ${where}: retried ${msg.retried} > retry ${msg.retry}`);
  if (state === "completed" && score !== Number(msg.completedAt + msg.retention)) {
    violations.push(`completed task ${where}: score ${score} ≠ completed_at + retention`);
  }
  return { queue, id, state: state as TaskState, group, raw, msg, score };
}

/** Whether a step may move a task from `before` to `after` (undefined: absent). */
export type Rule = (task: TaskView, before: TaskState | undefined, after: TaskState | undefined) => boolean;

/** What a step allows and requires: its transitions, and checks of the state after it. */
export interface Expect {
  /** What the step did, for the trace. */
  line?: string;
  /** The kind of effect, for the coverage tally (`retry`, `duplicate`, `TaskStateError`...). */
  tag?: string;
  rule: Rule;
  post?: (after: Snapshot) => string[];
}

/** Where an unfenced settle leaves the task (undefined: deleted, or archived and trimmed at once). */
export function expectedSettle(
  task: { msg: TaskMessage },
  outcome: string,
  nowMs: number,
  delayMs: number,
  onExpired: "archive" | "delete",
): Array<TaskState | undefined> {
  const { msg } = task;
  const archived: Array<TaskState | undefined> = ["archived", undefined];
  switch (outcome) {
    case "expired":
      return onExpired === "archive" ? archived : [undefined];
    case "success":
      return msg.retention > 0n ? ["completed"] : [undefined];
    case "revoke":
      return [undefined];
    case "requeue":
      return ["pending"];
    case "skip":
      return archived;
    default:
      if (msg.retried >= msg.retry) return archived;
      if (msg.deadline > 0n && nowMs + delayMs >= Number(msg.deadline) * 1000) return archived;
      return ["retry"];
  }
}

/** What a janitor run at `nowMs` must delete: completed tasks due, and archived ones beyond the limits. */
export function janitorExpectations(
  before: Snapshot,
  nowMs: number,
  limits: { maxSize: number; maxAge: number },
): { completed: number; archived: number; keys: Set<string> } {
  const tasks = [...before.tasks.values()];
  const now = Math.floor(nowMs / 1000);
  const cutoff = Math.floor((nowMs - limits.maxAge) / 1000);
  const completed = tasks.filter((t) => t.state === "completed" && t.score! <= now);
  const trimmed: TaskView[] = [];
  for (const q of new Set(tasks.map((t) => t.queue))) {
    const archived = tasks
      .filter((t) => t.queue === q && t.state === "archived")
      .sort((a, b) => a.score! - b.score! || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const old = archived.filter((t) => t.score! <= cutoff);
    const rest = archived.filter((t) => t.score! > cutoff);
    trimmed.push(...old, ...rest.slice(0, Math.max(0, rest.length - limits.maxSize)));
  }
  const keys = new Set([...completed, ...trimmed].map((t) => taskKey(t.queue, t.id)));
  return { completed: completed.length, archived: trimmed.length, keys };
}
