// The Server's events on a real Redis: what each outcome emits (type, id, queue, attempt, duration),
// in order; a listener that throws disturbs nothing; and with no listener nothing is emitted.
import { describe, expect, it } from "vitest";
import { RevokeTask, SkipRetry } from "../../src/errors.js";
import { ManualClock } from "../../src/internal/clock.js";
import { EventHub, type ServerEventName, type ServerEvents } from "../../src/server/events.js";
import { enqueueOnce, useRedisFixture } from "../support/fixture.js";
import { startServer, waitFor } from "../support/server.js";
import type { Server } from "../../src/server/server.js";
import type { Handler } from "../../src/server/mux.js";
import * as keys from "../../src/wire/keys.js";

const { redis } = useRedisFixture();

type Recorded = { [E in ServerEventName]: { name: E; event: ServerEvents[E] } }[ServerEventName];

/** Records every event of `server`, in order. */
function record(server: Server): Recorded[] {
  const seen: Recorded[] = [];
  for (const name of [
    "active",
    "completed",
    "failed",
    "retry",
    "archived",
    "expired",
    "recovered",
    "error",
  ] as const) {
    server.on(name, (event: ServerEvents[typeof name]) => void seen.push({ name, event } as Recorded));
  }
  return seen;
}

async function run(handler: Handler, enqueue: () => Promise<unknown>, until: (seen: Recorded[]) => boolean) {
  let seen: Recorded[] = [];
  // Listening before start(): a dequeue asks for the pending time (the `active` event's `wait`) only
  // while someone listens to `active`, and the first one is sent as start() resolves.
  const { server, logs } = await startServer(redis, handler, {}, (s) => void (seen = record(s)));
  await enqueue();
  await waitFor(() => until(seen), "the events");
  return { seen, logs, server };
}

describe("Server events", () => {
  it("active then completed, with type, id, queue, attempt and duration", async () => {
    const { seen } = await run(
      async () => new Promise((resolve) => setTimeout(resolve, 30)),
      () =>
        enqueueOnce(redis, undefined, { type: "email:send", payload: "x" }, { taskId: "t1", maxRetry: 3 }),
      (s) => s.some((e) => e.name === "completed"),
    );
    expect(seen.map((e) => e.name)).toEqual(["active", "completed"]);
    expect(seen[0]!.event).toEqual({
      type: "email:send",
      id: "t1",
      queue: "default",
      attempt: 1,
      maxAttempts: 4,
      wait: expect.any(Number) as number,
    });
    const completed = seen[1]!.event as ServerEvents["completed"];
    expect(completed).toMatchObject({ type: "email:send", id: "t1", queue: "default", attempt: 1 });
    expect(completed.duration).toBeGreaterThanOrEqual(25);
    expect(completed.duration).toBeLessThan(2000);
  });

  it("failed then retry, with the error and when", async () => {
    const { seen } = await run(
      () => {
        throw new Error("boom");
      },
      () => enqueueOnce(redis, undefined, { type: "t" }, { taskId: "r1", maxRetry: 2 }),
      (s) => s.some((e) => e.name === "retry"),
    );
    expect(seen.map((e) => e.name)).toEqual(["active", "failed", "retry"]);
    const failed = seen[1]!.event as ServerEvents["failed"];
    expect(failed).toMatchObject({ type: "t", id: "r1", attempt: 1, maxAttempts: 3, next: "retry" });
    expect(failed.error.message).toBe("boom");
    const retry = seen[2]!.event as ServerEvents["retry"];
    expect(retry.retryAt).toBeGreaterThan(Date.now());
  });

  it("failed then archived: retries exhausted, and SkipRetry", async () => {
    const { seen } = await run(
      (task) => {
        throw task.type === "skip" ? new SkipRetry("no") : new Error("last");
      },
      async () => {
        await enqueueOnce(redis, undefined, { type: "skip" }, { taskId: "a1", maxRetry: 5 });
        await enqueueOnce(redis, undefined, { type: "last" }, { taskId: "a2", maxRetry: 0 });
      },
      (s) => s.filter((e) => e.name === "archived").length === 2,
    );
    const archived = seen.filter((e) => e.name === "archived").map((e) => e.event);
    expect(archived.map((e) => [e.id, e.reason])).toEqual([
      ["a1", "skip-retry"],
      ["a2", "retries-exhausted"],
    ]);
    const failed = seen.filter((e) => e.name === "failed").map((e) => e.event);
    expect(failed.map((e) => e.next)).toEqual(["archived", "archived"]);
  });

  it("a revoked task: failed with next revoked, and nothing else", async () => {
    const { seen, server } = await run(
      () => {
        throw new RevokeTask("gone");
      },
      () => enqueueOnce(redis, undefined, { type: "t" }, { taskId: "v1" }),
      (s) => s.some((e) => e.name === "failed"),
    );
    await waitFor(() => server.running === 0, "the task to leave");
    expect(seen.map((e) => e.name)).toEqual(["active", "failed"]);
    expect((seen[1]!.event as ServerEvents["failed"]).next).toBe("revoked");
  });

  it("expired before it could start: expired with beforeStart, no handler run", async () => {
    let ran = false;
    const past = new ManualClock(Date.now() - 60_000);
    const { seen } = await run(
      () => void (ran = true),
      () =>
        enqueueOnce(redis, past, { type: "late" }, { taskId: "e1", deadline: new Date(past.now() + 5000) }),
      (s) => s.some((e) => e.name === "expired"),
    );
    expect(ran).toBe(false);
    expect(seen.map((e) => e.name)).toEqual(["active", "expired"]);
    expect(seen[1]!.event).toMatchObject({ id: "e1", type: "late", beforeStart: true, duration: 0 });
  });

  it("recovered: a task of a crashed worker (its lease ran out) settled by the recoverer", async () => {
    await enqueueOnce(redis, undefined, { type: "t" }, { taskId: "c1", maxRetry: 3 });
    // A worker took it and died: in active, its lease long expired.
    await redis.lmove(keys.pendingKey("default"), keys.activeKey("default"), "RIGHT", "LEFT");
    await redis.zadd(keys.leaseKey("default"), Math.floor(Date.now() / 1000) - 120, "c1");
    const { server } = await startServer(redis, () => {}, { recoverInterval: 100, recoveryGrace: 1000 });
    const seen = record(server);
    await waitFor(() => seen.some((e) => e.name === "recovered"), "the recovered event");
    expect(seen.find((e) => e.name === "recovered")!.event).toEqual({
      queue: "default",
      id: "c1",
      type: "t",
      found: "lease-expired",
      action: "retry",
    });
  });

  it("active: how long the task waited in pending, from its pending_since", async () => {
    // Enqueued by a client whose clock is a minute behind: pending_since is a minute ago.
    const minuteAgo = new ManualClock(Date.now() - 60_000);
    const { seen } = await run(
      () => {},
      () => enqueueOnce(redis, minuteAgo, { type: "t" }, { taskId: "w1" }),
      (s) => s.some((e) => e.name === "completed"),
    );
    const active = seen.find((e) => e.name === "active")!.event;
    expect(active.wait).toBeGreaterThanOrEqual(60_000);
    expect(active.wait).toBeLessThan(70_000);
  });

  it("a listener that throws is logged; the task completes", async () => {
    const { server, logs } = await startServer(redis, () => {});
    server.on("completed", () => {
      throw new Error("listener bug");
    });
    const done = new Promise((resolve) => server.once("completed", resolve));
    await enqueueOnce(redis, undefined, { type: "t" }, { taskId: "l1" });
    await done;
    await waitFor(async () => (await redis.exists("asynq:{default}:t:l1")) === 0, "the task to be deleted");
    expect(logs.some((l) => l.level === "error" && l.message.includes("listener bug"))).toBe(true);
    expect(server.listenerCount("completed")).toBe(1); // once() removed itself
  });
});

