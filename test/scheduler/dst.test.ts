// Time zones and daylight saving time, on a manual clock and a real Redis: an America/New_York entry
// fires at the right instants across both changes of 2030 (EST -> EDT on Sunday March 10 at 02:00,
// EDT -> EST on Sunday November 3 at 02:00). A daily job runs once a day, at the first valid time when
// its time falls in the skipped hour, once when its time occurs twice; an hourly job skips the hour
// that does not exist and runs in both hours that occur twice (docs/compatibility.md).
import { describe, expect, it } from "vitest";
import type { ManualClock } from "../../src/internal/clock.js";
import type { Entry } from "../../src/scheduler/entry.js";
import * as keys from "../../src/wire/keys.js";
import { useRedisFixture } from "../support/fixture.js";
import { testTicker, type TestTicker } from "./support.js";

const { redis, url, clock } = useRedisFixture({ clock: Date.UTC(2030, 0, 1) });

/**
 * Starts the entry at `fromIso`, then moves the clock to each next tick in turn (as the timer would)
 * `n` times; returns the instants of the ticks enqueued, in UTC.
 */
async function fire(
  c: ManualClock,
  spec: string,
  fromIso: string,
  n: number,
  location?: string,
): Promise<string[]> {
  c.set(Date.parse(fromIso));
  const s: TestTicker = testTicker(url, c, location === undefined ? {} : { location });
  const entry: Entry = s.add(spec, { type: "tz:job" });
  s.ticker.start();
  for (let i = 0; i < n; i++) {
    c.set(entry.next!);
    await s.ticker.runDue();
  }
  expect(s.results.every((r) => r.status === "enqueued")).toBe(true);
  expect(await redis.llen(keys.pendingKey("default"))).toBe(n);
  return s.results.map((r) => r.tick.toISOString());
}

describe("America/New_York, spring forward (March 10, 2030)", () => {
  it("09:00 every day: 14:00 UTC before the change, 13:00 UTC after", async () => {
    expect(await fire(clock, "CRON_TZ=America/New_York 0 9 * * *", "2030-03-08T12:00:00Z", 4)).toEqual([
      "2030-03-08T14:00:00.000Z",
      "2030-03-09T14:00:00.000Z",
      "2030-03-10T13:00:00.000Z",
      "2030-03-11T13:00:00.000Z",
    ]);
  });

  it("02:30 every day (the scheduler's location): on the day of the change, at 03:00 EDT, once", async () => {
    expect(await fire(clock, "30 2 * * *", "2030-03-09T00:00:00Z", 3, "America/New_York")).toEqual([
      "2030-03-09T07:30:00.000Z", // 02:30 EST
      "2030-03-10T07:00:00.000Z", // 02:30 does not exist: 03:00 EDT
      "2030-03-11T06:30:00.000Z", // 02:30 EDT
    ]);
  });

  it("every hour: 01:00 EST, then 03:00 EDT (02:00 does not exist)", async () => {
    expect(await fire(clock, "TZ=America/New_York 0 * * * *", "2030-03-10T05:30:00Z", 3)).toEqual([
      "2030-03-10T06:00:00.000Z",
      "2030-03-10T07:00:00.000Z",
      "2030-03-10T08:00:00.000Z",
    ]);
  });
});

describe("America/New_York, fall back (November 3, 2030)", () => {
  it("01:30 every day: once on the day 01:30 occurs twice (the first, EDT)", async () => {
    expect(await fire(clock, "CRON_TZ=America/New_York 30 1 * * *", "2030-11-02T00:00:00Z", 3)).toEqual([
      "2030-11-02T05:30:00.000Z", // 01:30 EDT
      "2030-11-03T05:30:00.000Z", // 01:30 EDT; not again at 01:30 EST
      "2030-11-04T06:30:00.000Z", // 01:30 EST
    ]);
  });

  it("every hour: both 01:00 (EDT, then EST), then 02:00 EST", async () => {
    expect(await fire(clock, "CRON_TZ=America/New_York 0 * * * *", "2030-11-03T04:30:00Z", 3)).toEqual([
      "2030-11-03T05:00:00.000Z",
      "2030-11-03T06:00:00.000Z",
      "2030-11-03T07:00:00.000Z",
    ]);
  });

  it("09:00 every day: 13:00 UTC before the change, 14:00 UTC after", async () => {
    expect(await fire(clock, "0 9 * * *", "2030-11-01T12:00:00Z", 4, "America/New_York")).toEqual([
      "2030-11-01T13:00:00.000Z",
      "2030-11-02T13:00:00.000Z",
      "2030-11-03T14:00:00.000Z",
      "2030-11-04T14:00:00.000Z",
    ]);
  });
});
