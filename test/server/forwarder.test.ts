// The Forwarder on a real Redis: due scheduled and retry tasks reach pending or their group with the
// exact hash fields of wire-format §4.16, in score order and in batches; timing close to a task's second;
// one cheap round trip a second when idle; outages logged once and survived.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { describe, expect, it, onTestFinished } from "vitest";
import { Client } from "../../src/client/client.js";
import { forwardDue, type ForwardResult } from "../../src/broker/upkeep/forward.js";
import { LuaScript, runScript } from "../../src/broker/scripts.js";
import { systemClock, unixNanos, unixSeconds } from "../../src/internal/clock.js";
import type { ForwardPort } from "../../src/broker/ports.js";
import { Forwarder, type ForwarderParams } from "../../src/server/forwarder.js";
import * as keys from "../../src/wire/keys.js";
import { encodeTaskMessage, newTaskMessage } from "../../src/wire/proto.js";
import { useRedisFixture } from "../support/fixture.js";
import { testDb } from "../support/redis.js";
import { countCommands, sleep } from "../support/server-helpers.js";
import { collectingLogger, deferred, waitFor, type LogLine } from "../support/server.js";

const Q = "default";
/** A fixed "now" with a sub-second part (and a sub-millisecond one) to catch rounding mistakes. */
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0) + 250.5;
const NOW_S = unixSeconds(NOW);

const { redis, clock } = useRedisFixture({ clock: NOW });

/** The real broker functions behind the forwarder's interface. */
const realBroker = (): ForwardPort => ({
  forwardDue: (queues, nowMs) => forwardDue(redis, queues, nowMs),
});

/** A forwarder on the manual clock with a collecting logger, shut down after the test. */
function forwarder(params: Partial<ForwarderParams> = {}): { forwarder: Forwarder; logs: LogLine[] } {
  const { logger, lines } = collectingLogger();
  const fw = new Forwarder({ broker: realBroker(), clock, logger, queues: [Q], ...params });
  onTestFinished(() => fw.shutdown());
  return { forwarder: fw, logs: lines };
}

/** The encoded msg of a task, as a Go client writes it. */
function msgBytes(queue: string, id: string): Buffer {
  return Buffer.from(encodeTaskMessage(newTaskMessage({ type: "t", id, queue, retry: 25, timeout: 1800n })));
}

/** Writes a task into `scheduled` or `retry` with score `scoreS`, as Go does (no `pending_since`). */
async function seed(
  source: "scheduled" | "retry",
  scoreS: number,
  { queue = Q, id = randomUUID(), group }: { queue?: string; id?: string; group?: string } = {},
): Promise<string> {
  const fields: Record<string, string | Buffer> = { msg: msgBytes(queue, id), state: source };
  if (group !== undefined) fields.group = group;
  await redis.hset(keys.taskKey(queue, id), fields);
  await redis.zadd(keys.stateKey(queue, source), scoreS, id);
  return id;
}

/** The task hash as strings, without `msg`. */
async function fieldsOf(queue: string, id: string): Promise<Record<string, string>> {
  const { msg: _msg, ...rest } = await redis.hgetall(keys.taskKey(queue, id));
  return rest;
}

/** Pending IDs in dequeue order (the tail of the list first). */
async function pendingInDequeueOrder(queue = Q): Promise<string[]> {
  return (await redis.lrange(keys.pendingKey(queue), 0, -1)).reverse();
}

/**
 * Waits until MONITOR has reported every command sent so far (its feed lags behind the replies), by
 * sending a marker command and waiting for it; then stops the monitor and forgets the marker.
 */
async function monitorCaughtUp(monitor: Awaited<ReturnType<typeof countCommands>>): Promise<void> {
  await redis.echo("monitor marker");
  await waitFor(() => monitor.counts.has("echo"), "the MONITOR feed to catch up");
  monitor.stop();
  monitor.counts.delete("echo");
}

