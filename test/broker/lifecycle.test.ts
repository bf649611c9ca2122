// Task lifecycle scripts against a real Redis: exact state after each transition, and Go's golden dumps k-p replayed.
import { LuaScript } from "../../src/broker/scripts.js";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { EnqueueOptions } from "../../src/client/options.js";
import { dequeue } from "../../src/broker/fetch/dequeue.js";
import {
  STATS_TTL_SECONDS,
  archive,
  deleteActive,
  done,
  extendLease,
  markComplete,
  quarantine,
  requeue,
  retry,
  trimArchive,
  writeResult,
} from "../../src/broker/finish/lifecycle.js";
import { unixSeconds } from "../../src/internal/clock.js";
import * as keys from "../../src/wire/keys.js";
import type { TaskMessage } from "../../src/wire/messages.js";
import { parseOption } from "../../src/wire/option-strings.js";
import { decodeTaskMessage, encodeTaskMessage } from "../../src/wire/proto.js";
import {
  compareSnapshots,
  dumpDb,
  finalSnapshot,
  formatDifferences,
  loadGoldenScenario,
  type DumpedKey,
  type GoldenScenario,
  type Snapshot,
  type StoredValue,
} from "../support/redis-dump.js";
import { useRedisFixture } from "../support/fixture.js";
import { join } from "node:path";
import { SNAPSHOTS_DIR } from "../support/golden.js";

const Q = "default";
const MAX_INT64 = "9223372036854775807";
const DAY_MS = 24 * 60 * 60 * 1000;

const { redis, clock, client } = useRedisFixture({ clock: Date.now, client: "shared" });

/** Enqueues a task with this ID and claims it; returns its decoded message. */
async function activeTask(id: string, options: EnqueueOptions = {}): Promise<TaskMessage> {
  await client.enqueue({ type: "email:send", payload: { id } }, { taskId: id, queue: Q, ...options });
  const { tasks } = await dequeue(redis, Q, 1, clock.now() + 30_000);
  expect(tasks.map((t) => t.id)).toEqual([id]);
  return decodeTaskMessage(tasks[0]!.msg!);
}

const encode = (m: TaskMessage, changes: Partial<TaskMessage>): Uint8Array =>
  encodeTaskMessage({ ...m, ...changes });
const day = (ms: number): Date => new Date(ms);

/** Every key name in the DB, sorted. */
async function keyNames(): Promise<string[]> {
  return (await redis.keys("*")).sort();
}

/** Asserts a daily counter's value and a TTL of about 90 days from `nowMs`. */
async function expectDaily(key: string, value: string, nowMs: number): Promise<void> {
  expect(await redis.get(key), key).toBe(value);
  const ttl = await redis.ttl(key);
  const expected = unixSeconds(nowMs) + STATS_TTL_SECONDS - unixSeconds(Date.now());
  expect(Math.abs(ttl - expected), `${key} TTL ${ttl}`).toBeLessThanOrEqual(2);
}

/** Asserts processed (and failed) counters, daily and total, for the day of `nowMs`. */
async function expectCounters(nowMs: number, processed: string, failed: string | null): Promise<void> {
  await expectDaily(keys.processedKey(Q, day(nowMs)), processed, nowMs);
  expect(await redis.get(keys.processedTotalKey(Q))).toBe(processed);
  expect(await redis.ttl(keys.processedTotalKey(Q))).toBe(-1);
  if (failed === null) {
    expect(await redis.exists(keys.failedKey(Q, day(nowMs)), keys.failedTotalKey(Q))).toBe(0);
  } else {
    await expectDaily(keys.failedKey(Q, day(nowMs)), failed, nowMs);
    expect(await redis.get(keys.failedTotalKey(Q))).toBe(failed);
  }
}

async function expectNotActiveOrLeased(id: string): Promise<void> {
  expect(await redis.lpos(keys.activeKey(Q), id)).toBeNull();
  expect(await redis.zscore(keys.leaseKey(Q), id)).toBeNull();
}

