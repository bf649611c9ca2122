// Doctor's main pass over one SCAN batch: classify each key, then check task hashes, locks, TTLs and types.
import type { TaskFields } from "../broker/doctor/port.js";
import { unixSeconds } from "../internal/clock.js";
import * as keys from "../wire/keys.js";
import { classifyKey, type KeyClass } from "./classify.js";
import { queueState, type Context, type QueueState } from "./context.js";
import { repair } from "./fix.js";
import { judgeTask } from "./judge.js";
import { checkTasks } from "./tasks.js";

/** The states in which a task may hold its uniqueness lock (wire-format §1.5; our difference P7: not archived). */
const LIVE_STATES: ReadonlySet<string> = new Set(["pending", "active", "scheduled", "retry", "aggregating"]);

/** Lifetimes of the keys that must expire, for a fix: 2 × heartbeat (wire-format §1.4). */
const SERVER_TTL_SECONDS = 10;
const SCHEDULER_TTL_SECONDS = 20;
/** A scheduler tick marker found without a TTL (it always has one) gets a day: longer than most ticks. */
const TICK_MARKER_TTL_SECONDS = 24 * 60 * 60;
/** The event stream expires 10 minutes after its last entry; a listener's marker 30 s after its refresh (lua/events.lua). */
const EVENTS_TTL_SECONDS = 10 * 60;
const LISTENING_TTL_SECONDS = 30;

type QueueClass = Extract<KeyClass, { scope: "queue" }>;

/** Checks one batch of scanned keys. */
export async function checkBatch(ctx: Context, found: readonly string[]): Promise<void> {
  const tasks = new Map<QueueState, string[]>();
  const locks: Array<[QueueState, string]> = [];
  const expiring: Array<[string, number, QueueState | undefined]> = [];
  const typed: Array<[string, string, QueueState | undefined]> = [];
  const unknown: string[] = [];
  for (const key of found) {
    const c = classifyKey(key, ctx.registered);
    if (c.scope === "unknown") {
      unknown.push(key);
      continue;
    }
    if (c.scope === "global") {
      if (ctx.only !== undefined) continue;
      typed.push([key, c.type, undefined]);
      if (c.kind === "server" || c.kind === "workers") expiring.push([key, SERVER_TTL_SECONDS, undefined]);
      if (c.kind === "scheduler-entries") expiring.push([key, SCHEDULER_TTL_SECONDS, undefined]);
      continue;
    }
    if (ctx.only !== undefined && !ctx.only.has(c.queue)) continue;
    const qs = ctx.queues.get(c.queue) ?? (await queueState(ctx, c.queue));
    note(qs, c, key);
    if (c.kind === "task") {
      const ids = tasks.get(qs) ?? [];
      ids.push(c.name);
      tasks.set(qs, ids);
      continue;
    }
    typed.push([key, c.type, qs]);
    if (c.kind === "lock") locks.push([qs, key]);
    if (c.kind === "daily-counter") expiring.push([key, dailyExpiry(c.day!, ctx.broker.statsTtlSeconds), qs]);
    if (c.kind === "scheduler-tick") {
      expiring.push([key, unixSeconds(ctx.clock.now()) + TICK_MARKER_TTL_SECONDS, qs]);
    }
    if (c.kind === "events") expiring.push([key, unixSeconds(ctx.clock.now()) + EVENTS_TTL_SECONDS, qs]);
    if (c.kind === "events-listening") {
      expiring.push([key, unixSeconds(ctx.clock.now()) + LISTENING_TTL_SECONDS, qs]);
    }
  }
  await Promise.all([
    ...[...tasks].map(([qs, ids]) => checkTasks(ctx, qs, ids)),
    checkTypes(ctx, typed),
    checkLocks(ctx, locks),
    checkTtls(ctx, expiring),
    ...unknown.map((key) =>
      ctx.global.add({ kind: "unknown-key", key, detail: "not a key of the asynq data model" }),
    ),
  ]);
}

/** Records what a per-queue key tells about the queue (groups and sets seen, whether it has more than leftovers). */
function note(qs: QueueState, c: QueueClass, key: string): void {
  if (
    c.kind !== "total-counter" &&
    c.kind !== "daily-counter" &&
    c.kind !== "paused" &&
    c.kind !== "lock" &&
    c.kind !== "scheduler-tick" &&
    c.kind !== "events" &&
    c.kind !== "events-listening"
  ) {
    qs.substantiveKeys++;
  }
  if (c.kind === "group") qs.groups.add(c.name);
  if (c.kind === "aggregation-set") qs.sets.set(key, c.name);
}