describe("forwarding due tasks", () => {
  it("moves due scheduled and retry tasks to pending with state and pending_since (ns); later ones stay", async () => {
    const dueScheduled = await seed("scheduled", NOW_S);
    const dueRetry = await seed("retry", NOW_S - 30);
    const laterScheduled = await seed("scheduled", NOW_S + 1);
    const laterRetry = await seed("retry", NOW_S + 60);
    const { forwarder: fw } = forwarder();

    expect(await fw.runOnce()).toBe(2);

    expect(await pendingInDequeueOrder()).toEqual([dueScheduled, dueRetry]);
    for (const id of [dueScheduled, dueRetry]) {
      expect(await fieldsOf(Q, id)).toEqual({ state: "pending", pending_since: unixNanos(NOW) });
      expect(await redis.hgetBuffer(keys.taskKey(Q, id), "msg")).toEqual(msgBytes(Q, id));
    }
    expect(await redis.zrange(keys.scheduledKey(Q), 0, -1)).toEqual([laterScheduled]);
    expect(await redis.zrange(keys.retryKey(Q), 0, -1)).toEqual([laterRetry]);
    expect(await fieldsOf(Q, laterScheduled)).toEqual({ state: "scheduled" });
    expect(await fieldsOf(Q, laterRetry)).toEqual({ state: "retry" });

    clock.advance(1000);
    expect(await fw.runOnce()).toBe(1);
    expect(await pendingInDequeueOrder()).toEqual([dueScheduled, dueRetry, laterScheduled]);
    expect(await fieldsOf(Q, laterScheduled)).toEqual({
      state: "pending",
      pending_since: unixNanos(NOW + 1000),
    });
  });

  it("pushes the oldest score first, scheduled before retry, so workers take them in that order", async () => {
    const scores = [NOW_S - 3, NOW_S - 50, NOW_S, NOW_S - 7, NOW_S - 1];
    const scheduled = await Promise.all(scores.map((s) => seed("scheduled", s).then((id) => ({ id, s }))));
    const retry = await seed("retry", NOW_S - 1000);
    const { forwarder: fw } = forwarder();

    await fw.runOnce();

    const byScore = scheduled.sort((a, b) => a.s - b.s).map((t) => t.id);
    expect(await pendingInDequeueOrder()).toEqual([...byScore, retry]);
  });

  it("moves more than one batch (100) of due tasks in one run", async () => {
    const pipeline = redis.pipeline();
    const ids: string[] = [];
    for (let i = 0; i < 380; i++) {
      const id = `task-${i}`;
      const source = i < 250 ? "scheduled" : "retry";
      pipeline.hset(keys.taskKey(Q, id), { msg: msgBytes(Q, id), state: source });
      pipeline.zadd(keys.stateKey(Q, source), NOW_S - 1000 + i, id);
      ids.push(id);
    }
    await pipeline.exec();
    const { forwarder: fw } = forwarder();
    await redis.script("LOAD", LuaScript.fromFile("upkeep/forward").source); // no NOSCRIPT retry in the count
    const monitor = await countCommands(redis, testDb());

    const moved = await fw.runOnce();
    await monitorCaughtUp(monitor);

    expect(moved).toBe(380);
    expect(await pendingInDequeueOrder()).toEqual(ids);
    expect(await redis.exists(keys.scheduledKey(Q), keys.retryKey(Q))).toBe(0);
    // 250 scheduled in 3 script calls and 130 retry in 2: at most 100 per call.
    // A SCRIPT FLUSH by another test file turns an EVALSHA into EVALSHA (NOSCRIPT) + EVAL.
    expect((monitor.counts.get("evalsha") ?? 0) - (monitor.counts.get("eval") ?? 0)).toBe(5);
    const states = await Promise.all(ids.map((id) => redis.hget(keys.taskKey(Q, id), "state")));
    expect(new Set(states)).toEqual(new Set(["pending"]));
  });

  it("sends a task whose hash has a group back into g:<group> (state aggregating) and adds the group to `groups`", async () => {
    const grouped = await seed("retry", NOW_S - 5, { group: "batch:1" });
    const plain = await seed("retry", NOW_S - 4);
    const { forwarder: fw } = forwarder();

    expect(await fw.runOnce()).toBe(2);

    expect(await redis.zrange(keys.groupKey(Q, "batch:1"), 0, -1, "WITHSCORES")).toEqual([
      grouped,
      `${NOW_S}`,
    ]);
    expect(await redis.smembers(keys.allGroupsKey(Q))).toEqual(["batch:1"]);
    expect(await fieldsOf(Q, grouped)).toEqual({ state: "aggregating", group: "batch:1" });
    expect(await pendingInDequeueOrder()).toEqual([plain]);
    expect(await redis.exists(keys.retryKey(Q))).toBe(0);
  });

  it("sends a task enqueued with group and processIn to pending, as Go does (§9.1: Schedule writes no group field)", async () => {
    const client = new Client(redis, { clock });
    const info = await client.enqueue(
      { type: "t", payload: null },
      { queue: Q, group: "g", processIn: 30_000 },
    );
    await client.close();
    expect(await redis.zscore(keys.scheduledKey(Q), info.id)).toBe(`${unixSeconds(NOW + 30_000)}`);
    const { forwarder: fw } = forwarder();

    clock.advance(30_000);
    expect(await fw.runOnce()).toBe(1);

    expect(await pendingInDequeueOrder()).toEqual([info.id]);
    expect(await fieldsOf(Q, info.id)).toEqual({ state: "pending", pending_since: unixNanos(NOW + 30_000) });
    expect(await redis.exists(keys.groupKey(Q, "g"), keys.allGroupsKey(Q))).toBe(0);
  });

  it("drops an ID without a task hash from scheduled, logs it, and creates no hash", async () => {
    const dangling = "no-such-task";
    await redis.zadd(keys.scheduledKey(Q), NOW_S - 2, dangling);
    const after = await seed("scheduled", NOW_S - 1);
    const { forwarder: fw, logs } = forwarder();

    expect(await fw.runOnce()).toBe(1);

    expect(await redis.exists(keys.taskKey(Q, dangling))).toBe(0);
    expect(await redis.exists(keys.scheduledKey(Q))).toBe(0);
    expect(await pendingInDequeueOrder()).toEqual([after]);
    expect(logs.filter((l) => l.level === "warn").map((l) => l.message)).toEqual([
      expect.stringContaining(`"${dangling}"`),
    ]);
  });

  it("forwards every listed queue, in one check", async () => {
    const a = await seed("scheduled", NOW_S, { queue: "a" });
    const b = await seed("retry", NOW_S, { queue: "b" });
    const notListed = await seed("scheduled", NOW_S, { queue: "c" });
    const { forwarder: fw } = forwarder({ queues: ["a", "b"] });

    expect(await fw.runOnce()).toBe(2);

    expect(await pendingInDequeueOrder("a")).toEqual([a]);
    expect(await pendingInDequeueOrder("b")).toEqual([b]);
    expect(await redis.zrange(keys.scheduledKey("c"), 0, -1)).toEqual([notListed]);
  });
});