/** A lock key owned by `owner`, as EnqueueUnique would leave it. */
async function lock(owner: string): Promise<string> {
  const key = keys.queuePrefix(Q) + "unique:email:send:0123456789abcdef0123456789abcdef";
  await redis.set(key, owner, "EX", 3600);
  return key;
}

describe("done", () => {
  it("deletes the task, counts it as processed and releases its own lock", async () => {
    await activeTask("d1");
    const lockKey = await lock("d1");
    const now = clock.now();
    expect(await done(redis, Q, "d1", lockKey, now)).toBe("ok");
    expect(await keyNames()).toEqual(
      [keys.ALL_QUEUES, keys.processedTotalKey(Q), keys.processedKey(Q, day(now))].sort(),
    );
    await expectCounters(now, "1", null);
  });

  it("keeps a lock that another task holds", async () => {
    await activeTask("d1");
    const lockKey = await lock("someone-else");
    expect(await done(redis, Q, "d1", lockKey, clock.now())).toBe("ok");
    expect(await redis.get(lockKey)).toBe("someone-else");
  });

  it("increments an existing daily counter without resetting its TTL", async () => {
    const now = clock.now();
    await redis.set(keys.processedKey(Q, day(now)), "4", "EX", 1000);
    await activeTask("d1");
    await done(redis, Q, "d1", "", now);
    expect(await redis.get(keys.processedKey(Q, day(now)))).toBe("5");
    expect(await redis.ttl(keys.processedKey(Q, day(now)))).toBeLessThanOrEqual(1000);
  });

  it("wraps the processed total at 2^63-1 to 1", async () => {
    await redis.set(keys.processedTotalKey(Q), MAX_INT64);
    await activeTask("d1");
    await done(redis, Q, "d1", "", clock.now());
    expect(await redis.get(keys.processedTotalKey(Q))).toBe("1");
  });

  it("uses the UTC date of nowMs for the daily key", async () => {
    await activeTask("d1");
    const lateEvening = Date.UTC(2030, 5, 30, 23, 59, 59, 999);
    await done(redis, Q, "d1", "", lateEvening);
    expect(await redis.get(`asynq:{${Q}}:processed:2030-06-30`)).toBe("1");
  });
});

describe("markComplete", () => {
  it("moves the task to completed, keeps result, counts and releases the lock", async () => {
    const msg = await activeTask("c1", { retention: 3_600_000 });
    const lockKey = await lock("c1");
    expect(await writeResult(redis, Q, "c1", Buffer.from('{"ok":1}'))).toBe("ok");
    const now = clock.now();
    const completedAt = unixSeconds(now);
    const encoded = encode(msg, { completedAt: BigInt(completedAt) });
    expect(await markComplete(redis, Q, "c1", encoded, lockKey, now, completedAt + 3600)).toBe("ok");

    await expectNotActiveOrLeased("c1");
    expect(await redis.zscore(keys.completedKey(Q), "c1")).toBe(String(completedAt + 3600));
    const hash = await redis.hgetallBuffer(keys.taskKey(Q, "c1"));
    expect(Object.keys(hash).sort()).toEqual(["msg", "result", "state"]);
    expect(hash.state!.toString()).toBe("completed");
    expect(hash.result!.toString()).toBe('{"ok":1}');
    expect(hash.msg!.equals(Buffer.from(encoded))).toBe(true);
    expect(await redis.exists(lockKey)).toBe(0);
    await expectCounters(now, "1", null);
  });
});

