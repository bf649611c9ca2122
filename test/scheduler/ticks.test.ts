// The ticker on a real Redis and a manual clock: each tick enqueues one task and records it in the
// entry's history (wire-format §4.27, §6.2); several schedulers with one entry enqueue each tick once,
// also when the task is already gone or a scheduler is late; failures go to the error handler and
// the next tick is tried as usual.
import { describe, expect, it } from "vitest";
import type { Broker } from "../../src/broker/ports.js";
import { ConnectionError, TaskIdConflictError } from "../../src/errors.js";
import { unixSeconds } from "../../src/internal/clock.js";
import * as keys from "../../src/wire/keys.js";
import { decodeTaskMessage } from "../../src/wire/proto.js";
import { resolveTask } from "../../src/client/options.js";
import { useRedisFixture } from "../support/fixture.js";
import { FaultProxy } from "../support/fault-proxy.js";
import { history, pendingTasks, testBroker, testTicker, tickAt } from "./support.js";

/** 2030-01-01T12:02:30.250Z: a sub-second part to catch rounding mistakes. */
const T0 = Date.UTC(2030, 0, 1, 12, 2, 30) + 250;
const MIN = 60_000;
const { redis, url, clock } = useRedisFixture({ clock: T0 });

describe("one scheduler", () => {
  it("enqueues a cron entry at each tick, records the enqueue, and moves next and prev", async () => {
    const s = testTicker(url, clock);
    const entry = s.add(
      "*/5 * * * *",
      { type: "report:build", payload: { n: 1 } },
      { queue: "default", maxRetry: 2 },
    );
    s.ticker.start();
    const first = Date.UTC(2030, 0, 1, 12, 5);
    expect(entry.next).toBe(first);
    expect(entry.prev).toBeNull();

    await tickAt(clock, first - 1, s.ticker);
    expect(await pendingTasks(redis)).toEqual([]);

    await tickAt(clock, first + 120.5, s.ticker);
    await tickAt(clock, first + 5 * MIN + 40, s.ticker);
    const tasks = await pendingTasks(redis);
    expect(tasks.map((t) => t.type)).toEqual(["report:build", "report:build"]);
    expect(s.results.map((r) => [r.status, r.tick.getTime()])).toEqual([
      ["enqueued", first],
      ["enqueued", first + 5 * MIN],
    ]);
    expect(entry.prev).toBe(first + 5 * MIN);
    expect(entry.next).toBe(first + 10 * MIN);

    const msg = decodeTaskMessage((await redis.hgetBuffer(keys.taskKey("default", tasks[0]!.id), "msg"))!);
    expect(msg).toMatchObject({ type: "report:build", queue: "default", retry: 2, timeout: 1800n });
    expect(Buffer.from(msg.payload).toString()).toBe('{"n":1}');

    // History: one event per enqueue, the task's ID, the enqueue time with its sub-second part.
    expect(await history(redis, entry.id)).toEqual([
      { taskId: tasks[0]!.id, score: unixSeconds(first + 120.5), atMs: first + 120.5 },
      { taskId: tasks[1]!.id, score: unixSeconds(first + 5 * MIN + 40), atMs: first + 5 * MIN + 40 },
    ]);
    // The marker lives until the next tick plus the grace for late schedulers.
    const marker = keys.schedulerTickKey("default", entry.identity);
    expect(await redis.get(marker)).toBe(`${unixSeconds(first + 5 * MIN)} ${tasks[1]!.id}`);
    const ttl = await redis.ttl(marker);
    expect(ttl).toBeGreaterThan(5 * 60);
    expect(ttl).toBeLessThanOrEqual(5 * 60 + 60);
  });

  it("fires a tick late by several intervals once, and computes the next one from now (robfig)", async () => {
    const s = testTicker(url, clock);
    const entry = s.add("@every 10s", { type: "t" });
    s.ticker.start();
    // @every counts from the start, truncated to the second: 12:02:30 + 10 s.
    expect(entry.next).toBe(Date.UTC(2030, 0, 1, 12, 2, 40));
    await tickAt(clock, Date.UTC(2030, 0, 1, 12, 3, 15) + 700, s.ticker);
    expect(s.results.map((r) => r.status)).toEqual(["enqueued"]);
    expect(entry.prev).toBe(Date.UTC(2030, 0, 1, 12, 2, 40));
    expect(entry.next).toBe(Date.UTC(2030, 0, 1, 12, 3, 25));
  });

  it("writes scheduled and grouped tasks, and unique ones with their lock", async () => {
    const s = testTicker(url, clock);
    s.add("* * * * *", { type: "later" }, { processIn: 3_600_000 });
    s.add("* * * * *", { type: "grouped", payload: "x" }, { group: "g1" });
    s.add("* * * * *", { type: "once", payload: "p" }, { unique: 10 * MIN });
    s.ticker.start();
    const tick = Date.UTC(2030, 0, 1, 12, 3);
    await tickAt(clock, tick, s.ticker);
    expect(s.results.map((r) => r.status)).toEqual(["enqueued", "enqueued", "enqueued"]);
    expect(await redis.zrange(keys.scheduledKey("default"), 0, -1, "WITHSCORES")).toEqual([
      expect.any(String),
      String(unixSeconds(tick) + 3600),
    ]);
    expect(await redis.zcard(keys.groupKey("default", "g1"))).toBe(1);
    expect(await redis.smembers(keys.allGroupsKey("default"))).toEqual(["g1"]);
    const [id] = await redis.lrange(keys.pendingKey("default"), 0, -1);
    const lock = (await redis.hget(keys.taskKey("default", id!), "unique_key"))!;
    expect(await redis.get(lock)).toBe(id);
    expect(await redis.smembers(keys.ALL_QUEUES)).toEqual(["default"]);

    // The unique task's next tick finds the lock held: a DuplicateTaskError for the error handler.
    await tickAt(clock, tick + MIN, s.ticker);
    expect(s.errors.map((e) => e.name)).toEqual(["DuplicateTaskError"]);
  });
});

