// QueueEvents and the event stream on a real Redis with real Servers: what each outcome writes, that
// nothing is written while nobody listens, the keys' lifetimes (and the doctor's view of them), and
// 10,000 completions heard by a listener in another connection.
import { describe, expect, it } from "vitest";
import { doctor } from "../../src/doctor/index.js";
import { RevokeTask, SkipRetry } from "../../src/errors.js";
import { QueueEvents, type QueueEventMap } from "../../src/events/queue-events.js";
import { ManualClock } from "../../src/internal/clock.js";
import * as keys from "../../src/wire/keys.js";
import { enqueueOnce, useRedisFixture } from "../support/fixture.js";
import { deferred, startServer, waitFor } from "../support/server.js";

const { redis, url, client } = useRedisFixture({ client: true });

type Heard = { [E in keyof QueueEventMap]: { name: E; event: QueueEventMap[E] } }[keyof QueueEventMap];

/** A QueueEvents on `queue` that records every event in order; closed when the test ends. */
async function listen(queue = "default"): Promise<{ events: QueueEvents; heard: Heard[] }> {
  const events = new QueueEvents(url, queue);
  const heard: Heard[] = [];
  for (const name of [
    "completed",
    "failed",
    "retry",
    "archived",
    "expired",
    "revoked",
    "progress",
    "error",
  ] as const) {
    events.on(name, (event: QueueEventMap[typeof name]) => void heard.push({ name, event } as Heard));
  }
  await events.ready();
  return { events, heard };
}

