// stop() and shutdown() end to end on a real Redis: requeue at the front of pending, draining within
// the shutdown timeout, no new tasks after stop, and which connections are closed.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import type { Client } from "../../src/client/client.js";
import { TaskAbortedError } from "../../src/server/context.js";
import * as keys from "../../src/wire/keys.js";
import { enqueueOnce, useRedisFixture } from "../support/fixture.js";
import { testDb, testRedisUrl } from "../support/redis.js";
import {
  TEST_SERVER_DEFAULTS,
  counters,
  deferred,
  readTask,
  startServer,
  stateOf,
  waitFor,
} from "../support/server.js";

const Q = "default";

const { redis } = useRedisFixture();

const enqueue = (...args: Parameters<Client["enqueue"]>) => enqueueOnce(redis, undefined, ...args);

/** Names of the clients connected to this worker's DB (CLIENT LIST). */
async function clientNames(): Promise<string[]> {
  const list = (await redis.client("LIST")) as string;
  return list
    .split("\n")
    .filter((line) => new RegExp(`(^| )db=${testDb()}( |$)`).test(line))
    .map((line) => /(?:^| )name=(\S*)/.exec(line)?.[1] ?? "");
}

/** The test DB as ioredis options. */
function redisOptions(): { host: string; port: number; db: number } {
  const url = new URL(testRedisUrl());
  return { host: url.hostname, port: Number(url.port || 6379), db: Number(url.pathname.slice(1)) };
}

describe("shutdown()", () => {
  it("puts a task still running after shutdownTimeout back at the front of pending, unchanged, and aborts its signal", async () => {
    await enqueue({ type: "long", payload: "a" }, { taskId: "long-1", maxRetry: 3 });
    const started = deferred();
    const reasons: unknown[] = [];
    const { server } = await startServer(
      redis,
      async (_task, ctx) => {
        started.resolve();
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
        reasons.push(ctx.signal.reason);
      },
      { concurrency: 1, shutdownTimeout: 200 },
    );
    await started.promise;
    // Enqueued while the only slot is busy, so it waits in pending behind the running task.
    await enqueue({ type: "next", payload: "b" }, { taskId: "next-1" });
    expect(await stateOf(redis, Q, "long-1")).toBe("active");
    await server.shutdown();

    // RPUSH: long-1 is at the tail, the end RPOPLPUSH takes next (wire-format §4.13).
    expect(await redis.lrange(keys.pendingKey(Q), 0, -1)).toEqual(["next-1", "long-1"]);
    const task = (await readTask(redis, Q, "long-1"))!;
    expect(task.state).toBe("pending");
    expect(task.msg).toMatchObject({ retried: 0, errorMsg: "", lastFailedAt: 0n });
    expect(task.fields).not.toHaveProperty("pending_since"); // as asynq's Requeue: not set again
    expect(await redis.exists(keys.activeKey(Q), keys.leaseKey(Q), keys.retryKey(Q))).toBe(0);
    expect(await counters(redis, Q, Date.now())).toEqual({
      processed: null,
      failed: null,
      processedToday: null,
      failedToday: null,
    });
    await waitFor(() => reasons.length === 1, "the handler to see the abort");
    expect(reasons[0]).toBeInstanceOf(TaskAbortedError);
    expect(reasons[0]).toMatchObject({ reason: "shutdown", taskId: "long-1" });

    // A second server on the same Redis takes long-1 first, as a fresh attempt.
    const order: Array<[string, number]> = [];
    const second = await startServer(redis, (_task, ctx) => {
      order.push([ctx.id, ctx.retryCount]);
    });
    await waitFor(() => order.length === 2 && second.server.running === 0, "both tasks");
    expect(order).toEqual([
      ["long-1", 0],
      ["next-1", 0],
    ]);
    expect(await redis.get(keys.processedTotalKey(Q))).toBe("2");
    expect(await redis.get(keys.failedTotalKey(Q))).toBeNull();
  });

  it("returns after shutdownTimeout even when the handler ignores its signal and never settles", async () => {
    await enqueue({ type: "stuck", payload: "a" }, { taskId: "stuck-1" });
    const started = deferred();
    const { server } = await startServer(
      redis,
      () => {
        started.resolve();
        return new Promise(() => {});
      },
      { shutdownTimeout: 200 },
    );
    await started.promise;
    await server.shutdown();
    expect(server.running).toBe(0);
    expect(await redis.lrange(keys.pendingKey(Q), 0, -1)).toEqual(["stuck-1"]);
    expect(await stateOf(redis, Q, "stuck-1")).toBe("pending");
    expect(await redis.exists(keys.activeKey(Q), keys.leaseKey(Q))).toBe(0);
  });

  it("waits for a task that finishes within shutdownTimeout, which completes normally", async () => {
    await enqueue({ type: "short", payload: "a" }, { taskId: "short-1" });
    const started = deferred();
    const release = deferred();
    const events: string[] = [];
    let abortedAtEnd: boolean | undefined;
    const { server } = await startServer(
      redis,
      async (_task, ctx) => {
        started.resolve();
        await release.promise;
        abortedAtEnd = ctx.signal.aborted;
        events.push("handler done");
      },
      { shutdownTimeout: 5000 },
    );
    await started.promise;
    const closing = server.shutdown().then(() => events.push("shutdown resolved"));
    // Give a shutdown that does not wait the chance to return early (the timeout is 5 s).
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events).toEqual([]);
    expect(await stateOf(redis, Q, "short-1")).toBe("active");
    release.resolve();
    await closing;
    expect(events).toEqual(["handler done", "shutdown resolved"]);
    expect(abortedAtEnd).toBe(false);
    expect(await readTask(redis, Q, "short-1")).toBeNull();
    expect(await redis.exists(keys.pendingKey(Q), keys.activeKey(Q), keys.leaseKey(Q))).toBe(0);
    expect(await redis.get(keys.processedTotalKey(Q))).toBe("1");
  });
});