describe("retry", () => {
  it("moves a failure to retry with processed and failed counters, keeping the lock", async () => {
    const msg = await activeTask("r1");
    const lockKey = await lock("r1");
    const now = clock.now();
    const encoded = encode(msg, { retried: 1, errorMsg: "boom", lastFailedAt: BigInt(unixSeconds(now)) });
    expect(await retry(redis, Q, "r1", encoded, now + 60_500, true, now)).toBe("ok");

    await expectNotActiveOrLeased("r1");
    expect(await redis.zscore(keys.retryKey(Q), "r1")).toBe(String(unixSeconds(now + 60_500)));
    expect(await redis.hget(keys.taskKey(Q, "r1"), "state")).toBe("retry");
    expect((await redis.hgetBuffer(keys.taskKey(Q, "r1"), "msg"))!.equals(Buffer.from(encoded))).toBe(true);
    expect(await redis.get(lockKey)).toBe("r1");
    await expectCounters(now, "1", "1");
  });

  it("changes no counter when it is not a failure", async () => {
    const msg = await activeTask("r1");
    const now = clock.now();
    expect(await retry(redis, Q, "r1", encode(msg, { errorMsg: "x" }), now + 1000, false, now)).toBe("ok");
    expect(await redis.hget(keys.taskKey(Q, "r1"), "state")).toBe("retry");
    expect(await keyNames()).toEqual([keys.ALL_QUEUES, keys.retryKey(Q), keys.taskKey(Q, "r1")].sort());
  });

  it("restarts both totals at 1 when the processed total wraps", async () => {
    await redis.set(keys.processedTotalKey(Q), MAX_INT64);
    await redis.set(keys.failedTotalKey(Q), "41");
    const msg = await activeTask("r1");
    await retry(redis, Q, "r1", encode(msg, {}), clock.now(), true, clock.now());
    expect(await redis.mget(keys.processedTotalKey(Q), keys.failedTotalKey(Q))).toEqual(["1", "1"]);
  });
});

describe("archive", () => {
  it("archives at now with processed and failed counters and releases its own lock", async () => {
    const msg = await activeTask("a1");
    const lockKey = await lock("a1");
    const now = clock.now();
    const failed = { ...msg, errorMsg: "fatal", lastFailedAt: BigInt(unixSeconds(now)), uniqueKey: lockKey };
    expect(await archive(redis, { queue: Q, id: "a1", msg: failed, nowMs: now })).toBe("ok");
    const encoded = encodeTaskMessage(failed);

    await expectNotActiveOrLeased("a1");
    expect(await redis.zscore(keys.archivedKey(Q), "a1")).toBe(String(unixSeconds(now)));
    expect(await redis.hget(keys.taskKey(Q, "a1"), "state")).toBe("archived");
    expect((await redis.hgetBuffer(keys.taskKey(Q, "a1"), "msg"))!.equals(Buffer.from(encoded))).toBe(true);
    expect(await redis.exists(lockKey)).toBe(0);
    await expectCounters(now, "1", "1");
  });

  it("keeps another task's lock and does not trim", async () => {
    for (let i = 0; i < 3; i++) await redis.zadd(keys.archivedKey(Q), 1, `old-${i}`);
    const msg = await activeTask("a1");
    const lockKey = await lock("other");
    await archive(redis, { queue: Q, id: "a1", msg: { ...msg, uniqueKey: lockKey }, nowMs: clock.now() });
    expect(await redis.get(lockKey)).toBe("other");
    expect(await redis.zcard(keys.archivedKey(Q))).toBe(4);
  });

  it("restarts the failed total on its own at 2^63-1", async () => {
    await redis.set(keys.processedTotalKey(Q), "5");
    await redis.set(keys.failedTotalKey(Q), MAX_INT64);
    const msg = await activeTask("a1");
    await archive(redis, { queue: Q, id: "a1", msg, nowMs: clock.now() });
    expect(await redis.mget(keys.processedTotalKey(Q), keys.failedTotalKey(Q))).toEqual(["6", "1"]);
  });
});

