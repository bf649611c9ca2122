// Ticks missed while no scheduler ran (manual clock, real Redis): skipped by default, as asynq does; with
// `missedTicks: { runOnceWithin }`, the last one is enqueued once at start when it passed within the
// window and no asynq-ts scheduler enqueued it.
import { describe, expect, it } from "vitest";
import * as keys from "../../src/wire/keys.js";
import { useRedisFixture } from "../support/fixture.js";
import { testTicker, tickAt } from "./support.js";

const MIN = 60_000;
/** 12:20:00 on 2030-01-01: the hourly tick at 12:00 passed 20 minutes ago. */
const NOW = Date.UTC(2030, 0, 1, 12, 20);
const HOURLY_TICK = Date.UTC(2030, 0, 1, 12);
const { redis, url, clock } = useRedisFixture({ clock: NOW });

/** Starts the ticker and waits for the enqueues its start made (the run-once of missed ticks). */
async function started(s: ReturnType<typeof testTicker>): Promise<void> {
  s.ticker.start();
  await s.ticker.stop();
  s.ticker.start();
}

describe("cron entries", () => {
  it("skip (the default): nothing is enqueued at start; the next tick is the next hour", async () => {
    const s = testTicker(url, clock);
    const entry = s.add("0 * * * *", { type: "hourly" });
    await started(s);
    expect(s.results).toEqual([]);
    expect(entry.next).toBe(HOURLY_TICK + 60 * MIN);
    expect(await redis.exists(keys.pendingKey("default"))).toBe(0);
  });

  it("runOnceWithin 30 min: the 12:00 tick is enqueued once at 12:20, then ticks go on", async () => {
    const s = testTicker(url, clock, { missedTicks: { runOnceWithin: 30 * MIN } });
    const entry = s.add("0 * * * *", { type: "hourly" });
    await started(s);
    expect(s.results.map((r) => [r.status, r.tick.getTime()])).toEqual([["enqueued", HOURLY_TICK]]);
    expect(entry.prev).toBe(HOURLY_TICK);
    await tickAt(clock, HOURLY_TICK + 60 * MIN, s.ticker);
    expect(await redis.llen(keys.pendingKey("default"))).toBe(2);
  });

  it("runOnceWithin 10 min: a tick 20 minutes old is not made up", async () => {
    const s = testTicker(url, clock, { missedTicks: { runOnceWithin: 10 * MIN } });
    s.add("0 * * * *", { type: "hourly" });
    await started(s);
    expect(s.results).toEqual([]);
  });

  it("a tick another scheduler enqueued is not made up; two starting schedulers make it up once", async () => {
    const running = testTicker(url, clock);
    running.add("0 * * * *", { type: "hourly" });
    clock.set(HOURLY_TICK - 1000);
    running.ticker.start();
    await tickAt(clock, HOURLY_TICK, running.ticker);
    clock.set(NOW);
    const late = testTicker(url, clock, { missedTicks: { runOnceWithin: 30 * MIN } });
    late.add("0 * * * *", { type: "hourly" });
    await started(late);
    expect(late.results.map((r) => r.status)).toEqual(["already-enqueued"]);
    expect(await redis.llen(keys.pendingKey("default"))).toBe(1);

    const daily = [1, 2].map(() => {
      const s = testTicker(url, clock, { missedTicks: { runOnceWithin: 24 * 60 * MIN } });
      s.add("0 6 * * *", { type: "daily" });
      return s;
    });
    await Promise.all(daily.map(started));
    expect(daily.flatMap((s) => s.results.map((r) => r.status)).sort()).toEqual([
      "already-enqueued",
      "enqueued",
    ]);
  });
});

describe("@every entries", () => {
  it("made up at start when overdue within the window, and only when the entry ran before", async () => {
    const window = { missedTicks: { runOnceWithin: 2 * MIN } };
    // Never ran: nothing to make up.
    const fresh = testTicker(url, clock, window);
    fresh.add("@every 1m", { type: "e" });
    await started(fresh);
    expect(fresh.results).toEqual([]);
    expect(await redis.exists(keys.pendingKey("default"))).toBe(0);
    await fresh.ticker.stop();

    // Ran once at 12:21, then stopped (its process died).
    const first = testTicker(url, clock, window);
    first.add("@every 1m", { type: "e" });
    first.ticker.start();
    await tickAt(clock, NOW + MIN, first.ticker);
    await first.ticker.stop();
    expect(await redis.llen(keys.pendingKey("default"))).toBe(1);

    // Started 30 s later: the next tick is not due yet, nothing is made up.
    clock.set(NOW + MIN + 30_000);
    const early = testTicker(url, clock, window);
    early.add("@every 1m", { type: "e" });
    await started(early);
    await early.ticker.stop();
    expect(await redis.llen(keys.pendingKey("default"))).toBe(1);

    // Started 90 s later: the 12:22 tick is overdue by 30 s: enqueued at once.
    clock.set(NOW + MIN + 90_000);
    const late = testTicker(url, clock, window);
    late.add("@every 1m", { type: "e" });
    await started(late);
    expect(late.results.map((r) => r.status)).toEqual(["enqueued"]);
    expect(await redis.llen(keys.pendingKey("default"))).toBe(2);
  });
});