describe("several schedulers with one entry", () => {
  it("three schedulers on @every 1s for 10 ticks enqueue exactly 10 tasks", async () => {
    const schedulers = [0, 300, 700].map((offset) => {
      clock.set(T0 + offset);
      const s = testTicker(url, clock);
      const entry = s.add("@every 1s", { type: "heartbeat:emit", payload: "p" });
      s.ticker.start();
      return { ...s, entry };
    });
    // Every scheduler computes the same identity, whatever its process.
    expect(new Set(schedulers.map((s) => s.entry.identity)).size).toBe(1);
    const base = Math.floor(T0 / 1000) * 1000;
    for (let i = 1; i <= 10; i++) {
      // All three at once (concurrent scripts), in a different order each time.
      const order = i % 2 === 0 ? [...schedulers].reverse() : schedulers;
      await tickAt(clock, base + i * 1000 + 5 * i, ...order.map((s) => s.ticker));
    }
    expect(await redis.llen(keys.pendingKey("default"))).toBe(10);
    const statuses = schedulers.flatMap((s) => s.results.map((r) => r.status));
    expect(statuses.filter((s) => s === "enqueued")).toHaveLength(10);
    expect(statuses.filter((s) => s === "already-enqueued")).toHaveLength(20);
    // Each enqueue is in the history of the scheduler that made it, and only there.
    const events = (await Promise.all(schedulers.map((s) => history(redis, s.entry.id)))).flat();
    expect(new Set(events.map((e) => e.taskId))).toEqual(
      new Set(await redis.lrange(keys.pendingKey("default"), 0, -1)),
    );
  });

  it("schedulers started out of phase on @every 3s enqueue one task per 3 s", async () => {
    const started = [0, 1000, 2000].map((offset) => {
      clock.set(T0 + offset);
      const s = testTicker(url, clock);
      s.add("@every 3s", { type: "t" });
      s.ticker.start();
      return s;
    });
    const base = Math.floor(T0 / 1000) * 1000;
    for (let second = 1; second <= 30; second++) {
      await tickAt(clock, base + second * 1000, ...started.map((s) => s.ticker));
    }
    const ticks = started
      .flatMap((s) => s.results)
      .filter((r) => r.status === "enqueued")
      .map((r) => r.tick.getTime() / 1000 - base / 1000)
      .sort((a, b) => a - b);
    expect(ticks).toEqual([3, 6, 9, 12, 15, 18, 21, 24, 27, 30]);
    expect(await redis.llen(keys.pendingKey("default"))).toBe(10);
  });

  it("a late scheduler does not enqueue a tick again after its task was processed and deleted", async () => {
    const a = testTicker(url, clock);
    const b = testTicker(url, clock);
    a.add("0 * * * *", { type: "hourly" });
    b.add("0 * * * *", { type: "hourly" });
    a.ticker.start();
    b.ticker.start();
    const tick = Date.UTC(2030, 0, 1, 13);
    await tickAt(clock, tick, a.ticker);
    // A worker processes it at once; retention 0 deletes the task (so its ID could be reused).
    const [id] = await redis.lrange(keys.pendingKey("default"), 0, -1);
    await redis.del(keys.taskKey("default", id!), keys.pendingKey("default"));
    await tickAt(clock, tick + 45_000, b.ticker);
    expect(b.results.map((r) => r.status)).toEqual(["already-enqueued"]);
    expect(await redis.exists(keys.pendingKey("default"))).toBe(0);
  });

  it("a scheduler lagging a whole tick behind cannot enqueue the older tick", async () => {
    const a = testTicker(url, clock);
    const b = testTicker(url, clock);
    a.add("* * * * *", { type: "m" });
    const late = b.add("* * * * *", { type: "m" });
    a.ticker.start();
    b.ticker.start();
    const first = Date.UTC(2030, 0, 1, 12, 3);
    await tickAt(clock, first, a.ticker);
    await tickAt(clock, first + MIN, a.ticker);
    // b's timer was held up (a paused process): it fires the 12:03 tick now.
    late.next = first;
    await tickAt(clock, first + MIN + 1000, b.ticker);
    expect(b.results.map((r) => [r.status, r.tick.getTime()])).toEqual([["already-enqueued", first]]);
    expect(await redis.llen(keys.pendingKey("default"))).toBe(2);
  });

  it("entries that differ (options, zone, payload) are not the same entry", async () => {
    const s = testTicker(url, clock);
    const ids = [
      s.add("* * * * *", { type: "t" }),
      s.add("* * * * *", { type: "t" }, { maxRetry: 3 }),
      s.add("CRON_TZ=Europe/Paris * * * * *", { type: "t" }),
      s.add("* * * * *", { type: "t", payload: "other" }),
    ].map((e) => e.identity);
    expect(new Set(ids).size).toBe(4);
    // The zone matters to cron specs only.
    const paris = testTicker(url, clock, { location: "Europe/Paris" });
    expect(paris.add("* * * * *", { type: "t" }).identity).not.toBe(ids[0]);
    expect(paris.add("@every 1m", { type: "t" }).identity).toBe(s.add("@every 1m", { type: "t" }).identity);
    s.ticker.remove(s.ticker.list().at(-1)!.id);
    s.ticker.start();
    await tickAt(clock, Date.UTC(2030, 0, 1, 12, 3), s.ticker);
    expect(await redis.llen(keys.pendingKey("default"))).toBe(4);
  });

  it("a re-sent enqueue (its reply was lost) counts as enqueued and writes nothing twice", async () => {
    const broker: Broker = testBroker(url);
    const { request } = resolveTask({ type: "t" }, undefined, clock.now());
    const req = {
      request,
      identity: "abc",
      tickSeconds: 100,
      gapSeconds: 1,
      markerTtlSeconds: 60,
      nowMs: clock.now(),
    };
    expect(await broker.enqueueTick(req)).toBe("enqueued");
    expect(await broker.enqueueTick(req)).toBe("enqueued");
    expect(await redis.llen(keys.pendingKey("default"))).toBe(1);
    // Another task for the same tick is refused.
    const other = resolveTask({ type: "t" }, undefined, clock.now()).request;
    expect(await broker.enqueueTick({ ...req, request: other })).toBe("already-enqueued");
  });
});