describe("requeue", () => {
  it("puts the task at the front of pending, unchanged, without pending_since or counters", async () => {
    await activeTask("r1");
    const msgBefore = await redis.hgetBuffer(keys.taskKey(Q, "r1"), "msg");
    await client.enqueue({ type: "t" }, { taskId: "newer" });
    expect(await requeue(redis, Q, "r1")).toBe("ok");

    await expectNotActiveOrLeased("r1");
    expect(await redis.lrange(keys.pendingKey(Q), 0, -1)).toEqual(["newer", "r1"]);
    const hash = await redis.hgetallBuffer(keys.taskKey(Q, "r1"));
    expect(Object.keys(hash).sort()).toEqual(["msg", "state"]);
    expect(hash.state!.toString()).toBe("pending");
    expect(hash.msg!.equals(msgBefore!)).toBe(true);
    expect(await redis.keys("*processed*")).toEqual([]);
    const { tasks } = await dequeue(redis, Q, 1, clock.now());
    expect(tasks.map((t) => t.id)).toEqual(["r1"]);
  });

  it("drops an active ID whose hash is missing instead of pushing it to pending", async () => {
    await redis.lpush(keys.activeKey(Q), "ghost");
    await redis.zadd(keys.leaseKey(Q), 1, "ghost");
    expect(await requeue(redis, Q, "ghost")).toBe("ok");
    expect(await keyNames()).toEqual([]);
  });
});

describe("quarantine", () => {
  it("archives a task with an undecodable msg, msg untouched, no counters", async () => {
    await activeTask("q1");
    const garbage = Buffer.from([0xff, 0xff, 0xff]);
    await redis.hset(keys.taskKey(Q, "q1"), "msg", garbage);
    const now = clock.now();
    expect(await quarantine(redis, Q, "q1", now)).toBe("ok");

    await expectNotActiveOrLeased("q1");
    expect(await redis.zscore(keys.archivedKey(Q), "q1")).toBe(String(unixSeconds(now)));
    expect(await redis.hget(keys.taskKey(Q, "q1"), "state")).toBe("archived");
    expect((await redis.hgetBuffer(keys.taskKey(Q, "q1"), "msg"))!.equals(garbage)).toBe(true);
    expect(await keyNames()).toEqual([keys.ALL_QUEUES, keys.archivedKey(Q), keys.taskKey(Q, "q1")].sort());
  });

  it("only removes an active ID whose hash is missing", async () => {
    await redis.lpush(keys.activeKey(Q), "ghost");
    await redis.zadd(keys.leaseKey(Q), 1, "ghost");
    expect(await quarantine(redis, Q, "ghost", clock.now())).toBe("ok");
    expect(await keyNames()).toEqual([]);
  });
});

describe("deleteActive", () => {
  it("deletes the task, counts processed and failed and releases its own lock", async () => {
    await activeTask("x1");
    const lockKey = await lock("x1");
    const now = clock.now();
    expect(await deleteActive(redis, Q, "x1", lockKey, now)).toBe("ok");
    expect(await redis.exists(keys.taskKey(Q, "x1"), lockKey)).toBe(0);
    await expectNotActiveOrLeased("x1");
    await expectCounters(now, "1", "1");
  });
});

describe("writeResult", () => {
  it("replaces the result field of an existing task", async () => {
    await activeTask("w1");
    expect(await writeResult(redis, Q, "w1", new Uint8Array([1, 2]))).toBe("ok");
    expect(await writeResult(redis, Q, "w1", new Uint8Array([0, 0xff, 3]))).toBe("ok");
    expect((await redis.hgetBuffer(keys.taskKey(Q, "w1"), "result"))!.toString("hex")).toBe("00ff03");
  });

  it("does not re-create a deleted task", async () => {
    expect(await writeResult(redis, Q, "gone", new Uint8Array([1]))).toBe("not-found");
    expect(await keyNames()).toEqual([]);
  });
});

describe("extendLease", () => {
  it("updates the leases it is given that still exist, and adds none", async () => {
    await activeTask("l1");
    await activeTask("l2");
    const later = clock.now() + 90_000;
    await extendLease(redis, Q, ["l1", "gone"], later);
    expect(await redis.zscore(keys.leaseKey(Q), "l1")).toBe(String(unixSeconds(later)));
    expect(await redis.zscore(keys.leaseKey(Q), "l2")).toBe(String(unixSeconds(clock.now() + 30_000)));
    expect(await redis.zscore(keys.leaseKey(Q), "gone")).toBeNull();
    await extendLease(redis, Q, [], later); // no-op
  });
});

