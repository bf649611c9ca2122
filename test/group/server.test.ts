// The Server with a groupAggregator, end to end on a real Redis: tasks grouped by our Client and by Go's
// (the golden data's) are aggregated and handled; without an aggregator it warns once; a shutdown
// does not wait for an aggregator that never settles.
import { describe, expect, it } from "vitest";
import * as keys from "../../src/wire/keys.js";
import type { HandlerTask } from "../../src/server/mux.js";
import { useRedisFixture } from "../support/fixture.js";
import { snapshotPath } from "../support/golden.js";
import { loadGoldenScenario } from "../support/redis-dump.js";
import { restoreSnapshot } from "../support/redis-restore.js";
import { errorHandlerRecorder, startServer, waitFor } from "../support/server.js";
import { joinPayloads } from "./support.js";

const Q = "default";
const { redis, url, client } = useRedisFixture({ client: true });

/** The queue's keys but its counters. */
async function leftKeys(): Promise<string[]> {
  return (await redis.keys("asynq:{default}:*")).filter((k) => !/:processed(:|$)/.test(k));
}

/** A handler that records what it handles. */
function recorder(): { handled: HandlerTask[]; handler: (task: HandlerTask) => void } {
  const handled: HandlerTask[] = [];
  return { handled, handler: (task) => void handled.push(task) };
}

describe("a Server with a groupAggregator", () => {
  it("aggregates tasks grouped by our Client and handles the aggregated task once", async () => {
    for (let n = 1; n <= 3; n++) {
      await client.enqueue(
        { type: "notify", payload: `m${n}` },
        { group: "user:1", taskId: `t-${n}`, ...(n === 2 ? { unique: 3_600_000 } : {}) },
      );
    }
    const { handled, handler } = recorder();
    await startServer(url, handler, { groupGracePeriod: 1000, groupAggregator: joinPayloads });
    await waitFor(() => handled.length === 1, "the aggregated task", { timeoutMs: 10_000 });
    expect(handled[0]!.type).toBe("notify:digest:batch");
    expect(Buffer.from(handled[0]!.payload).toString()).toBe("m1\nm2\nm3");
    await waitFor(async () => (await leftKeys()).length === 0, "nothing left", {
      timeoutMs: 5000,
    });
  });

  it("aggregates tasks grouped by Go's client (golden v_group_aggregation)", async () => {
    const v = loadGoldenScenario(snapshotPath("v_group_aggregation"));
    await restoreSnapshot(
      redis,
      v.snapshots.find((s) => s.label === "enqueued")!,
    );
    await redis.del("asynq:{default}:unique:notify:digest:3d9f815a89c4671767a1b78eca5ade8b");
    const { handled, handler } = recorder();
    await startServer(url, handler, {
      groupGracePeriod: 1000,
      groupMaxSize: 10,
      groupMaxDelay: 10_000,
      groupAggregator: joinPayloads,
    });
    await waitFor(() => handled.length === 2, "both aggregated tasks", { timeoutMs: 10_000 });
    expect(handled.map((t) => Buffer.from(t.payload).toString()).sort()).toEqual([
      '{"user":1,"msg":"a"}\n{"user":1,"msg":"b"}\n{"user":1,"msg":"c"}',
      '{"user":9,"msg":"u"}',
    ]);
    for (const id of ["v-1", "v-2", "v-3", "v-u"]) expect(await redis.exists(keys.taskKey(Q, id))).toBe(0);
  });

  it("reports an aggregator that throws to errorHandler and keeps the tasks", async () => {
    await client.enqueue({ type: "notify", payload: "x" }, { group: "g", taskId: "x-1" });
    const { calls, errorHandler } = errorHandlerRecorder();
    const { handled, handler } = recorder();
    await startServer(url, handler, {
      groupGracePeriod: 1000,
      errorHandler,
      groupAggregator: () => {
        throw new Error("no digest today");
      },
    });
    await waitFor(() => calls.length >= 1, "the errorHandler call", { timeoutMs: 10_000 });
    expect(calls[0]!.error.message).toContain("no digest today");
    expect(calls[0]!.info).toMatchObject({ id: "x-1", queue: Q });
    expect(handled).toEqual([]);
    expect(await redis.hget(keys.taskKey(Q, "x-1"), "state")).toBe("aggregating");
  });

  it("shuts down without waiting for an aggregator that never settles; the set is left for reclaim", async () => {
    await client.enqueue({ type: "notify", payload: "x" }, { group: "g", taskId: "x-1" });
    let called = false;
    const { server } = await startServer(url, () => {}, {
      groupGracePeriod: 1000,
      groupAggregator: () => {
        called = true;
        return new Promise(() => {});
      },
    });
    await waitFor(() => called, "the aggregator call", { timeoutMs: 10_000 });
    const started = Date.now();
    await server.shutdown();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await redis.zcard(keys.allAggregationSetsKey(Q))).toBe(1);
    expect(await redis.hget(keys.taskKey(Q, "x-1"), "state")).toBe("aggregating");
  });
});

describe("a Server without a groupAggregator", () => {
  it("warns once per queue and group that grouped tasks wait", async () => {
    await client.enqueue({ type: "notify", payload: "x" }, { group: "g" });
    const { logs } = await startServer(url, () => {}, { groupGracePeriod: 1000 });
    await waitFor(() => logs.some((l) => l.fields.component === "aggregator"), "the warning", {
      timeoutMs: 5000,
    });
    await new Promise((resolve) => setTimeout(resolve, 2200)); // two more checks
    const warnings = logs.filter((l) => l.fields.component === "aggregator");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: "warn", fields: { queue: Q, group: "g" } });
  });
});
