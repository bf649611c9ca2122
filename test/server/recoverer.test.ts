// The recoverer on a real Redis: lease-expired and unleased active tasks retried, archived or set aside exactly once.
import { LuaScript } from "../../src/broker/scripts.js";
import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { dequeue } from "../../src/broker/fetch/dequeue.js";
import { extendLease } from "../../src/broker/finish/lifecycle.js";
import * as recover from "../../src/broker/upkeep/recover.js";
import type { EnqueueOptions } from "../../src/client/options.js";
import { unixSeconds } from "../../src/internal/clock.js";
import { LeaseExpiredError } from "../../src/errors.js";
import type { RecoverPort } from "../../src/broker/ports.js";
import type { RecoveredTask, RecovererParams } from "../../src/server/recoverer.js";
import * as keys from "../../src/wire/keys.js";
import { encodeTaskMessage, newTaskMessage } from "../../src/wire/proto.js";
import {
  compareSnapshots,
  dumpDb,
  finalSnapshot,
  formatDifferences,
  loadGoldenScenario,
  type DumpedKey,
} from "../support/redis-dump.js";
import { Recoverer } from "../support/components.js";
import { useRedisFixture } from "../support/fixture.js";
import { collectingLogger, counters, readTask, waitFor, type LogLine } from "../support/server.js";
import { snapshotPath } from "../support/golden.js";

const Q = "default";
const HOUR = 3_600_000;
const GRACE = 30_000;
const LEASE = 30_000;
const LEASE_EXPIRED = "asynq: task lease expired";

const { redis, clock, client } = useRedisFixture({ clock: Date.now, client: "shared" });

/** Enqueues a task with this ID and claims it with a lease of `LEASE` from now. */
async function activeTask(id: string, options: EnqueueOptions = {}): Promise<void> {
  await client.enqueue({ type: "email:send", payload: { id } }, { taskId: id, queue: Q, ...options });
  const { tasks } = await dequeue(redis, Q, 1, clock.now() + LEASE);
  expect(tasks.map((t) => t.id)).toEqual([id]);
}

/** Test hooks around the real broker functions. */
interface Hooks {
  /** Runs before every write, with the task ID (e.g. to extend its lease meanwhile). */
  beforeWrite?: (id: string) => Promise<void>;
  /** When it returns true, every read fails as if Redis were down. */
  down?: () => boolean;
}

/** The recover.ts functions as a RecoverPort, as the lead will add them to the Broker. */
function brokerOf(hooks: Hooks = {}): RecoverPort {
  const read = <T>(f: () => Promise<T>): Promise<T> =>
    hooks.down?.() === true ? Promise.reject(new Error("connect ECONNREFUSED")) : f();
  const write = async <T>(id: string, f: () => Promise<T>): Promise<T> => {
    await hooks.beforeWrite?.(id);
    return f();
  };
  return {
    listLeaseExpired: (q, cutoff, offset, limit) =>
      read(() => recover.listLeaseExpired(redis, q, cutoff, offset, limit)),
    listUnleased: (q) => read(() => recover.listUnleased(redis, q)),
    readMessages: (q, ids) => read(() => recover.readMessages(redis, q, ids)),
    recoverRetry: (r) => write(r.id, () => recover.recoverRetry(redis, r)),
    recoverArchive: (r) => write(r.id, () => recover.recoverArchive(redis, r)),
    recoverQuarantine: (r) =>
      write(r.id, () => recover.recoverQuarantine(redis, r.queue, r.id, r.nowMs, r.guard)),
  };
}

/** A recoverer with a constant 1 h retry delay; records what it logged and recovered. */
function recoverer(overrides: Partial<RecovererParams> = {}, hooks: Hooks = {}) {
  const { logger, lines } = collectingLogger();
  const recovered: RecoveredTask[] = [];
  const retryDelay = vi.fn(() => HOUR);
  const r = new Recoverer({
    broker: brokerOf(hooks),
    clock,
    logger,
    queues: [Q],
    retryDelay,
    isFailure: () => true,
    onRecovered: (t) => recovered.push(t),
    ...overrides,
  });
  return { r, lines, recovered, retryDelay };
}

/** Moves the clock so that a lease taken at `leasedAt` expired `by` ms ago. */
function expireLease(leasedAt: number, by: number): void {
  clock.set(leasedAt + LEASE + by);
}