describe("not-active paths write nothing", () => {
  it("for every transition of a task that is pending, not active", async () => {
    await client.enqueue({ type: "email:send", payload: "p" }, { taskId: "p1" });
    const lockKey = await lock("p1");
    const now = clock.now();
    const msg = encodeTaskMessage(decodeTaskMessage((await redis.hgetBuffer(keys.taskKey(Q, "p1"), "msg"))!));
    const before = await dumpDb(redis);
    const outcomes = [
      await done(redis, Q, "p1", lockKey, now),
      await markComplete(redis, Q, "p1", msg, lockKey, now, unixSeconds(now) + 60),
      await retry(redis, Q, "p1", msg, now, true, now),
      await archive(redis, {
        queue: Q,
        id: "p1",
        msg: { ...decodeTaskMessage(msg), uniqueKey: lockKey },
        nowMs: now,
      }),
      await requeue(redis, Q, "p1"),
      await quarantine(redis, Q, "p1", now),
      await deleteActive(redis, Q, "p1", lockKey, now),
    ];
    expect(outcomes).toEqual(Array(7).fill("not-active"));
    expect(await dumpDb(redis)).toEqual(before);
  });

  it("for a task already finished (a second done)", async () => {
    await activeTask("d1");
    await done(redis, Q, "d1", "", clock.now());
    const before = await dumpDb(redis);
    expect(await done(redis, Q, "d1", "", clock.now())).toBe("not-active");
    expect(await dumpDb(redis)).toEqual(before);
  });
});

describe("trimArchive", () => {
  /** Archives `n` tasks with hashes, task i at score base + i. */
  async function archived(n: number, base: number): Promise<string[]> {
    const ids = Array.from({ length: n }, (_, i) => `ar-${i}`);
    for (const [i, id] of ids.entries()) {
      await redis.hset(keys.taskKey(Q, id), "msg", "m", "state", "archived");
      await redis.zadd(keys.archivedKey(Q), base + i, id);
    }
    return ids;
  }

  it("keeps exactly maxSize, the newest, and deletes the dropped hashes", async () => {
    const now = clock.now();
    const ids = await archived(8, unixSeconds(now) - 100);
    expect(await trimArchive(redis, Q, now, 5, 90 * DAY_MS)).toBe(3);
    expect(await redis.zrange(keys.archivedKey(Q), 0, -1)).toEqual(ids.slice(3));
    for (const id of ids) {
      expect(await redis.exists(keys.taskKey(Q, id)), id).toBe(ids.indexOf(id) < 3 ? 0 : 1);
    }
    expect(await trimArchive(redis, Q, now, 5, 90 * DAY_MS)).toBe(0);
  });

  it("deletes tasks archived at or before now - maxAge", async () => {
    const now = clock.now();
    const cutoff = unixSeconds(now - 90 * DAY_MS);
    const ids = await archived(4, cutoff - 1); // scores cutoff-1, cutoff, cutoff+1, cutoff+2
    expect(await trimArchive(redis, Q, now, 10_000, 90 * DAY_MS)).toBe(2);
    expect(await redis.zrange(keys.archivedKey(Q), 0, -1)).toEqual(ids.slice(2));
    expect(await redis.exists(keys.taskKey(Q, ids[0]!), keys.taskKey(Q, ids[1]!))).toBe(0);
  });

  it("loops in batches until nothing is left to trim, by age and by size", async () => {
    const now = clock.now();
    const maxAgeMs = 1_000_000;
    const cutoff = unixSeconds(now - maxAgeMs);
    await archived(7, cutoff - 6); // 7 old tasks: cutoff-6 .. cutoff
    for (let i = 0; i < 6; i++) {
      await redis.hset(keys.taskKey(Q, `new-${i}`), "msg", "m", "state", "archived");
      await redis.zadd(keys.archivedKey(Q), unixSeconds(now) - 10 + i, `new-${i}`);
    }
    expect(await trimArchive(redis, Q, now, 4, maxAgeMs, 2)).toBe(9);
    expect(await redis.zrange(keys.archivedKey(Q), 0, -1)).toEqual(["new-2", "new-3", "new-4", "new-5"]);
    expect((await redis.keys(keys.taskKeyPrefix(Q) + "*")).sort()).toEqual(
      ["new-2", "new-3", "new-4", "new-5"].map((id) => keys.taskKey(Q, id)),
    );
  });

  it("does nothing on an empty archive", async () => {
    expect(await trimArchive(redis, Q, clock.now(), 0, DAY_MS)).toBe(0);
  });
});

