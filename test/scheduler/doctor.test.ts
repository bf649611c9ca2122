// The doctor knows every key a scheduler writes: the entries list and its registry member, the enqueue
// history, and asynq-ts's tick marker (which must expire: one found without a TTL is given one).
import { describe, expect, it } from "vitest";
import { classifyKey } from "../../src/doctor/classify.js";
import { SchedulerHeartbeat } from "../../src/scheduler/heartbeat.js";
import * as keys from "../../src/wire/keys.js";
import { audit, expectIssues, expectRepaired } from "../doctor/support.js";
import { useRedisFixture } from "../support/fixture.js";
import { collectingLogger } from "../support/server.js";
import { testBroker, testTicker, tickAt } from "./support.js";

const { redis, url, clock } = useRedisFixture({ clock: Date.now });

/** A scheduler that ran one tick and wrote its entries; returns the entry's marker key. */
async function ranOneTick(): Promise<string> {
  const broker = testBroker(url);
  const s = testTicker(url, clock, {}, broker);
  const entry = s.add("@every 1s", { type: "t" }, { queue: "critical" });
  s.ticker.start();
  await tickAt(clock, entry.next!, s.ticker);
  expect(s.results.map((r) => r.status)).toEqual(["enqueued"]);
  const heartbeat = new SchedulerHeartbeat({
    broker,
    clock,
    logger: collectingLogger().logger,
    schedulerId: "host:1:abc",
    interval: 10_000,
    entries: () => s.ticker.list(),
  });
  heartbeat.start();
  await heartbeat.beat();
  expect(await redis.exists(keys.schedulerEntriesKey("host:1:abc"), keys.schedulerHistoryKey(entry.id))).toBe(
    2,
  );
  return keys.schedulerTickKey("critical", entry.identity);
}

describe("scheduler keys", () => {
  it("classifies the tick marker as a per-queue key of asynq-ts", () => {
    expect(classifyKey("asynq:{critical}:scheduler_tick:ab12", new Set(["critical"]))).toEqual({
      scope: "queue",
      queue: "critical",
      kind: "scheduler-tick",
      type: "string",
      name: "ab12",
    });
  });

  it("a running scheduler's keys audit clean", async () => {
    const marker = await ranOneTick();
    expect(await redis.ttl(marker)).toBeGreaterThan(0);
    expectIssues(await audit(redis), []);
  });

  it("a tick marker without a TTL is reported and given one", async () => {
    const marker = await ranOneTick();
    await redis.persist(marker);
    expectIssues(await audit(redis), [`missing-ttl ${marker}`]);
    await expectRepaired(redis, [`missing-ttl ${marker}`]);
    expect(await redis.ttl(marker)).toBeGreaterThan(0);
  });
});