async function inActive(id: string): Promise<boolean> {
  return (await redis.lpos(keys.activeKey(Q), id)) !== null;
}

const logged = (lines: LogLine[], level: LogLine["level"], text: string): LogLine[] =>
  lines.filter((l) => l.level === level && l.message.includes(text));

describe("lease-expired tasks", () => {
  it("retries a task whose lease ran out more than the grace period ago, as Go's Retry", async () => {
    const leasedAt = clock.now();
    await activeTask("r1");
    expireLease(leasedAt, GRACE + 1000);
    const now = clock.now();
    const { r, recovered, retryDelay } = recoverer();

    expect(await r.runOnce()).toBe(1);

    expect(await inActive("r1")).toBe(false);
    expect(await redis.zscore(keys.leaseKey(Q), "r1")).toBeNull();
    expect(await redis.zscore(keys.retryKey(Q), "r1")).toBe(String(unixSeconds(now + HOUR)));
    const task = await readTask(redis, Q, "r1");
    expect(task?.state).toBe("retry");
    expect(task?.msg).toMatchObject({
      retried: 1,
      errorMsg: LEASE_EXPIRED,
      lastFailedAt: BigInt(unixSeconds(now)),
    });
    expect(await counters(redis, Q, now)).toEqual({
      processed: "1",
      failed: "1",
      processedToday: "1",
      failedToday: "1",
    });
    const [retried, error, handlerTask] = retryDelay.mock.calls[0] as unknown as [
      number,
      Error,
      { type: string },
    ];
    expect(retried).toBe(0);
    expect(error).toBeInstanceOf(LeaseExpiredError);
    expect(error).toMatchObject({ code: "ERR_LEASE_EXPIRED", message: LEASE_EXPIRED });
    expect(handlerTask.type).toBe("email:send");
    expect(recovered).toEqual([
      { queue: Q, id: "r1", type: "email:send", found: "lease-expired", action: "retry" },
    ]);
  });

  it("leaves a lease that expired less than the grace period ago", async () => {
    const leasedAt = clock.now();
    await activeTask("r1");
    const { r } = recoverer();
    expireLease(leasedAt, GRACE - 1000);
    expect(await r.runOnce()).toBe(0);
    expect(await inActive("r1")).toBe(true);
    expect(await redis.zscore(keys.leaseKey(Q), "r1")).not.toBeNull();
    clock.advance(2000);
    expect(await r.runOnce()).toBe(1);
    expect(await inActive("r1")).toBe(false);
  });

  it("archives a task whose retries are exhausted and releases its lock", async () => {
    const leasedAt = clock.now();
    await activeTask("a1", { maxRetry: 0, unique: HOUR });
    const lockKey = (await readTask(redis, Q, "a1"))!.msg!.uniqueKey;
    expect(await redis.get(lockKey)).toBe("a1");
    expireLease(leasedAt, GRACE + 1000);
    const now = clock.now();
    const { r, recovered, retryDelay } = recoverer();

    expect(await r.runOnce()).toBe(1);

    expect(await redis.zscore(keys.archivedKey(Q), "a1")).toBe(String(unixSeconds(now)));
    const task = await readTask(redis, Q, "a1");
    expect(task?.state).toBe("archived");
    expect(task?.msg).toMatchObject({
      retried: 0,
      errorMsg: LEASE_EXPIRED,
      lastFailedAt: BigInt(unixSeconds(now)),
    });
    expect(await redis.exists(lockKey)).toBe(0);
    expect(await counters(redis, Q, now)).toMatchObject({ processed: "1", failed: "1" });
    expect(retryDelay).not.toHaveBeenCalled();
    expect(recovered.map((t) => t.action)).toEqual(["archive"]);
  });

  it("retries without counting a failure when isFailure says no", async () => {
    const leasedAt = clock.now();
    await activeTask("n1", { unique: HOUR });
    expireLease(leasedAt, GRACE + 1000);
    const now = clock.now();
    const isFailure = vi.fn((_error: Error) => false);
    const { r } = recoverer({ isFailure });

    expect(await r.runOnce()).toBe(1);

    expect(isFailure.mock.calls[0]?.[0]).toBeInstanceOf(LeaseExpiredError);
    const task = await readTask(redis, Q, "n1");
    expect(task?.state).toBe("retry");
    expect(task?.msg).toMatchObject({
      retried: 0,
      errorMsg: LEASE_EXPIRED,
      lastFailedAt: BigInt(unixSeconds(now)),
    });
    expect(await counters(redis, Q, now)).toEqual({
      processed: null,
      failed: null,
      processedToday: null,
      failedToday: null,
    });
    // A retry keeps the lock, as in Go.
    expect(await redis.get(task!.msg!.uniqueKey)).toBe("n1");
  });

  it("leaves a task whose owner extended the lease after it was listed", async () => {
    const leasedAt = clock.now();
    await activeTask("x1");
    expireLease(leasedAt, GRACE + 1000);
    const extended = clock.now() + LEASE;
    const { r, recovered } = recoverer({}, { beforeWrite: (id) => extendLease(redis, Q, [id], extended) });

    expect(await r.runOnce()).toBe(0);

    expect(await inActive("x1")).toBe(true);
    expect(await redis.zscore(keys.leaseKey(Q), "x1")).toBe(String(unixSeconds(extended)));
    const task = await readTask(redis, Q, "x1");
    expect(task?.state).toBe("active");
    expect(task?.msg).toMatchObject({ retried: 0, errorMsg: "" });
    expect(await redis.exists(keys.retryKey(Q), keys.processedTotalKey(Q))).toBe(0);
    expect(recovered).toEqual([]);
  });

  it("archives as expired a task whose retry would land after its deadline", async () => {
    const leasedAt = clock.now();
    await activeTask("d1", { deadline: leasedAt + 10 * 60_000, unique: HOUR });
    await activeTask("d2", { deadline: leasedAt + 2 * HOUR });
    const lockKey = (await readTask(redis, Q, "d1"))!.msg!.uniqueKey;
    expireLease(leasedAt, GRACE + 1000);
    const now = clock.now();
    const { r, recovered } = recoverer();

    expect(await r.runOnce()).toBe(2);

    const expired = await readTask(redis, Q, "d1");
    expect(expired?.state).toBe("archived");
    const deadline = new Date(unixSeconds(leasedAt + 10 * 60_000) * 1000).toISOString();
    expect(expired?.msg?.errorMsg).toBe(
      `task expired: deadline ${deadline} passes before the next retry at ` +
        `${new Date(now + HOUR).toISOString()}; last error: ${LEASE_EXPIRED}`,
    );
    expect(expired?.msg?.retried).toBe(0);
    expect(await redis.zscore(keys.archivedKey(Q), "d1")).toBe(String(unixSeconds(now)));
    expect(await redis.exists(lockKey)).toBe(0);
    expect((await readTask(redis, Q, "d2"))?.state).toBe("retry");
    expect(await counters(redis, Q, now)).toMatchObject({ processed: "2", failed: "2" });
    expect(recovered.map((t) => [t.id, t.action]).sort()).toEqual([
      ["d1", "expire"],
      ["d2", "retry"],
    ]);
  });

  it("archives a task with an undecodable msg as it is, and one without msg", async () => {
    const leasedAt = clock.now();
    await activeTask("bad");
    await activeTask("nomsg");
    const garbage = Buffer.from([0xff, 0xff, 0xff]);
    await redis.hset(keys.taskKey(Q, "bad"), "msg", garbage);
    await redis.hdel(keys.taskKey(Q, "nomsg"), "msg");
    expireLease(leasedAt, GRACE + 1000);
    const { r, lines, recovered } = recoverer();

    expect(await r.runOnce()).toBe(2);

    for (const id of ["bad", "nomsg"]) {
      expect(await inActive(id)).toBe(false);
      expect(await redis.zscore(keys.leaseKey(Q), id)).toBeNull();
      expect(await redis.zscore(keys.archivedKey(Q), id)).toBe(String(unixSeconds(clock.now())));
      expect(await redis.hget(keys.taskKey(Q, id), "state")).toBe("archived");
      expect(logged(lines, "warn", `"${id}"`)).toHaveLength(1);
    }
    expect(await redis.hgetBuffer(keys.taskKey(Q, "bad"), "msg")).toEqual(garbage);
    expect(await redis.exists(keys.processedTotalKey(Q), keys.failedTotalKey(Q))).toBe(0);
    expect(recovered.map((t) => t.action)).toEqual(["quarantine", "quarantine"]);
  });

  it("removes a dangling ID (no task hash) from active and lease", async () => {
    const leasedAt = clock.now();
    await redis.lpush(keys.activeKey(Q), "ghost");
    await redis.zadd(keys.leaseKey(Q), unixSeconds(leasedAt + LEASE), "ghost");
    // A lease entry left without its active entry and hash goes too.
    await redis.zadd(keys.leaseKey(Q), unixSeconds(leasedAt), "ghost-lease");
    expireLease(leasedAt, GRACE + 1000);
    const { r, lines, recovered } = recoverer();

    expect(await r.runOnce()).toBe(2);

    expect(await redis.exists(keys.activeKey(Q), keys.leaseKey(Q), keys.archivedKey(Q))).toBe(0);
    expect(await redis.exists(keys.taskKey(Q, "ghost"), keys.taskKey(Q, "ghost-lease"))).toBe(0);
    expect(logged(lines, "warn", `"ghost"`)).toHaveLength(1);
    expect(recovered.map((t) => t.action)).toEqual(["remove", "remove"]);
  });

  it("works through more expired leases than one batch, past the ones it must skip", async () => {
    const leasedAt = clock.now();
    // 120 stale lease entries of tasks no longer in active, each with a hash: they have the oldest
    // leases, fill the first batch and must be skipped (left alone).
    for (let i = 0; i < 120; i++) {
      const msg = encodeTaskMessage(newTaskMessage({ type: "t", id: `stale-${i}`, queue: Q, retry: 5 }));
      await redis.hset(keys.taskKey(Q, `stale-${i}`), "state", "retry", "msg", Buffer.from(msg));
      await redis.zadd(keys.leaseKey(Q), unixSeconds(leasedAt) - 100, `stale-${i}`);
    }
    for (let i = 0; i < 5; i++) await activeTask(`live-${i}`);
    expireLease(leasedAt, GRACE + 1000);
    const { r } = recoverer();

    expect(await r.runOnce()).toBe(5);

    expect(await redis.zcard(keys.retryKey(Q))).toBe(5);
    expect(await redis.zcard(keys.leaseKey(Q))).toBe(120);
  });
});