describe("the forward script re-verifies what the caller read", () => {
  const script = LuaScript.fromFile("upkeep/forward");
  const call = (ids: Array<[string, string]>, nowS = NOW_S): Promise<unknown> =>
    runScript(
      redis,
      script,
      [
        keys.scheduledKey(Q),
        keys.pendingKey(Q),
        keys.allGroupsKey(Q),
        ...ids.flatMap(([id, group]) => [
          keys.taskKey(Q, id),
          ...(group === "" ? [] : [keys.groupKey(Q, group)]),
        ]),
      ],
      [nowS, unixNanos(nowS * 1000), ...ids.flat()],
    );

  it("stops at a candidate whose group field is not what the caller read", async () => {
    const first = await seed("scheduled", NOW_S - 3);
    const regrouped = await seed("scheduled", NOW_S - 2, { group: "g" });
    const last = await seed("scheduled", NOW_S - 1);

    expect(
      await call([
        [first, ""],
        [regrouped, ""],
        [last, ""],
      ]),
    ).toEqual([1, []]);

    expect(await pendingInDequeueOrder()).toEqual([first]);
    expect(await redis.zrange(keys.scheduledKey(Q), 0, -1)).toEqual([regrouped, last]);
    expect(await redis.exists(keys.groupKey(Q, "g"))).toBe(0);
  });

  it("stops at a candidate that is no longer in the source or not due yet", async () => {
    const gone = await seed("scheduled", NOW_S - 3);
    await redis.zrem(keys.scheduledKey(Q), gone);
    const later = await seed("scheduled", NOW_S + 5);
    const due = await seed("scheduled", NOW_S - 1);

    expect(
      await call([
        [gone, ""],
        [due, ""],
      ]),
    ).toEqual([0, []]);
    expect(
      await call([
        [later, ""],
        [due, ""],
      ]),
    ).toEqual([0, []]);
    expect(await call([[due, ""]])).toEqual([1, []]);
    expect(await pendingInDequeueOrder()).toEqual([due]);
    expect(await fieldsOf(Q, gone)).toEqual({ state: "scheduled" });
  });
});