describe("EventHub", () => {
  it("counts listeners per event; off removes one; emit with none does nothing", () => {
    const hub = new EventHub();
    const calls: number[] = [];
    const a = (): void => void calls.push(1);
    const b = (): void => void calls.push(2);
    hub.on("completed", a);
    hub.on("completed", b);
    expect(hub.count.completed).toBe(2);
    expect(hub.count.active).toBe(0);
    hub.emit("completed", { type: "t", id: "i", queue: "q", attempt: 1, maxAttempts: 1, duration: 0 });
    hub.off("completed", a);
    hub.off("completed", a);
    expect(hub.count.completed).toBe(1);
    hub.emit("completed", { type: "t", id: "i", queue: "q", attempt: 1, maxAttempts: 1, duration: 0 });
    expect(calls).toEqual([1, 2, 2]);
    // An error event nobody listens to is not thrown (unlike Node's EventEmitter).
    expect(() => hub.emit("error", { error: new Error("x"), operation: "settle" })).not.toThrow();
    expect(() => hub.on("nope" as ServerEventName, a)).toThrow(TypeError);
  });

  it("once: called for the next event only; off removes it before then, as Node's EventEmitter does", () => {
    const hub = new EventHub();
    const calls: string[] = [];
    const a = (): void => void calls.push("a");
    const b = (): void => void calls.push("b");
    const event = { type: "t", id: "i", queue: "q", attempt: 1, maxAttempts: 1, duration: 0 };
    hub.once("completed", a);
    hub.once("completed", b);
    hub.off("completed", b);
    expect(hub.count.completed).toBe(1);
    hub.emit("completed", event);
    hub.emit("completed", event);
    expect(calls).toEqual(["a"]);
    expect(hub.count.completed).toBe(0);
    // off takes the last registration, once or on alike.
    hub.on("completed", a);
    hub.once("completed", a);
    hub.off("completed", a);
    hub.emit("completed", event);
    hub.emit("completed", event);
    expect(calls).toEqual(["a", "a", "a"]);
    expect(hub.count.completed).toBe(1);
  });
});