describe("active tasks without a lease (asynq#1144)", () => {
  it("are recovered once they have been seen without one for the grace period", async () => {
    await activeTask("u1");
    await redis.zrem(keys.leaseKey(Q), "u1");
    const { r, lines, recovered } = recoverer();

    expect(await r.runOnce()).toBe(0);
    expect(logged(lines, "info", "without a lease")).toHaveLength(1);
    clock.advance(GRACE - 1);
    expect(await r.runOnce()).toBe(0);
    expect(await inActive("u1")).toBe(true);
    clock.advance(1);
    const now = clock.now();
    expect(await r.runOnce()).toBe(1);

    const task = await readTask(redis, Q, "u1");
    expect(task?.state).toBe("retry");
    expect(task?.msg).toMatchObject({ retried: 1, errorMsg: LEASE_EXPIRED });
    expect(await redis.zscore(keys.retryKey(Q), "u1")).toBe(String(unixSeconds(now + HOUR)));
    expect(recovered).toEqual([
      { queue: Q, id: "u1", type: "email:send", found: "no-lease", action: "retry" },
    ]);
  });

  it("are left alone when they get a lease, and the wait restarts if they lose it again", async () => {
    await activeTask("u2");
    await redis.zrem(keys.leaseKey(Q), "u2");
    const { r } = recoverer();
    expect(await r.runOnce()).toBe(0);
    await redis.zadd(keys.leaseKey(Q), unixSeconds(clock.now() + HOUR), "u2");
    clock.advance(GRACE);
    expect(await r.runOnce()).toBe(0);
    // Forgotten while leased: losing the lease again starts a new grace period.
    await redis.zrem(keys.leaseKey(Q), "u2");
    clock.advance(GRACE);
    expect(await r.runOnce()).toBe(0);
    expect(await inActive("u2")).toBe(true);
    clock.advance(GRACE);
    expect(await r.runOnce()).toBe(1);
    expect(await inActive("u2")).toBe(false);
  });

  it("are left alone when they get a lease between the listing and the write", async () => {
    await activeTask("u3");
    await redis.zrem(keys.leaseKey(Q), "u3");
    const lease = clock.now() + HOUR;
    const { r } = recoverer(
      {},
      { beforeWrite: async (id) => void (await redis.zadd(keys.leaseKey(Q), unixSeconds(lease), id)) },
    );
    await r.runOnce();
    clock.advance(GRACE);

    expect(await r.runOnce()).toBe(0);

    expect(await inActive("u3")).toBe(true);
    expect((await readTask(redis, Q, "u3"))?.state).toBe("active");
    expect(await redis.exists(keys.retryKey(Q))).toBe(0);
  });

  it("a dangling unleased ID is removed after the grace period", async () => {
    await redis.lpush(keys.activeKey(Q), "ghost");
    const { r, recovered } = recoverer();
    expect(await r.runOnce()).toBe(0);
    clock.advance(GRACE);
    expect(await r.runOnce()).toBe(1);
    expect(await redis.exists(keys.activeKey(Q), keys.taskKey(Q, "ghost"))).toBe(0);
    expect(recovered).toEqual([{ queue: Q, id: "ghost", found: "no-lease", action: "remove" }]);
  });

  it("are listed across LRANGE chunks", async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `c${i}`);
    await redis.rpush(keys.activeKey(Q), ...ids);
    await redis.zadd(keys.leaseKey(Q), 1, "c0", 1, "c4", 1, "c9");
    expect((await recover.listUnleased(redis, Q, 3)).sort()).toEqual(
      ["c1", "c2", "c3", "c5", "c6", "c7", "c8"].sort(),
    );
  });
});