describe("scripts", () => {
  it("fall back to EVAL after SCRIPT FLUSH", async () => {
    await activeTask("f1");
    await redis.script("FLUSH");
    expect(await done(redis, Q, "f1", "", clock.now())).toBe("ok");
    await redis.script("FLUSH");
    expect(await writeResult(redis, Q, "f1", new Uint8Array([1]))).toBe("not-found");
  });

  it("include the shared counter and lock code from lua/", () => {
    const lib = (name: string): string =>
      readFileSync(new URL(`../../src/broker/lua/${name}.lua`, import.meta.url), "utf8");
    for (const name of ["done", "mark_complete", "retry", "archive", "delete_active"]) {
      expect(LuaScript.fromFile(`finish/${name}`).source).toContain(lib("counters"));
    }
    for (const name of ["done", "mark_complete", "archive", "delete_active"]) {
      expect(LuaScript.fromFile(`finish/${name}`).source).toContain(lib("lock"));
    }
  });
});

// ---- Golden dumps of Go asynq v0.25.1 (k to p), replayed at the broker level --------------------

const DAILY_KEY = /^(asynq:\{[^}]*\}:(?:processed|failed)):\d{4}-\d{2}-\d{2}$/;
const TIME_FIELDS = ["last_failed_at", "completed_at"];

/**
 * Replays a scenario shifted in time to now: `at(goldenMs)` is the shifted instant. The shift is a
 * whole number of seconds, so every golden time maps to golden + `shiftSeconds`.
 */
class Replay {
  readonly scenario: GoldenScenario;
  readonly shiftSeconds: number;

  constructor(file: string) {
    this.scenario = loadGoldenScenario(join(SNAPSHOTS_DIR, file));
    const start = this.scenario.ops[0]!.at_unix_ms;
    this.shiftSeconds = Math.ceil((Date.now() - start) / 1000);
  }

  at(goldenMs: number): number {
    return goldenMs + this.shiftSeconds * 1000;
  }

  /** The golden instant of the n-th `handler_invoked` event, shifted. */
  handlerAt(n: number): number {
    const events = this.scenario.events.filter((e) => e.event === "handler_invoked");
    return this.at(events[n]!.at_unix_ms as number);
  }

  /** Enqueues op 0 with the golden options at its shifted time. */
  async enqueue(): Promise<void> {
    const op = this.scenario.ops[0]!;
    clock.set(this.at(op.at_unix_ms));
    await client.enqueue(
      { type: op.args.task_type!, payload: op.args.payload ?? "" },
      toOptions(op.args.options ?? []),
    );
  }

  /** Dequeues the one task at the n-th handler time; returns its decoded message. */
  async dequeue(n: number): Promise<TaskMessage> {
    const now = this.handlerAt(n);
    const { tasks } = await dequeue(redis, Q, 1, now + 30_000);
    expect(tasks).toHaveLength(1);
    return decodeTaskMessage(tasks[0]!.msg!);
  }

