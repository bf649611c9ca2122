// Server against a real Redis: the concurrency limit, exactly-once processing, wake-up of an idle
// server (from our client and from raw Go-style writes), and two servers sharing a queue.
import { describe, expect, it } from "vitest";
import { Server } from "../../src/server/server.js";
import type { ServerConfig } from "../../src/server/config.js";
import * as keys from "../../src/wire/keys.js";
import { enqueueMany, rawPending, sleep, track, waitFor, waiterBlocked } from "../support/server-helpers.js";
import { useRedisFixture } from "../support/fixture.js";
import { testRedisUrl } from "../support/redis.js";

const { redis, client } = useRedisFixture({ client: true });

function server(config: ServerConfig): Server {
  return track(
    new Server(testRedisUrl(), { pollInterval: 50, logLevel: "warn", shutdownTimeout: 1000, ...config }),
  );
}

/** Counts of each ID seen by handlers. */
function tally(): { counts: Map<string, number>; add: (id: string) => void; total: () => number } {
  const counts = new Map<string, number>();
  let total = 0;
  return {
    counts,
    add: (id) => {
      counts.set(id, (counts.get(id) ?? 0) + 1);
      total++;
    },
    total: () => total,
  };
}

describe("concurrency", () => {
  // 5 slots make one fetch lane; 20 make two lanes of 10, whose slots are freed on success before
  // the success is written (it rides on the lane's next dequeue).
  it.each([5, 20])(
    "never runs more than %i handlers at once, reaches it, and processes each task once",
    async (concurrency) => {
      const ids = await enqueueMany(client, 200);
      const seen = tally();
      let running = 0;
      let max = 0;
      const s = server({ concurrency });
      await s.start(async (_task, ctx) => {
        running++;
        max = Math.max(max, running);
        try {
          await sleep(1 + Math.random() * 9);
          seen.add(ctx.id);
        } finally {
          running--;
        }
      });
      await waitFor(async () => (await redis.get(keys.processedTotalKey("default"))) === "200", {
        message: "processed counter at 200",
      });
      expect(max).toBe(concurrency);
      expect(seen.total()).toBe(200);
      expect([...seen.counts.keys()].sort()).toEqual([...ids].sort());
      expect([...seen.counts.values()].every((n) => n === 1)).toBe(true);
      expect(await redis.llen(keys.pendingKey("default"))).toBe(0);
      expect(await redis.llen(keys.activeKey("default"))).toBe(0);
      expect(await redis.zcard(keys.leaseKey("default"))).toBe(0);
      expect(await redis.keys(keys.taskKey("default", "*"))).toEqual([]);
    },
  );

  it("two servers on one queue process 500 tasks, none twice", async () => {
    const ids = await enqueueMany(client, 500);
    const seen = tally();
    const by = { a: 0, b: 0 };
    const handler = (name: "a" | "b") => async (_task: unknown, ctx: { id: string }) => {
      seen.add(ctx.id);
      by[name]++;
      await sleep(Math.random() * 2);
    };
    const a = server({ concurrency: 5 });
    const b = server({ concurrency: 5 });
    await Promise.all([a.start(handler("a")), b.start(handler("b"))]);
    await waitFor(async () => (await redis.get(keys.processedTotalKey("default"))) === "500", {
      message: "processed counter at 500",
    });
    expect(seen.total()).toBe(500);
    expect(seen.counts.size).toBe(500);
    expect([...seen.counts.values()].every((n) => n === 1)).toBe(true);
    expect([...seen.counts.keys()].sort()).toEqual([...ids].sort());
    expect(by.a).toBeGreaterThan(0);
    expect(by.b).toBeGreaterThan(0);
    expect(await redis.llen(keys.pendingKey("default"))).toBe(0);
    expect(await redis.llen(keys.activeKey("default"))).toBe(0);
  });
});

describe("wake-up of an idle server", () => {
  const POLL = 5000;

  it("picks up a task enqueued later well before the poll interval", async () => {
    const started: Array<{ id: string; at: number }> = [];
    const s = server({ concurrency: 2, pollInterval: POLL });
    await s.start((_task, ctx) => {
      started.push({ id: ctx.id, at: performance.now() });
    });
    const latencies: number[] = [];
    for (let i = 0; i < 3; i++) {
      await waitFor(() => waiterBlocked(redis), { message: "the server idle in its blocking wait" });
      const t0 = performance.now();
      const info = await client.enqueue({ type: "late" });
      await waitFor(() => started.some((x) => x.id === info.id), { timeout: POLL * 2, interval: 2 });
      latencies.push(started.find((x) => x.id === info.id)!.at - t0);
    }
    console.log(
      `idle pickup latency (client enqueue -> handler start): ${latencies.map((l) => l.toFixed(1)).join(", ")} ms`,
    );
    for (const latency of latencies) expect(latency).toBeLessThan(1000);
  });

  it("is woken by a task written with raw commands, as a Go client writes it", async () => {
    const started: Array<{ id: string; type: string; payload: string; at: number }> = [];
    const s = server({ concurrency: 1, pollInterval: POLL, queues: { other: 1, default: 1 } });
    await s.start((task, ctx) => {
      started.push({
        id: ctx.id,
        type: task.type,
        payload: Buffer.from(task.payload).toString(),
        at: performance.now(),
      });
    });
    await waitFor(() => waiterBlocked(redis), { message: "the server idle in its blocking wait" });
    const t0 = performance.now();
    const id = await rawPending(redis, "default", {
      type: "go:task",
      overrides: { payload: Buffer.from("from go") },
    });
    await waitFor(() => started.length === 1, { timeout: POLL * 2, interval: 2 });
    const latency = started[0]!.at - t0;
    console.log(`idle pickup latency (raw LPUSH -> handler start): ${latency.toFixed(1)} ms`);
    expect(started[0]).toMatchObject({ id, type: "go:task", payload: "from go" });
    expect(latency).toBeLessThan(1000);
    await waitFor(async () => (await redis.exists(keys.taskKey("default", id))) === 0, {
      message: "the raw task done and deleted",
    });
    expect(await redis.get(keys.processedTotalKey("default"))).toBe("1");
  });
});