describe("concurrency, outages and the timer", () => {
  it("two recoverers at once settle each task exactly once", async () => {
    const leasedAt = clock.now();
    const results = await client.enqueueBatch(
      Array.from({ length: 150 }, (_, i) => ({
        type: "t",
        payload: { i },
        options: { taskId: `p${i}`, queue: Q, maxRetry: i % 3 === 0 ? 0 : 5 },
      })),
    );
    expect(results.every((x) => x.ok)).toBe(true);
    expect((await dequeue(redis, Q, 150, leasedAt + LEASE)).tasks).toHaveLength(150);
    expireLease(leasedAt, GRACE + 1000);
    const now = clock.now();
    const attempts = [0, 0];
    const hooks = (k: number): Hooks => ({
      beforeWrite: () => {
        attempts[k]!++;
        return new Promise<void>((resolve) => setImmediate(resolve));
      },
    });
    const a = recoverer({}, hooks(0));
    const b = recoverer({}, hooks(1));

    const [na, nb] = await Promise.all([a.r.runOnce(), b.r.runOnce()]);

    // Both listed the same tasks and raced for them: the loser's writes were skipped.
    expect(attempts[0]! + attempts[1]!).toBeGreaterThan(150);
    expect(na + nb).toBe(150);
    const ids = [...a.recovered, ...b.recovered].map((t) => t.id);
    expect(new Set(ids).size).toBe(150);
    expect(await counters(redis, Q, now)).toEqual({
      processed: "150",
      failed: "150",
      processedToday: "150",
      failedToday: "150",
    });
    expect(await redis.zcard(keys.retryKey(Q))).toBe(100);
    expect(await redis.zcard(keys.archivedKey(Q))).toBe(50);
    expect(await redis.exists(keys.activeKey(Q), keys.leaseKey(Q))).toBe(0);
    const msgs = await Promise.all(ids.map((id) => readTask(redis, Q, id)));
    expect(msgs.filter((t) => t?.state === "retry").every((t) => t?.msg?.retried === 1)).toBe(true);
  });

  it("logs an outage once, keeps running on its timer, and recovers when Redis is back", async () => {
    const leasedAt = clock.now();
    await activeTask("o1");
    expireLease(leasedAt, GRACE + 1000);
    let down = true;
    let runs = 0;
    const { r, lines, recovered } = recoverer(
      { interval: 10 },
      {
        down: () => {
          runs++;
          return down;
        },
      },
    );
    r.start();
    await waitFor(() => runs >= 4, "four runs during the outage");
    expect(logged(lines, "warn", "could not recover tasks")).toHaveLength(1);
    expect(logged(lines, "debug", "could not recover tasks").length).toBeGreaterThanOrEqual(2);
    expect(await inActive("o1")).toBe(true);

    down = false;
    await waitFor(async () => !(await inActive("o1")), "o1 recovered");
    await r.shutdown();
    expect((await readTask(redis, Q, "o1"))?.state).toBe("retry");
    expect(logged(lines, "info", "Redis answers again")).toHaveLength(1);
    expect(logged(lines, "warn", "could not recover tasks")).toHaveLength(1);
    expect(recovered.map((t) => t.id)).toEqual(["o1"]);
  });

  it("runs at start, then on its interval; shutdown waits for the run in progress and stops the timer", async () => {
    const leasedAt = clock.now();
    await activeTask("s1");
    expireLease(leasedAt, GRACE + 1000);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let writes = 0;
    const { r, recovered } = recoverer(
      { interval: 10 },
      {
        beforeWrite: async () => {
          writes++;
          if (writes === 2) await held;
        },
      },
    );
    r.start();
    await waitFor(() => recovered.length === 1, "s1 recovered at start");

    await activeTask("s2");
    clock.advance(LEASE + GRACE + 1000);
    await waitFor(() => writes === 2, "the next run's write");
    let stopped = false;
    const shutdown = r.shutdown().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(stopped).toBe(false);
    release();
    await shutdown;
    expect(recovered.map((t) => t.id)).toEqual(["s1", "s2"]);

    await activeTask("s3");
    clock.advance(LEASE + GRACE + 1000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await inActive("s3")).toBe(true);
  });
});

