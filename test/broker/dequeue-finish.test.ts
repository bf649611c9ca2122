// The combined call: successes written and the next tasks claimed in one script call; the hint of
// IDs next in line; the finisher's fallback flush; a server's round trips per task.
import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { openBroker } from "../../src/broker/broker.js";
import { dequeue, newHint, type DequeueHint, type FinishedTask } from "../../src/broker/fetch/dequeue.js";
import { unixSeconds } from "../../src/internal/clock.js";
import { Finisher } from "../../src/server/finisher.js";
import * as keys from "../../src/wire/keys.js";
import { countCommands, waitFor } from "../support/server-helpers.js";
import { startServer } from "../support/server.js";
import { useRedisFixture } from "../support/fixture.js";
import { testDb } from "../support/redis.js";

const Q = "default";
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0, 250);
const LEASE = NOW + 30_000;
const DAY_TTL = 90 * 86_400;

const { redis, client } = useRedisFixture({ clock: NOW, client: "shared" });

async function enqueue(ids: string[], options: { unique?: number } = {}): Promise<void> {
  for (const id of ids)
    await client.enqueue({ type: "t", payload: id }, { taskId: id, queue: Q, ...options });
}

/** Claims `n` tasks and returns them as finished tasks (fenced by the dequeued message). */
async function claimAsFinished(n: number, hint?: DequeueHint): Promise<FinishedTask[]> {
  const { tasks } = await dequeue(redis, Q, n, LEASE, hint, [], NOW);
  expect(tasks).toHaveLength(n);
  return Promise.all(
    tasks.map(async (t) => ({
      id: t.id,
      uniqueKey: (await redis.hget(keys.taskKey(Q, t.id), "unique_key")) ?? "",
      fence: t.msg!,
    })),
  );
}

