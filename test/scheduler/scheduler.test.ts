// The public Scheduler on a real Redis with real timers: its entries, heartbeat and history are what
// the Inspector (and Go's tools, which read the same records) list; shutdown removes them as asynq
// does; bad input is refused at register with a ValidationError naming the field.
import { afterAll, describe, expect, it, onTestFinished } from "vitest";
import { AsynqError, ConnectionError, ValidationError } from "../../src/errors.js";
import { unixSeconds } from "../../src/internal/clock.js";
import { Scheduler } from "../../src/scheduler/scheduler.js";
import type { SchedulerOptions, TickResult } from "../../src/scheduler/options.js";
import * as keys from "../../src/wire/keys.js";
import { useRedisFixture } from "../support/fixture.js";
import { collectingLogger, waitFor } from "../support/server.js";

const { redis, url, inspector } = useRedisFixture({ inspector: true });

/** A scheduler on the test DB with a quick heartbeat and collected logs, shut down after the test. */
function scheduler(options: SchedulerOptions = {}): { scheduler: Scheduler; results: TickResult[] } {
  const results: TickResult[] = [];
  const { logger } = collectingLogger();
  const s = new Scheduler(url, {
    heartbeatInterval: 100,
    logger,
    logLevel: "debug",
    postEnqueue: (r) => void results.push(r),
    ...options,
  });
  onTestFinished(() => s.shutdown());
  return { scheduler: s, results };
}

describe("entries that Go's tools and the Inspector list", () => {
  it("writes the entries at start: spec, type, payload, option strings, next and prev", async () => {
    const { scheduler: s } = scheduler();
    const id = s.register(
      "CRON_TZ=America/New_York 0 9 * * 1-5",
      { type: "standup:remind", payload: { team: "core" } },
      { queue: "critical", maxRetry: 3, timeout: 90_000, unique: 3_600_000 },
    );
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(s.id).toMatch(new RegExp(`^.+:${process.pid}:[0-9a-f-]{36}$`));
    const before = Date.now();
    await s.start();
    const entries = await waitFor(async () => {
      const list = await inspector.listSchedulerEntries();
      return list.length > 0 ? list : undefined;
    }, "the entries");
    expect(entries).toEqual([
      {
        id,
        schedulerId: s.id,
        spec: "CRON_TZ=America/New_York 0 9 * * 1-5",
        taskType: "standup:remind",
        payload: new Uint8Array(Buffer.from('{"team":"core"}')),
        options: [
          { kind: "Queue", value: "critical" },
          { kind: "MaxRetry", value: 3 },
          { kind: "Timeout", ms: 90_000 },
          { kind: "Unique", ms: 3_600_000 },
        ],
        rawOptions: ['Queue("critical")', "MaxRetry(3)", "Timeout(1m30s)", "Unique(1h0m0s)"],
        next: expect.any(Date) as Date,
        prev: null,
      },
    ]);
    const next = entries[0]!.next!;
    expect(next.getTime()).toBeGreaterThan(before);
    expect(next.getUTCMinutes()).toBe(0);
    // The list lives twice the heartbeat (whole seconds, at least 1); the registry score is its expiry.
    const key = keys.schedulerEntriesKey(s.id);
    expect(await redis.ttl(key)).toBe(1);
    const score = Number(await redis.zscore(keys.ALL_SCHEDULERS, key));
    expect(score).toBeGreaterThanOrEqual(unixSeconds(before) + 1);
  });

  it("enqueues @every 1s, lists the history, shows prev, and removes all but the tasks at shutdown", async () => {
    const { scheduler: s, results } = scheduler();
    const id = s.register("@every 1s", { type: "tick", payload: "p" }, { queue: "default" });
    await s.start();
    await waitFor(() => results.length >= 2, "two ticks", { timeoutMs: 10_000 });
    expect(results.slice(0, 2).map((r) => r.status)).toEqual(["enqueued", "enqueued"]);
    const events = await inspector.listSchedulerEnqueueEvents(id);
    // Read after the listing: a tick's event is recorded just before its postEnqueue hook runs.
    const taskIds = results.flatMap((r) => (r.status === "enqueued" ? [r.info.id] : []));
    expect(events.length).toBeGreaterThanOrEqual(2);
    // Newest first.
    expect(events.map((e) => e.taskId)).toEqual(taskIds.slice(0, events.length).reverse());
    const listed = await waitFor(async () => {
      const [e] = await inspector.listSchedulerEntries();
      return e?.prev !== null ? e : undefined;
    }, "prev to be written");
    expect(listed.prev!.getTime() % 1000).toBe(0);
    expect(listed.next!.getTime() - listed.prev!.getTime()).toBeGreaterThanOrEqual(1000);

    await s.shutdown();
    expect(await redis.exists(keys.schedulerEntriesKey(s.id), keys.schedulerHistoryKey(id))).toBe(0);
    expect(await redis.zcard(keys.ALL_SCHEDULERS)).toBe(0);
    expect(await redis.llen(keys.pendingKey("default"))).toBeGreaterThanOrEqual(2);
    expect(await inspector.listSchedulerEntries()).toEqual([]);
  });

  it("register and unregister on a running scheduler rewrite the entries; unregister deletes the history", async () => {
    const { scheduler: s } = scheduler({ heartbeatInterval: 60_000 });
    const a = s.register("@hourly", { type: "a" });
    await s.start();
    await waitFor(async () => (await inspector.listSchedulerEntries()).length === 1, "one entry");
    const b = s.register("@daily", { type: "b" });
    await waitFor(async () => (await inspector.listSchedulerEntries()).length === 2, "two entries");
    await redis.zadd(keys.schedulerHistoryKey(a), 1, "x");
    expect(s.unregister(a)).toBe(true);
    expect(s.unregister(a)).toBe(false);
    await waitFor(async () => {
      const list = await inspector.listSchedulerEntries();
      return list.length === 1 && list[0]!.id === b;
    }, "only b");
    await waitFor(async () => (await redis.exists(keys.schedulerHistoryKey(a))) === 0, "a's history gone");
    expect(s.entryIds()).toEqual([b]);
  });
});

