// Golden conformance (test/golden/redis-snapshots/q_scheduler_every.json, written by Go asynq v0.25.1):
// replays Go's scheduler scenario on a manual clock (Register "@every 3s" report:tick with Queue("default")
// and MaxRetry(2), Start, three ticks, the first heartbeat, Shutdown) and compares Redis with Go's dumps
// key for key: the entries list, its registry member, the history, the tasks. The one key of ours is
// the entry's tick marker (asynq-ts only, docs/compatibility.md), checked on its own.
import { describe, expect, it } from "vitest";
import { unixSeconds } from "../../src/internal/clock.js";
import { buildEntry } from "../../src/scheduler/entry.js";
import { SchedulerHeartbeat } from "../../src/scheduler/heartbeat.js";
import * as keys from "../../src/wire/keys.js";
import { snapshotPath } from "../support/golden.js";
import { useRedisFixture } from "../support/fixture.js";
import {
  assertSnapshotsMatch,
  dumpDb,
  loadGoldenScenario,
  substitute,
  type Snapshot,
} from "../support/redis-dump.js";
import { collectingLogger } from "../support/server.js";
import { testBroker, testTicker } from "./support.js";

const q = loadGoldenScenario(snapshotPath("q_scheduler_every"));
/** When Go's scheduler started (ms). */
const STARTED = q.ops.find((op) => op.api === "Scheduler.Start")!.at_unix_ms;
/** Go's enqueues: when, and the ID of the task. */
const ENQUEUES = q.events
  .filter((e) => e.event === "scheduler_enqueued")
  .map((e) => ({ atMs: e.at_unix_ms as number, taskId: (e.task as { id: string }).id }));
const { redis, url, clock } = useRedisFixture({ clock: STARTED });

const snapshot = (label: string): Snapshot => {
  const s = q.snapshots.find((x) => x.label === label);
  if (s === undefined) throw new Error(`no snapshot ${label}`);
  return s;
};

/** Go's scheduler ID and entry ID, read from the running snapshot's keys. */
const GO_SCHEDULER_KEY = snapshot("scheduler_running").keys.find((k) =>
  k.key.startsWith("asynq:schedulers:{"),
)!.key;
const GO_SCHEDULER_ID = GO_SCHEDULER_KEY.slice("asynq:schedulers:{".length, -1);
const GO_ENTRY_ID = (q.ops[0]!.result as { entry_id: string }).entry_id;

describe("q_scheduler_every", () => {
  it("replays: the same entries list, registry member, history and tasks as Go's scheduler", async () => {
    const register = q.ops[0]!.args as {
      cronspec: string;
      task_type: string;
      payload: string;
      options: string[];
    };
    expect(register.options).toEqual(['Queue("default")', "MaxRetry(2)"]);
    const broker = testBroker(url);
    const s = testTicker(url, clock, {}, broker);
    const entry = buildEntry(
      {
        cronspec: register.cronspec,
        task: { type: register.task_type, payload: register.payload },
        options: { queue: "default", maxRetry: 2 },
      },
      "UTC",
      clock.now(),
      "",
      GO_ENTRY_ID,
    );
    s.ticker.add(entry);
    const heartbeat = new SchedulerHeartbeat({
      broker,
      clock,
      logger: collectingLogger().logger,
      schedulerId: GO_SCHEDULER_ID,
      interval: 10_000,
      entries: () => s.ticker.list(),
    });

    // Start at Go's instant; the three ticks at the instants Go enqueued them.
    clock.set(STARTED);
    s.ticker.start();
    for (const e of ENQUEUES) {
      clock.set(e.atMs);
      await s.ticker.runDue();
    }
    expect(s.results.map((r) => r.status)).toEqual(["enqueued", "enqueued", "enqueued"]);
    // Go writes its first heartbeat one interval after Start; we write at start, and then each interval.
    clock.set(STARTED + 10_000);
    heartbeat.start();
    await heartbeat.beat();

    // Go's random task IDs stand for ours, in enqueue order.
    const ours = s.results.map((r) => (r.status === "enqueued" ? r.info.id : ""));
    const ids = new Map(ENQUEUES.map((e, i) => [e.taskId, ours[i]!]));
    const marker = keys.schedulerTickKey("default", entry.identity);
    const running = await dumpDb(redis);
    const [markerKey] = running.keys.filter((k) => k.key === marker);
    expect(markerKey).toMatchObject({
      type: "string",
      value: `${unixSeconds(ENQUEUES[2]!.atMs)} ${ours[2]}`,
    });
    const withoutMarker = (d: Snapshot): Snapshot => ({ ...d, keys: d.keys.filter((k) => k.key !== marker) });
    assertSnapshotsMatch(substitute(snapshot("scheduler_running"), ids), withoutMarker(running), {
      exactScores: new Set([1795241196, 1795241199, 1795241202, 1795241223]),
    });

    // Shutdown: the entries list, its registry member and the history go; the tasks stay.
    clock.set(q.ops[2]!.at_unix_ms);
    await s.ticker.stop();
    await heartbeat.shutdown();
    const final = await dumpDb(redis);
    assertSnapshotsMatch(substitute(snapshot("final"), ids), withoutMarker(final));
    expect(await redis.ttl(marker)).toBeGreaterThan(0);
  });
});