describe("dequeue with finished tasks", () => {
  it("deletes and counts the finished tasks, then claims the next ones, in one call", async () => {
    await enqueue(["a", "b", "c"]);
    const hint = newHint();
    const finished = await claimAsFinished(1, hint);
    expect(hint.ids).toEqual(["b", "c"]); // the reply listed what is next in line

    const result = await dequeue(redis, Q, 2, LEASE, hint, finished, NOW);
    expect(result.finished).toEqual([true]);
    expect(result.tasks.map((t) => t.id)).toEqual(["b", "c"]);
    expect(await redis.exists(keys.taskKey(Q, "a"))).toBe(0);
    expect(await redis.lrange(keys.activeKey(Q), 0, -1)).toEqual(["c", "b"]);
    expect(await redis.zrange(keys.leaseKey(Q), 0, -1)).toEqual(["b", "c"]);
    expect(await redis.get(keys.processedTotalKey(Q))).toBe("1");
    const day = keys.processedKey(Q, new Date(NOW));
    expect(await redis.get(day)).toBe("1");
    // The counter expires 90 days after NOW (TTL counts from the real clock; EXPIRETIME needs Redis 7).
    const ttl = await redis.ttl(day);
    const expected = unixSeconds(NOW) + DAY_TTL - Math.floor(Date.now() / 1000);
    expect(Math.abs(ttl - expected)).toBeLessThanOrEqual(2);
    expect(hint.ids).toEqual([]);
    expect(hint.complete).toBe(true);
  });

  it("counts a batch with one INCRBY per counter, and wraps the total at MAX_INT64 as task-by-task counting would", async () => {
    await enqueue(["a", "b", "c", "d", "e", "f"]);
    const day = keys.processedKey(Q, new Date(NOW));
    await redis.set(day, "7"); // an existing daily counter keeps its TTL (none here): no EXPIREAT
    const finished = await claimAsFinished(3);
    const result = await dequeue(redis, Q, 1, LEASE, undefined, finished, NOW);
    expect(result.finished).toEqual([true, true, true]);
    expect(await redis.get(day)).toBe("10");
    expect(await redis.ttl(day)).toBe(-1);
    expect(await redis.get(keys.processedTotalKey(Q))).toBe("3");
    // MAX_INT64 - 1, then three more: MAX_INT64, then 1 (the wrap), then 2.
    await redis.set(keys.processedTotalKey(Q), "9223372036854775806");
    const more = [
      { id: result.tasks[0]!.id, uniqueKey: "", fence: result.tasks[0]!.msg! },
      ...(await claimAsFinished(1)),
    ];
    const last = await dequeue(redis, Q, 1, LEASE, undefined, more, NOW);
    expect(last.finished).toEqual([true, true]);
    expect(await redis.get(keys.processedTotalKey(Q))).toBe("1");
    await dequeue(
      redis,
      Q,
      0,
      LEASE,
      undefined,
      [{ id: last.tasks[0]!.id, uniqueKey: "", fence: last.tasks[0]!.msg! }],
      NOW,
    );
    expect(await redis.get(keys.processedTotalKey(Q))).toBe("2");
    expect(await redis.get(day)).toBe("13");
  });

  it("writes nothing for a task whose message changed (fenced) or that is no longer active", async () => {
    await enqueue(["a", "b"]);
    const [a, b] = await claimAsFinished(2);
    await redis.hset(keys.taskKey(Q, "a"), "msg", Buffer.from("recovered elsewhere"));
    await redis.lrem(keys.activeKey(Q), 0, "b");
    const result = await dequeue(redis, Q, 0, LEASE, undefined, [a!, b!], NOW);
    expect(result).toEqual({ tasks: [], paused: false, dangling: [], finished: [false, false] });
    expect(await redis.exists(keys.taskKey(Q, "a"), keys.taskKey(Q, "b"))).toBe(2);
    expect(await redis.get(keys.processedTotalKey(Q))).toBeNull();
  });

  it("releases a finished task's lock only while it holds the task's ID", async () => {
    await enqueue(["a", "b"], { unique: 60_000 });
    const [a, b] = await claimAsFinished(2);
    expect(a!.uniqueKey).not.toBe("");
    // b's lock was taken over by another task meanwhile.
    await redis.set(b!.uniqueKey, "someone-else");
    const result = await dequeue(redis, Q, 0, LEASE, undefined, [a!, b!], NOW);
    expect(result.finished).toEqual([true, true]);
    expect(await redis.exists(a!.uniqueKey)).toBe(0);
    expect(await redis.get(b!.uniqueKey)).toBe("someone-else");
  });

  it("still writes the finished tasks of a paused queue, and claims nothing", async () => {
    await enqueue(["a", "b"]);
    const finished = await claimAsFinished(1);
    await redis.set(keys.pausedKey(Q), "1");
    const result = await dequeue(redis, Q, 5, LEASE, newHint(), finished, NOW);
    expect(result).toEqual({ tasks: [], paused: true, dangling: [], finished: [true] });
    expect(await redis.lrange(keys.pendingKey(Q), 0, -1)).toEqual(["b"]);
    expect(await redis.exists(keys.taskKey(Q, "a"))).toBe(0);
  });

  it("a hint taken by another worker costs one fruitless call, then claims the next in line", async () => {
    await enqueue(["a", "b", "c", "d"]);
    const hint = newHint();
    await claimAsFinished(1, hint); // hint: b, c, d
    await dequeue(redis, Q, 2, LEASE); // another worker takes b and c
    const result = await dequeue(redis, Q, 1, LEASE, hint, [], NOW);
    expect(result.tasks.map((t) => t.id)).toEqual(["d"]);
  });

  it("a worker alone claims in FIFO order, call after call, and sees no other worker", async () => {
    const ids = Array.from({ length: 60 }, (_, i) => `t${String(i).padStart(2, "0")}`);
    const results = await client.enqueueBatch(
      ids.map((id) => ({ type: "t", payload: id, options: { taskId: id } })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    const hint = newHint();
    const order: string[] = [];
    let finished: FinishedTask[] = [];
    for (;;) {
      const r = await dequeue(redis, Q, 4, LEASE, hint, finished, NOW);
      order.push(...r.tasks.map((t) => t.id));
      finished = r.tasks.map((t) => ({ id: t.id, uniqueKey: "", fence: t.msg! }));
      expect(hint.others).toBe(0);
      if (r.tasks.length === 0) break;
    }
    expect(order).toEqual(ids);
  });

  it("a worker that sees others take its IDs spreads its candidates, then claims the oldest again", async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `t${String(i).padStart(3, "0")}`);
    const results = await client.enqueueBatch(
      ids.map((id) => ({ type: "t", payload: id, options: { taskId: id } })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    const hint = newHint();
    await dequeue(redis, Q, 2, LEASE, hint, [], NOW); // t000, t001; hint: t002...
    await dequeue(redis, Q, 10, LEASE); // another worker takes t002..t011
    const r = await dequeue(redis, Q, 2, LEASE, hint, [], NOW);
    expect(r.tasks).toHaveLength(2);
    expect(hint.others).toBeGreaterThan(0);
    // Alone again, the estimate halves call after call until the worker claims the oldest first.
    for (let i = 0; i < 6 && hint.others > 0; i++) await dequeue(redis, Q, 2, LEASE, hint, [], NOW);
    expect(hint.others).toBe(0);
    const pending = await redis.lrange(keys.pendingKey(Q), -2, -1);
    const next = await dequeue(redis, Q, 2, LEASE, hint, [], NOW);
    expect(next.tasks.map((t) => t.id)).toEqual(pending.reverse());
  });

  it("two workers with hints never claim the same task", async () => {
    const ids = Array.from({ length: 300 }, (_, i) => `t${i}`);
    const results = await client.enqueueBatch(
      ids.map((id) => ({ type: "t", payload: id, options: { taskId: id } })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    const other = redis.duplicate();
    try {
      const worker = async (conn: Redis): Promise<string[]> => {
        const hint = newHint();
        const claimed: string[] = [];
        let finished: FinishedTask[] = [];
        for (;;) {
          const r = await dequeue(conn, Q, 7, LEASE, hint, finished, NOW);
          expect(r.finished.every(Boolean)).toBe(true);
          claimed.push(...r.tasks.map((t) => t.id));
          finished = r.tasks.map((t) => ({ id: t.id, uniqueKey: "", fence: t.msg! }));
          if (r.tasks.length === 0 && (await conn.llen(keys.pendingKey(Q))) === 0) break;
        }
        return claimed;
      };
      const [a, b] = await Promise.all([worker(redis), worker(other)]);
      expect(new Set([...a, ...b]).size).toBe(300);
      expect([...a, ...b].sort()).toEqual([...ids].sort());
      // Every claimed task was finished by the worker's next call: nothing is left.
      expect(await redis.get(keys.processedTotalKey(Q))).toBe("300");
      expect(await redis.dbsize()).toBe(3); // asynq:queues and the two processed counters
    } finally {
      other.disconnect();
    }
  });

  it("rejects max 0 without finished tasks", async () => {
    await expect(dequeue(redis, Q, 0, LEASE)).rejects.toThrow(Error);
  });
});

describe("Finisher", () => {
  it("writes what no dequeue took by itself, one turn of the event loop later", async () => {
    await enqueue(["a", "b"]);
    const [a, b] = await claimAsFinished(2);
    const broker = openBroker({ redis, owned: false });
    const finisher = new Finisher(broker, () => NOW);
    const results = await Promise.all([finisher.finish(Q, a!), finisher.finish(Q, b!)]);
    expect(results).toEqual(["ok", "ok"]);
    expect(await redis.exists(keys.taskKey(Q, "a"), keys.taskKey(Q, "b"))).toBe(0);
    expect(await redis.get(keys.processedTotalKey(Q))).toBe("2");
  });

  it("hands its waiting writes to a dequeue that takes them", async () => {
    await enqueue(["a"]);
    const [a] = await claimAsFinished(1);
    const broker = openBroker({ redis, owned: false });
    const finisher = new Finisher(broker, () => NOW);
    const written = finisher.finish(Q, a!);
    const taken = finisher.take(Q);
    expect(taken.map((p) => p.task.id)).toEqual(["a"]);
    expect(finisher.take(Q)).toEqual([]);
    taken[0]!.resolve("ok");
    expect(await written).toBe("ok");
    // The fallback flush finds nothing left to write: the task is still there (the test settled it by hand).
    await new Promise((r) => setImmediate(() => setImmediate(r)));
    await new Promise((r) => setTimeout(r, 20));
    expect(await redis.exists(keys.taskKey(Q, "a"))).toBe(1);
  });
});

describe("a server's round trips", () => {
  it("at concurrency 1, one script call per task: the success rides on the next dequeue", async () => {
    const n = 60;
    const monitor = await countCommands(redis, testDb());
    try {
      await enqueue(Array.from({ length: n }, (_, i) => `task-${i}`));
      monitor.counts.clear();
      let handled = 0;
      await startServer(redis, () => {
        handled++;
        return Promise.resolve();
      });
      await waitFor(async () => (await redis.get(keys.processedTotalKey(Q))) === String(n));
      expect(handled).toBe(n);
      const scripts = (monitor.counts.get("evalsha") ?? 0) + (monitor.counts.get("eval") ?? 0);
      // n claims (each also writing the previous success), the first look at the queue, the last
      // success written with the call that finds the queue empty; a few more for start-up writes.
      expect(scripts).toBeGreaterThanOrEqual(n);
      expect(scripts).toBeLessThan(n + 10);
    } finally {
      monitor.stop();
    }
  });
});