describe("timing", () => {
  it("with the real clock, forwards a task scheduled 1.5 s ahead within moments of its second", async () => {
    const at = Date.now() + 1500;
    const dueAt = unixSeconds(at) * 1000; // the score's second: the earliest a Go server moves it too
    const id = await seed("scheduled", unixSeconds(at));
    const { forwarder: fw } = forwarder({ clock: systemClock });

    fw.start();
    await waitFor(async () => (await redis.llen(keys.pendingKey(Q))) === 1, "the task in pending", {
      timeoutMs: 4000,
      intervalMs: 5,
    });

    const movedAt = Number(
      BigInt(await redis.hget(keys.taskKey(Q, id), "pending_since").then(String)) / 1_000_000n,
    );
    expect(movedAt).toBeGreaterThanOrEqual(dueAt);
    expect(movedAt).toBeGreaterThan(at - 1000);
    // Aligned to the second boundary: well under asynq's 5 s, and under the 1 s a plain 1 s timer could take.
    expect(movedAt - dueAt).toBeLessThan(500);
    expect(movedAt).toBeLessThan(at + 1000);
  });

  it("when nothing is due, checks once a second with one pipelined ZRANGEBYSCORE per queue and source", async () => {
    await seed("scheduled", unixSeconds(Date.now()) + 3600);
    const { forwarder: fw } = forwarder({ clock: systemClock, queues: ["a", "b"] });
    const monitor = await countCommands(redis, testDb());

    fw.start();
    await sleep(3100); // the behaviour under test is the rate over time
    await fw.shutdown();
    await monitorCaughtUp(monitor);

    expect([...monitor.counts.keys()]).toEqual(["zrangebyscore"]);
    const checks = monitor.counts.get("zrangebyscore")! / 4; // 2 queues x (scheduled, retry)
    expect(Number.isInteger(checks)).toBe(true);
    expect(checks).toBeGreaterThanOrEqual(2);
    expect(checks).toBeLessThanOrEqual(4);
  });

  it("runs again after a fixed interval when one is given", async () => {
    const id = await seed("scheduled", NOW_S + 10);
    const { forwarder: fw } = forwarder({ interval: 10 });

    fw.start();
    await sleep(30); // several checks, none of which may move the task yet
    expect(await redis.zrange(keys.scheduledKey(Q), 0, -1)).toEqual([id]);
    clock.advance(10_000);
    await waitFor(async () => (await pendingInDequeueOrder()).length === 1, "the task in pending");
  });
});

describe("component shape", () => {
  it("logs an outage once at error level, the repeats at debug, and forwards again once Redis is back", async () => {
    // A connection to a port nobody listens on fails every command at once, as during an outage.
    const dead = new Redis({
      port: 1,
      lazyConnect: true,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    dead.on("error", () => {});
    let down = true;
    const broker: ForwardPort = {
      forwardDue: (queues, nowMs) => forwardDue(down ? dead : redis, queues, nowMs),
    };
    const id = await seed("retry", NOW_S);
    const { forwarder: fw, logs } = forwarder({ broker, interval: 5 });

    fw.start();
    await waitFor(() => logs.filter((l) => l.level === "debug").length >= 3, "repeated failures");
    expect(logs.filter((l) => l.level === "error")).toHaveLength(1);
    expect(logs.filter((l) => l.level === "warn")).toHaveLength(0);
    down = false;

    await waitFor(
      async () => (await pendingInDequeueOrder()).includes(id),
      "the task forwarded after the outage",
    );
    await waitFor(
      () => logs.some((l) => l.level === "info" && l.message.includes("working again")),
      "recovery log",
    );
    expect(logs.filter((l) => l.level === "error")).toHaveLength(1);
    dead.disconnect();
  });

  it("reports a failing queue and still forwards the others", async () => {
    await redis.set(keys.scheduledKey("broken"), "not a zset");
    const ok = await seed("scheduled", NOW_S, { queue: "ok" });
    const { forwarder: fw, logs } = forwarder({ queues: ["broken", "ok"] });

    expect(await fw.runOnce()).toBe(1);

    expect(await pendingInDequeueOrder("ok")).toEqual([ok]);
    expect(logs.filter((l) => l.level === "error").map((l) => l.message)).toEqual([
      expect.stringMatching(/queue "broken": WRONGTYPE/),
    ]);
  });

  it("shutdown clears the timer and waits for the check in progress", async () => {
    const release = deferred();
    let calls = 0;
    const broker: ForwardPort = {
      forwardDue: async (): Promise<ForwardResult> => {
        calls++;
        await release.promise;
        return { moved: 0, dangling: [], failed: [] };
      },
    };
    const { forwarder: fw } = forwarder({ broker, interval: 5 });
    fw.start();
    await waitFor(() => calls === 1, "a check in progress");

    let finished = false;
    const shutdown = fw.shutdown().then(() => (finished = true));
    await sleep(20);
    expect(finished).toBe(false);
    release.resolve();
    await shutdown;
    await sleep(30);
    expect(calls).toBe(1);
  });

  it("runOnce joins a check in progress instead of starting a second one", async () => {
    const release = deferred();
    let calls = 0;
    const broker: ForwardPort = {
      forwardDue: async (): Promise<ForwardResult> => {
        calls++;
        await release.promise;
        return { moved: 3, dangling: [], failed: [] };
      },
    };
    const { forwarder: fw } = forwarder({ broker });
    const first = fw.runOnce();
    const second = fw.runOnce();
    release.resolve();
    expect(await Promise.all([first, second])).toEqual([3, 3]);
    expect(calls).toBe(1);
  });

  it("rejects a non-positive interval", () => {
    expect(() => forwarder({ interval: 0 })).toThrow(Error);
  });
});