  /** Compares the DB with the snapshot `label` (default: final), shifted; `only` filters its keys. */
  async expectSnapshot(label = "final", only: (key: string) => boolean = () => true): Promise<void> {
    const golden = this.scenario.snapshots.find((s) => s.label === label);
    if (golden === undefined) throw new Error(`${this.scenario.scenario} has no snapshot ${label}`);
    if (label === "final") expect(golden).toBe(finalSnapshot(this.scenario));
    // The replay runs faster than Go did, so our clock is ahead of Redis's by `lead` s at this point:
    // TTLs set from our clock are that much longer than Go's were when the snapshot was taken.
    const lead = Math.round((this.at(golden.taken_at_unix_ms) - Date.now()) / 1000);
    const expected = shiftSnapshot({ keys: golden.keys.filter((k) => only(k.key)) }, this.shiftSeconds, lead);
    const actual = await dumpDb(redis);
    // The shift is whole seconds, so every time (scores, msg times) must match Go's exactly.
    const diffs = compareSnapshots(expected, actual, { toleranceSeconds: 0 });
    expect(formatDifferences(diffs), `${this.scenario.scenario} ${label}`).toBe("");
    for (const k of expected.keys) expect(DAILY_KEY.test(k.key) ? k.key.endsWith(today()) : true).toBe(true);
  }
}

function today(): string {
  return keys.dayString(new Date(clock.now()));
}

/** Go option strings (`TaskID("k-1")`, `MaxRetry(3)`, ...) as EnqueueOptions (the kinds k-p use). */
function toOptions(options: readonly string[]): EnqueueOptions {
  const out: EnqueueOptions = {};
  for (const s of options) {
    const o = parseOption(s);
    if (o.kind === "TaskID") out.taskId = o.value;
    else if (o.kind === "MaxRetry") out.maxRetry = o.value;
    else if (o.kind === "Retention") out.retention = o.ms;
    else if (o.kind === "Timeout") out.timeout = o.ms;
    else throw new Error(`option ${s} is not used by these scenarios`);
  }
  return out;
}

/**
 * The golden snapshot moved `shift` seconds later: daily keys renamed to today, times shifted, TTLs
 * `ttlLead` seconds longer.
 */
function shiftSnapshot(s: Snapshot, shift: number, ttlLead: number): Snapshot {
  return { keys: s.keys.map((k) => shiftKey(k, shift, ttlLead)) };
}

function shiftKey(original: DumpedKey, shift: number, ttlLead: number): DumpedKey {
  const k =
    original.ttl_approx_seconds === undefined
      ? original
      : { ...original, ttl_approx_seconds: original.ttl_approx_seconds + ttlLead };
  const key = k.key.replace(DAILY_KEY, (_m, prefix: string) => `${prefix}:${today()}`);
  switch (k.type) {
    case "zset":
      return { ...k, key, value: k.value.map(([m, score]): [StoredValue, number] => [m, score + shift]) };
    case "hash":
      return {
        ...k,
        key,
        value: Object.fromEntries(Object.entries(k.value).map(([f, v]) => [f, shiftStored(v, shift)])),
      };
    default:
      return { ...k, key };
  }
}

function shiftStored(v: StoredValue, shift: number): StoredValue {
  if (typeof v === "string" || !("proto" in v)) return v;
  const decoded = { ...v.decoded };
  for (const f of TIME_FIELDS) {
    const t = decoded[f];
    if (typeof t === "string" && t !== "0") decoded[f] = String(Number(t) + shift);
  }
  return { ...v, decoded };
}