describe("failures", () => {
  it("a task ID conflict goes to the error handler; the scheduler goes on", async () => {
    const s = testTicker(url, clock);
    s.add("* * * * *", { type: "fixed" }, { taskId: "the-one" });
    s.ticker.start();
    const tick = Date.UTC(2030, 0, 1, 12, 3);
    await tickAt(clock, tick, s.ticker);
    await tickAt(clock, tick + MIN, s.ticker);
    expect(s.results.map((r) => r.status)).toEqual(["enqueued", "failed"]);
    expect(s.errors).toEqual([expect.any(TaskIdConflictError)]);
    await redis.del(keys.taskKey("default", "the-one"));
    await tickAt(clock, tick + 2 * MIN, s.ticker);
    expect(s.results.map((r) => r.status)).toEqual(["enqueued", "failed", "enqueued"]);
  });

  it("Redis down: the error handler hears it, nothing is recorded, and a later tick enqueues", async () => {
    const proxy = await FaultProxy.start({ target: url });
    try {
      const broker = testBroker(proxy.url(Number(new URL(url).pathname.slice(1))));
      const s = testTicker(url, clock, { commandTimeout: 200, connectTimeout: 200 }, broker);
      const entry = s.add("* * * * *", { type: "t" });
      s.ticker.start();
      const first = Date.UTC(2030, 0, 1, 12, 3);
      await tickAt(clock, first, s.ticker);
      expect(s.results.map((r) => r.status)).toEqual(["enqueued"]);

      proxy.blackhole();
      proxy.cut();
      await tickAt(clock, first + MIN, s.ticker);
      expect(s.results.map((r) => r.status)).toEqual(["enqueued", "failed"]);
      expect(s.errors[0]).toBeInstanceOf(ConnectionError);
      expect(s.logs.some((l) => l.level === "warn" && l.fields.operation === "enqueue")).toBe(true);

      proxy.heal();
      // Retried at the next ticks (the connection comes back within a few of them).
      let minute = 2;
      while (s.results.at(-1)?.status !== "enqueued" && minute < 60) {
        await tickAt(clock, first + minute++ * MIN, s.ticker);
      }
      expect(s.results.at(-1)?.status).toBe("enqueued");
      // Only the enqueues known to have succeeded are in the history. The failed one may still have
      // been written when the connection came back (ioredis sends what it queued), but at most once.
      expect((await history(redis, entry.id)).length).toBe(2);
      const pending = await redis.llen(keys.pendingKey("default"));
      expect(pending === 2 || pending === 3).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it("hooks that throw are logged and do not stop the enqueue", async () => {
    const s = testTicker(url, clock, {
      preEnqueue: () => {
        throw new Error("pre broke");
      },
      postEnqueue: () => Promise.reject(new Error("post broke")),
    });
    s.add("* * * * *", { type: "t" });
    s.ticker.start();
    await tickAt(clock, Date.UTC(2030, 0, 1, 12, 3), s.ticker);
    expect(await redis.llen(keys.pendingKey("default"))).toBe(1);
    expect(s.logs.filter((l) => l.level === "error").map((l) => l.message)).toEqual([
      "asynq: the preEnqueue hook threw: pre broke",
      "asynq: the postEnqueue hook threw: post broke",
    ]);
  });
});