/** A daily counter lives 90 days from its first increment; the day's start stands in for that instant. */
function dailyExpiry(day: string, ttlSeconds: number): number {
  return unixSeconds(Date.parse(`${day}T00:00:00Z`)) + ttlSeconds;
}

/** Keys whose Redis type is not the data model's: reported as unknown keys, never read nor touched. */
async function checkTypes(
  ctx: Context,
  typed: ReadonlyArray<[string, string, QueueState | undefined]>,
): Promise<void> {
  const types = await ctx.broker.keyTypes(typed.map(([key]) => key));
  await Promise.all(
    typed.map(([key, expected, qs], i) => {
      const type = types[i]!;
      if (type === expected || type === "none") return Promise.resolve();
      qs?.wrongType.add(key);
      return ctx.global.add({
        kind: "unknown-key",
        key,
        detail: `a ${type}, where asynq keeps a ${expected}`,
      });
    }),
  );
}

/** Keys that must expire and have no TTL. */
async function checkTtls(
  ctx: Context,
  expiring: ReadonlyArray<[string, number, QueueState | undefined]>,
): Promise<void> {
  const ttls = await ctx.broker.ttls(expiring.map(([key]) => key));
  await Promise.all(
    expiring.map(([key, expiry, qs], i) => {
      if (ttls[i] !== -1) return Promise.resolve();
      // Daily counters carry an absolute expiry; server keys a lifetime from now.
      const at = qs === undefined ? unixSeconds(ctx.clock.now()) + expiry : expiry;
      const log = qs?.log ?? ctx.global;
      return log.add(
        { kind: "missing-ttl", ...(qs ? { queue: qs.name } : {}), key, detail: "must expire but has no TTL" },
        repair(`EXPIREAT ${key} ${at}`, () => ctx.broker.expireAt(key, at)),
      );
    }),
  );
}

/**
 * Uniqueness locks whose task is gone, not live, or names another lock. Read: the lock's value,
 * then the owner's hash; a stale-looking lock is re-read together with its owner (MULTI).
 */
async function checkLocks(ctx: Context, locks: ReadonlyArray<[QueueState, string]>): Promise<void> {
  if (locks.length === 0) return;
  const values = await ctx.broker.readStrings(locks.map(([, key]) => key));
  const held = locks.flatMap(([qs, key], i) => {
    const id = values[i];
    return id === null || id === undefined ? [] : [{ qs, key, id, ownerKey: keys.taskKey(qs.name, id) }];
  });
  const owners = await ctx.broker.readTaskFields(held.map((h) => h.ownerKey));
  const suspects = held.filter((h, i) => staleReason(h.qs.name, h.id, h.key, owners[i]!) !== undefined);
  const snaps = await ctx.broker.snapshotLocks(
    suspects.map((s) => ({ lockKey: s.key, ownerKey: s.ownerKey })),
  );
  await Promise.all(
    suspects.map((s, i) => {
      const snap = snaps[i]!;
      const reason = snap.value === s.id ? staleReason(s.qs.name, s.id, s.key, snap.owner) : undefined;
      if (reason === undefined) return Promise.resolve();
      return s.qs.log.add(
        { kind: "stale-unique-lock", queue: s.qs.name, key: s.key, id: s.id, detail: reason },
        repair(`DEL ${s.key}`, () => ctx.broker.releaseLock(s.key, s.ownerKey, s.id, snap.owner)),
      );
    }),
  );
}

/** Why a lock held by `id` is stale, or undefined when its owner is live and holds it (or cannot be judged). */
function staleReason(queue: string, id: string, lockKey: string, owner: TaskFields): string | undefined {
  if (!owner.exists) return `held by ${id}, whose task hash is gone`;
  if (owner.wrongType !== null) return undefined;
  if (owner.state === null || !LIVE_STATES.has(owner.state)) {
    return `held by ${id}, which is ${owner.state ?? "stateless"}, not live`;
  }
  const judged = judgeTask(queue, id, owner);
  const ownLock = owner.uniqueKey ?? judged.msg?.uniqueKey;
  if (ownLock === undefined) return undefined;
  if (ownLock !== lockKey) return `held by ${id}, whose unique key is ${ownLock === "" ? "empty" : ownLock}`;
  return undefined;
}