describe("golden dumps of Go asynq v0.25.1, replayed at the broker level", () => {
  it("k: success without retention", async () => {
    const r = new Replay("k_processed_plain.json");
    await r.enqueue();
    const msg = await r.dequeue(0);
    expect(await done(redis, Q, msg.id, msg.uniqueKey, r.handlerAt(0))).toBe("ok");
    await r.expectSnapshot();
  });

  it("l: success with Retention(1h) and a result", async () => {
    const r = new Replay("l_processed_retention_result.json");
    await r.enqueue();
    const msg = await r.dequeue(0);
    const written = r.scenario.events.find((e) => e.event === "result_written")!;
    expect(written.bytes).toBe(24);
    expect(await writeResult(redis, Q, msg.id, Buffer.from('{"status":"ok","sent":1}'))).toBe("ok");
    const now = r.handlerAt(0);
    const completedAt = unixSeconds(now);
    const encoded = encode(msg, { completedAt: BigInt(completedAt) });
    expect(
      await markComplete(redis, Q, msg.id, encoded, msg.uniqueKey, now, completedAt + Number(msg.retention)),
    ).toBe("ok");
    await r.expectSnapshot();
  });

  it("m: one failure, then in retry for 1h", async () => {
    const r = new Replay("m_failed_once_retry.json");
    await r.enqueue();
    const msg = await r.dequeue(0);
    const now = r.handlerAt(0);
    const encoded = encode(msg, {
      retried: msg.retried + 1,
      errorMsg: "smtp: connection refused",
      lastFailedAt: BigInt(unixSeconds(now)),
    });
    expect(await retry(redis, Q, msg.id, encoded, now + 3_600_000, true, now)).toBe("ok");
    await r.expectSnapshot();
  });

  it("n: retries exhausted after two failures, archived", async () => {
    const r = new Replay("n_retries_exhausted_archived.json");
    await r.enqueue();
    const first = await r.dequeue(0);
    const t0 = r.handlerAt(0);
    const failed = encode(first, {
      retried: 1,
      errorMsg: "smtp: connection refused (attempt 1)",
      lastFailedAt: BigInt(unixSeconds(t0)),
    });
    expect(await retry(redis, Q, first.id, failed, t0, true, t0)).toBe("ok");
    // What the forwarder does (wire-format §4.16), with raw commands.
    await redis.zrem(keys.retryKey(Q), first.id);
    await redis.lpush(keys.pendingKey(Q), first.id);
    await redis.hset(keys.taskKey(Q, first.id), "state", "pending", "pending_since", "1");
    const second = await r.dequeue(1);
    expect(second.retried).toBe(1);
    const t1 = r.handlerAt(1);
    const archived = {
      ...second,
      errorMsg: "smtp: connection refused (attempt 2)",
      lastFailedAt: BigInt(unixSeconds(t1)),
    };
    expect(await archive(redis, { queue: Q, id: second.id, msg: archived, nowMs: t1 })).toBe("ok");
    await r.expectSnapshot();
  });

  it("o: SkipRetry, archived on the first attempt", async () => {
    const r = new Replay("o_skip_retry.json");
    await r.enqueue();
    const msg = await r.dequeue(0);
    const now = r.handlerAt(0);
    const archived = {
      ...msg,
      errorMsg: "invalid payload: skip retry for the task",
      lastFailedAt: BigInt(unixSeconds(now)),
    };
    expect(await archive(redis, { queue: Q, id: msg.id, msg: archived, nowMs: now })).toBe("ok");
    await r.expectSnapshot();
  });

  it("p: mid-processing (active, lease, hash) and then done", async () => {
    const r = new Replay("p_mid_processing.json");
    await r.enqueue();
    const msg = await r.dequeue(0);
    const queueKey = (k: string): boolean => k.startsWith(keys.queuePrefix(Q)) || k === keys.ALL_QUEUES;
    await r.expectSnapshot("processing_started", queueKey);
    // The heartbeat's lease extension seen in mid_processing.
    const mid = r.scenario.snapshots.find((s) => s.label === "mid_processing")!;
    await extendLease(redis, Q, [msg.id], r.at(mid.taken_at_unix_ms) + 30_000);
    await r.expectSnapshot("mid_processing", queueKey);
    expect(await done(redis, Q, msg.id, msg.uniqueKey, r.at(r.scenario.ops[2]!.at_unix_ms))).toBe("ok");
    await r.expectSnapshot();
  });
});