describe("parity with Go", () => {
  it("a recovered task is stored as Go's Retry stores it (golden dump m, with the lease error)", async () => {
    const golden = finalSnapshot(loadGoldenScenario(snapshotPath("m_failed_once_retry")));
    const leasedAt = clock.now();
    await client.enqueue({ type: "email:send", payload: '{"user_id":42}' }, { taskId: "m-1", maxRetry: 3 });
    expect((await dequeue(redis, Q, 1, leasedAt + LEASE)).tasks).toHaveLength(1);
    expireLease(leasedAt, GRACE + 1000);
    const now = clock.now();
    const { r } = recoverer();

    expect(await r.runOnce()).toBe(1);

    // Go's m: same task failed once with "smtp: connection refused" and a 1 h retry delay. Ours
    // differs only in the error text and the times, which follow our clock.
    const lead = Math.round((now - Date.now()) / 1000);
    const expected = { keys: golden.keys.map((k) => expectedKey(k, now, lead)) };
    const diffs = compareSnapshots(expected, await dumpDb(redis), { toleranceSeconds: 0 });
    expect(formatDifferences(diffs)).toBe("");
  });

  it("writes with the worker's retry, archive and quarantine scripts, which include the counter, lock and guard code", () => {
    const lib = (name: string): string =>
      readFileSync(new URL(`../../src/broker/lua/${name}.lua`, import.meta.url), "utf8");
    for (const name of ["finish/retry", "finish/archive"]) {
      expect(LuaScript.fromFile(name).source).toContain(lib("counters"));
    }
    expect(LuaScript.fromFile("finish/archive").source).toContain(lib("lock"));
    for (const name of ["finish/retry", "finish/archive", "finish/quarantine"]) {
      expect(LuaScript.fromFile(name).source).toContain(lib("guard"));
    }
  });
});

/** Go's key of dump m as the recoverer at `now` must leave it; TTLs `lead` s longer (our clock is ahead). */
function expectedKey(k: DumpedKey, now: number, lead: number): DumpedKey {
  const day = keys.dayString(new Date(now));
  const key = k.key.replace(/:(processed|failed):\d{4}-\d{2}-\d{2}$/, `:$1:${day}`);
  const ttl = k.ttl_approx_seconds === undefined ? {} : { ttl_approx_seconds: k.ttl_approx_seconds + lead };
  if (k.type === "zset") return { ...k, key, value: [[k.value[0]![0], unixSeconds(now + HOUR)]] };
  if (k.type !== "hash") return { ...k, ...ttl, key };
  const msg = k.value.msg;
  if (msg === undefined || typeof msg === "string" || !("proto" in msg)) throw new Error("m: no msg");
  const decoded = { ...msg.decoded, error_msg: LEASE_EXPIRED, last_failed_at: String(unixSeconds(now)) };
  return { ...k, key, value: { ...k.value, msg: { ...msg, decoded, hexUnreliable: true } } };
}