describe("QueueEvents", () => {
  it("hears every outcome, in order, with results, errors and progress", async () => {
    const { events, heard } = await listen();
    try {
      await startServer(url, async (task, ctx) => {
        if (task.type === "ok") {
          await ctx.progress({ done: 1, total: 2 });
          return ctx.result.write("the result");
        }
        if (task.type === "skip") throw new SkipRetry("no point");
        if (task.type === "again") throw new Error("try later");
        if (task.type === "revoke") throw new RevokeTask("gone");
      });
      await client.enqueue({ type: "ok" }, { taskId: "ok1" });
      await client.enqueue({ type: "skip" }, { taskId: "skip1" });
      await client.enqueue({ type: "again" }, { taskId: "again1", maxRetry: 3 });
      await client.enqueue({ type: "revoke" }, { taskId: "rev1" });
      // Deadline already passed when a server takes it: expired before start, never run.
      const past = new ManualClock(Date.now() - 60_000);
      await enqueueOnce(
        redis,
        past,
        { type: "late" },
        { taskId: "late1", deadline: new Date(past.now() + 1000) },
      );
      await waitFor(() => heard.filter((h) => h.name !== "progress").length >= 8, "every outcome heard");
      const byTask = (id: string): string[] =>
        heard.filter((h) => "id" in h.event && h.event.id === id).map((h) => h.name);
      expect(byTask("ok1")).toEqual(["progress", "completed"]);
      expect(byTask("skip1")).toEqual(["failed", "archived"]);
      expect(byTask("again1")).toEqual(["failed", "retry"]);
      expect(byTask("rev1")).toEqual(["failed", "revoked"]);
      expect(byTask("late1")).toEqual(["expired"]);
      const find = <E extends keyof QueueEventMap>(name: E, id: string): QueueEventMap[E] =>
        heard.find((h) => h.name === name && (h.event as { id: string }).id === id)!
          .event as QueueEventMap[E];
      expect(Buffer.from(find("completed", "ok1").result!).toString()).toBe("the result");
      expect(find("progress", "ok1")).toEqual({
        id: "ok1",
        queue: "default",
        progress: { done: 1, total: 2 },
      });
      expect(find("archived", "skip1").error).toBe("no point");
      expect(find("failed", "skip1").next).toBe("archived");
      const retry = find("retry", "again1");
      expect(retry.error).toBe("try later");
      expect(retry.retryAt.getTime()).toBeGreaterThan(Date.now());
      expect(find("expired", "late1").error).toContain("deadline");
      expect(heard.some((h) => h.name === "error")).toBe(false);
    } finally {
      await events.close();
    }
  });

  it("writes nothing while nobody listens, and stops soon after the last listener leaves", async () => {
    await startServer(url, () => "r", { concurrency: 4 });
    for (let i = 0; i < 20; i++) await client.enqueue({ type: "t" });
    await waitFor(async () => (await redis.get(keys.processedTotalKey("default"))) === "20", "20 processed");
    expect(await redis.exists(keys.eventsKey("default"), keys.eventsListeningKey("default"))).toBe(0);

    const { events } = await listen();
    // Bounded lifetimes: the marker by its TTL, the stream 10 minutes after its last entry.
    const markerTtl = await redis.pttl(keys.eventsListeningKey("default"));
    expect(markerTtl).toBeGreaterThan(0);
    expect(markerTtl).toBeLessThanOrEqual(30_000);
    await client.enqueue({ type: "t" }, { taskId: "heard" });
    await waitFor(async () => (await redis.xlen(keys.eventsKey("default"))) === 1, "one entry");
    const streamTtl = await redis.pttl(keys.eventsKey("default"));
    expect(streamTtl).toBeGreaterThan(590_000);
    expect(streamTtl).toBeLessThanOrEqual(600_000);
    const report = await doctor(url);
    expect(report.global).toEqual([]);
    expect(report.clean).toBe(true);
    await events.close();
    // The marker is left to its TTL (other listeners may share it); once it is gone, nothing is written.
    await redis.del(keys.eventsListeningKey("default"), keys.eventsKey("default"));
    await client.enqueue({ type: "t" }, { taskId: "unheard" });
    await waitFor(async () => (await redis.exists(keys.taskKey("default", "unheard"))) === 0, "processed");
    expect(await redis.exists(keys.eventsKey("default"))).toBe(0);
  });

  it("delivers the completions of 10,000 tasks, each once", async () => {
    const { events, heard } = await listen();
    try {
      await startServer(url, () => {}, { concurrency: 50, logLevel: "warn" });
      const ids: string[] = [];
      for (let i = 0; i < 10_000; i += 1000) {
        const batch = Array.from({ length: 1000 }, (_, j) => ({
          type: "bulk",
          options: { taskId: `b${i + j}` },
        }));
        const results = await client.enqueueBatch(batch);
        for (const r of results) if (r.ok) ids.push(r.info.id);
      }
      expect(ids).toHaveLength(10_000);
      await waitFor(() => heard.length >= 10_000, "10,000 completions", { timeoutMs: 60_000 });
      const completed = heard
        .filter((h) => h.name === "completed")
        .map((h) => (h.event as { id: string }).id);
      expect(completed).toHaveLength(10_000);
      expect(new Set(completed)).toEqual(new Set(ids));
    } finally {
      await events.close();
    }
  }, 90_000);

  it("a listener that throws goes to the error listeners; the others go on", async () => {
    const { events, heard } = await listen();
    const second = deferred<string>();
    try {
      events.on("completed", (e) => {
        if (e.id === "first") throw new Error("listener bug");
        second.resolve(e.id);
      });
      await startServer(url, () => {});
      await client.enqueue({ type: "t" }, { taskId: "first" });
      await waitFor(() => heard.some((h) => h.name === "error"), "the error");
      await client.enqueue({ type: "t" }, { taskId: "second" });
      expect(await second.promise).toBe("second");
      expect(heard.find((h) => h.name === "error")!.event.message).toBe("listener bug");
    } finally {
      await events.close();
    }
  });

  it("refuses an invalid queue name", () => {
    expect(() => new QueueEvents(url, "")).toThrow(/queue/);
    expect(() => new QueueEvents(url, "a}b")).toThrow(/hash tag/);
  });
});