describe("stop()", () => {
  it("stops taking new tasks while running ones finish", async () => {
    await enqueue({ type: "job", payload: "a" }, { taskId: "run-1" });
    const started = deferred();
    const release = deferred();
    const handled: string[] = [];
    const { server } = await startServer(
      redis,
      async (_task, ctx) => {
        handled.push(ctx.id);
        started.resolve();
        await release.promise;
      },
      { concurrency: 2 },
    );
    await started.promise;
    await server.stop();
    await enqueue({ type: "job", payload: "b" }, { taskId: "later-1" });
    expect(server.running).toBe(1);
    release.resolve();
    await waitFor(async () => (await redis.get(keys.processedTotalKey(Q))) === "1", "run-1 to finish");
    await waitFor(() => server.running === 0, "the slot to be free");
    // A server that still took tasks would take later-1 within a poll interval (20 ms) or sooner.
    await new Promise((resolve) => setTimeout(resolve, 5 * TEST_SERVER_DEFAULTS.pollInterval));
    expect(handled).toEqual(["run-1"]);
    expect(await readTask(redis, Q, "run-1")).toBeNull();
    expect(await stateOf(redis, Q, "later-1")).toBe("pending");
    expect(await redis.lrange(keys.pendingKey(Q), 0, -1)).toEqual(["later-1"]);
    await server.shutdown();
    expect(await stateOf(redis, Q, "later-1")).toBe("pending");
  });
});

describe("connections at shutdown", () => {
  it("closes the connection the server created", async () => {
    const name = `srv-test-${randomUUID()}`;
    const { server } = await startServer({ ...redisOptions(), connectionName: name }, () => {});
    await enqueue({ type: "job", payload: "a" }, { taskId: "c-1" });
    await waitFor(async () => (await redis.get(keys.processedTotalKey(Q))) === "1", "c-1 to be processed");
    expect(await clientNames()).toContain(name);
    // Idle again, the server waits on the pending list over its own blocking connection.
    await waitFor(async () => (await clientNames()).includes("asynq-ts:waiter"), "the waiter connection");
    await server.shutdown();
    await waitFor(async () => !(await clientNames()).includes(name), `connection ${name} to be closed`);
    // The blocking connection used to wait for new tasks is gone too.
    await waitFor(
      async () => !(await clientNames()).includes("asynq-ts:waiter"),
      "the waiter connection to be closed",
    );
  });

  it("leaves a user-owned ioredis connection open", async () => {
    const own = new Redis(testRedisUrl());
    try {
      const { server } = await startServer(own, () => {});
      await enqueue({ type: "job", payload: "a" }, { taskId: "c-2" });
      await waitFor(async () => (await redis.get(keys.processedTotalKey(Q))) === "1", "c-2 to be processed");
      await waitFor(async () => (await clientNames()).includes("asynq-ts:waiter"), "the waiter connection");
      await server.shutdown();
      await waitFor(
        async () => !(await clientNames()).includes("asynq-ts:waiter"),
        "the server's own waiter connection to be closed",
      );
      expect(own.status).toBe("ready");
      expect(await own.ping()).toBe("PONG");
      expect(await own.get(keys.processedTotalKey(Q))).toBe("1");
    } finally {
      own.disconnect();
    }
  });
});