describe("bad input", () => {
  const s = new Scheduler(url, { logLevel: "silent" });
  afterAll(() => s.shutdown());

  it.each([
    ["an invalid spec", "61 * * * *", { type: "t" }, undefined, "cronspec", "minute field"],
    ["six fields", "0 0 0 * * *", { type: "t" }, undefined, "cronspec", "seconds are not supported"],
    [
      "an unknown zone",
      "CRON_TZ=Nowhere/Land @daily",
      { type: "t" },
      undefined,
      "cronspec",
      "unknown time zone",
    ],
    ["a blank task type", "@daily", { type: " " }, undefined, "task.type", "cannot be empty"],
    ["a blank queue", "@daily", { type: "t" }, { queue: "" }, "options.queue", "cannot be empty"],
    ["a negative maxRetry", "@daily", { type: "t" }, { maxRetry: -1 }, "options.maxRetry", "integer"],
    ["a timeout under 1 s", "@daily", { type: "t" }, { timeout: 10 }, "options.timeout", "less than"],
    ["an unknown option", "@daily", { type: "t" }, { color: "red" }, "options.color", "unknown option"],
    [
      "a bad task option",
      "@daily",
      { type: "t", options: { queue: "a}b" } },
      undefined,
      "task.options.queue",
      "hash tag",
    ],
  ])("%s", (_what, spec, task, options, field, reason) => {
    let error: unknown;
    try {
      s.register(spec, task, options as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
    expect((error as ValidationError).message).toContain(reason);
    if (field === "cronspec") expect((error as ValidationError).message).toContain(JSON.stringify(spec));
    expect(s.entryIds()).toEqual([]);
  });

  it("invalid options are refused by the constructor", () => {
    expect(() => new Scheduler(url, { location: "Atlantis/Capital" })).toThrow(/options\.location/);
    expect(() => new Scheduler(url, { heartbeatInterval: 0 })).toThrow(/options\.heartbeatInterval/);
    expect(() => new Scheduler(url, { missedTicks: "catch-up" as never })).toThrow(/options\.missedTicks/);
    expect(() => new Scheduler(url, { missedTicks: { runOnceWithin: 10 } })).toThrow(/runOnceWithin/);
    expect(() => new Scheduler(url, { preEnqueue: 1 as never })).toThrow(/options\.preEnqueue/);
    expect(() => new Scheduler(url, { colour: 1 } as never)).toThrow(/options\.colour/);
    expect(() => new Scheduler("http://x", {})).toThrow(ValidationError);
  });

  it("start fails with a ConnectionError when Redis cannot be reached, and may be called again", async () => {
    const down = new Scheduler("redis://127.0.0.1:1", { logLevel: "silent", connectTimeout: 200 });
    onTestFinished(() => down.shutdown());
    await expect(down.start()).rejects.toBeInstanceOf(ConnectionError);
    await expect(down.start()).rejects.toBeInstanceOf(ConnectionError);
  });

  it("a scheduler cannot start twice, nor register after shutdown", async () => {
    const { scheduler: one } = scheduler();
    await one.start();
    await expect(one.start()).rejects.toMatchObject({ code: "ERR_SCHEDULER_STATE" });
    await one.shutdown();
    expect(() => one.register("@daily", { type: "t" })).toThrow(AsynqError);
    await one.shutdown(); // twice is fine
  });
});
