// Scheduled and retried tasks with a real clock and a running Server: the forwarder (wire-format §4.16)
// checks just after each second boundary, so a task due at T (stored as whole unix seconds, as Go)
// starts no earlier than T − 1 s (never before its second) and no later than T + 1 s. Tasks whose hash
// carries a group go to their group instead of running; a paused queue's due tasks are forwarded to
// pending but not processed until the queue is unpaused.
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import type { EnqueueOptions } from "../../src/client/options.js";
import type { Handler } from "../../src/server/mux.js";
import * as keys from "../../src/wire/keys.js";
import { encodeTaskMessage, newTaskMessage } from "../../src/wire/proto.js";
import { freshRedis } from "../support/redis.js";
import { sleep } from "../support/server-helpers.js";
import { readTask, startServer, stateOf, waitFor } from "../support/server.js";

const Q = "default";
/** The requirement: a task due at T starts within this many ms of T, either side. */
const WINDOW_MS = 1000;
/** asynq-ts's default poll interval: the server is not helped by fast polling here. */
const SERVER = { concurrency: 4, pollInterval: 1000 } as const;

let redis: Redis;
beforeAll(async () => {
  redis = await freshRedis();
});
beforeEach(async () => {
  await redis.flushdb();
});

/** Start − T of every measured task, reported after the file. */
const latencies: string[] = [];
afterAll(() => {
  if (latencies.length > 0) console.log(`start − T (ms):\n  ${latencies.join("\n  ")}`);
});

async function enqueue(...args: Parameters<Client["enqueue"]>) {
  const client = new Client(redis);
  try {
    return await client.enqueue(...args);
  } finally {
    await client.close();
  }
}

/** A handler that records when each attempt of each task started (ms), by task ID. */
function recordingHandler(fail?: (id: string, attempt: number) => boolean): {
  handler: Handler;
  starts: Map<string, number[]>;
  failedAt: Map<string, number>;
} {
  const starts = new Map<string, number[]>();
  const failedAt = new Map<string, number>();
  const handler: Handler = (_task, ctx) => {
    const now = Date.now();
    const list = starts.get(ctx.id) ?? [];
    list.push(now);
    starts.set(ctx.id, list);
    if (fail?.(ctx.id, list.length) === true) {
      failedAt.set(ctx.id, Date.now());
      return Promise.reject(new Error(`attempt ${list.length} fails`));
    }
    return Promise.resolve();
  };
  return { handler, starts, failedAt };
}

/**
 * Checks a start against a due time known to lie in [dueLow, dueHigh] (ms) and stored as `scoreS`
 * (unix s): never before its second, and within WINDOW_MS of the due time.
 */
function expectOnTime(what: string, start: number, dueLow: number, dueHigh: number, scoreS: number): void {
  latencies.push(`${what}: ${start - dueHigh}..${start - dueLow} (start ${start}, score ${scoreS})`);
  expect(scoreS, `${what}: its score is its due time in whole seconds`).toBeGreaterThanOrEqual(
    Math.floor(dueLow / 1000),
  );
  expect(scoreS, `${what}: its score is its due time in whole seconds`).toBeLessThanOrEqual(
    Math.floor(dueHigh / 1000),
  );
  expect(start, `${what}: not before the second it is due in`).toBeGreaterThanOrEqual(scoreS * 1000);
  expect(start, `${what}: no earlier than T − ${WINDOW_MS} ms`).toBeGreaterThanOrEqual(dueLow - WINDOW_MS);
  expect(start, `${what}: no later than T + ${WINDOW_MS} ms`).toBeLessThanOrEqual(dueHigh + WINDOW_MS);
}

describe("scheduled tasks with a running server", () => {
  it("run within a second of their time (processIn and processAt)", async () => {
    const h = recordingHandler();
    await startServer(redis, h.handler, SERVER);
    // Several due times, so that they fall at different points of a second.
    const plans: Array<{ id: string; options: (now: number) => EnqueueOptions; offset: number }> = [
      { id: "in-1500", offset: 1500, options: () => ({ processIn: 1500 }) },
      { id: "at-2000", offset: 2000, options: (now) => ({ processAt: new Date(now + 2000) }) },
      { id: "in-2250", offset: 2250, options: () => ({ processIn: 2250 }) },
      { id: "at-2700", offset: 2700, options: (now) => ({ processAt: now + 2700 }) },
    ];
    const due = new Map<string, { low: number; high: number }>();
    const scores = new Map<string, number>();
    for (const plan of plans) {
      const before = Date.now();
      const info = await enqueue(
        { type: "scheduled", payload: plan.id },
        { taskId: plan.id, ...plan.options(before) },
      );
      const after = Date.now();
      expect(info.state).toBe("scheduled");
      // processAt is an absolute instant; processIn counts from the client's now, in [before, after].
      due.set(
        plan.id,
        plan.id.startsWith("at-")
          ? { low: before + plan.offset, high: before + plan.offset }
          : { low: before + plan.offset, high: after + plan.offset },
      );
      // Read at once: a task due 1.5 s ahead is due in its second, at least 0.5 s from now.
      const score = await redis.zscore(keys.scheduledKey(Q), plan.id);
      expect(score, `${plan.id} is scheduled`).not.toBeNull();
      scores.set(plan.id, Number(score));
      expect(h.starts.has(plan.id)).toBe(false);
    }

    await waitFor(() => plans.every((p) => h.starts.has(p.id)), "every scheduled task to start", {
      timeoutMs: 8000,
    });
    for (const { id } of plans) {
      const { low, high } = due.get(id)!;
      expect(h.starts.get(id)).toHaveLength(1);
      expectOnTime(`scheduled ${id}`, h.starts.get(id)![0]!, low, high, scores.get(id)!);
    }
    await waitFor(
      async () => (await redis.exists(...plans.map((p) => keys.taskKey(Q, p.id)))) === 0,
      "the tasks to be done",
    );
    expect(await redis.exists(keys.scheduledKey(Q), keys.pendingKey(Q))).toBe(0);
  });

  it("a task that failed once with retryDelay 1 s runs its second attempt within a second of its retry time", async () => {
    const delayAsked: number[] = [];
    const h = recordingHandler((_id, attempt) => attempt === 1);
    await startServer(redis, h.handler, {
      ...SERVER,
      retryDelay: () => {
        delayAsked.push(Date.now());
        return 1000;
      },
    });
    const ids = ["retry-a", "retry-b"];
    for (const id of ids) {
      await enqueue({ type: "flaky", payload: id }, { taskId: id });
      // Fail at a different point of a second each.
      await sleep(370);
    }
    const scores = new Map<string, number>();
    await waitFor(
      async () => {
        for (const id of ids) {
          const score = await redis.zscore(keys.retryKey(Q), id);
          if (score !== null) scores.set(id, Number(score));
        }
        return scores.size === ids.length || ids.every((id) => (h.starts.get(id)?.length ?? 0) >= 2);
      },
      "both tasks in retry",
      { timeoutMs: 5000, intervalMs: 5 },
    );
    await waitFor(() => ids.every((id) => (h.starts.get(id)?.length ?? 0) >= 2), "every second attempt", {
      timeoutMs: 8000,
    });
    expect(delayAsked).toHaveLength(ids.length);
    ids.forEach((id, i) => {
      // retryAt = (the failure's now) + 1000: after the handler threw, before retryDelay returned.
      const low = h.failedAt.get(id)! + 1000;
      const high = delayAsked[i]! + 1000;
      const score = scores.get(id);
      expect(score, `${id} was seen in retry`).toBeDefined();
      expectOnTime(`retry ${id}`, h.starts.get(id)![1]!, low, high, score!);
    });
    await waitFor(
      async () => (await redis.exists(...ids.map((id) => keys.taskKey(Q, id)))) === 0,
      "both tasks to succeed",
    );
  });

  it("a due task whose hash has a group field (written as Go does) goes to its group, not to a handler", async () => {
    const h = recordingHandler();
    await startServer(redis, h.handler, SERVER);
    const due = Date.now() + 1000;
    const dueS = Math.floor(due / 1000);
    const grouped = randomUUID();
    await redis.sadd(keys.ALL_QUEUES, Q);
    await redis.hset(keys.taskKey(Q, grouped), {
      msg: Buffer.from(
        encodeTaskMessage(
          newTaskMessage({
            type: "grouped",
            id: grouped,
            queue: Q,
            retry: 25,
            timeout: 1800n,
            groupKey: "g1",
          }),
        ),
      ),
      state: "scheduled",
      group: "g1",
    });
    await redis.zadd(keys.scheduledKey(Q), dueS, grouped);
    // A task without a group due at the same second: it runs (the server is working).
    await enqueue({ type: "plain", payload: "p" }, { taskId: "plain-1", processAt: dueS * 1000 });

    const routedAt = await waitFor(
      async () => ((await stateOf(redis, Q, grouped)) === "aggregating" ? Date.now() : 0),
      "the grouped task to reach its group",
      { timeoutMs: 5000, intervalMs: 5 },
    );
    expect(routedAt).toBeGreaterThanOrEqual(dueS * 1000);
    expect(routedAt).toBeLessThanOrEqual(due + WINDOW_MS);
    latencies.push(
      `grouped task routed at T ${routedAt - due >= 0 ? "+" : ""}${routedAt - due} ms (polled every 5 ms)`,
    );
    expect(await redis.zscore(keys.groupKey(Q, "g1"), grouped)).not.toBeNull();
    expect(await redis.sismember(keys.allGroupsKey(Q), "g1")).toBe(1);
    expect(await redis.exists(keys.scheduledKey(Q))).toBe(0);
    expect(await redis.lpos(keys.pendingKey(Q), grouped)).toBeNull();

    await waitFor(() => h.starts.has("plain-1"), "the plain task to run", { timeoutMs: 3000 });
    await sleep(1500); // more than a poll interval and a forwarder tick
    expect(h.starts.has(grouped)).toBe(false);
    expect(await stateOf(redis, Q, grouped)).toBe("aggregating");
  });

  it("a paused queue's due task is forwarded to pending but runs only once the queue is unpaused", async () => {
    await redis.set(keys.pausedKey(Q), String(Math.floor(Date.now() / 1000)));
    const h = recordingHandler();
    await startServer(redis, h.handler, SERVER);
    const before = Date.now();
    await enqueue({ type: "paused", payload: "x" }, { taskId: "paused-1", processIn: 1000 });
    const due = before + 1000;

    const forwardedAt = await waitFor(
      async () => ((await stateOf(redis, Q, "paused-1")) === "pending" ? Date.now() : 0),
      "the task to be forwarded to pending",
      { timeoutMs: 5000, intervalMs: 5 },
    );
    expect(forwardedAt).toBeLessThanOrEqual(due + 1000 + WINDOW_MS);
    const task = (await readTask(redis, Q, "paused-1"))!;
    expect(task.fields.pending_since).toMatch(/^\d+$/);
    expect(await redis.lrange(keys.pendingKey(Q), 0, -1)).toEqual(["paused-1"]);

    await sleep(1500); // more than a poll interval: the paused queue is not served
    expect(h.starts.has("paused-1")).toBe(false);
    expect(await stateOf(redis, Q, "paused-1")).toBe("pending");

    await redis.del(keys.pausedKey(Q));
    const unpausedAt = Date.now();
    await waitFor(() => h.starts.has("paused-1"), "the task to run after unpausing", { timeoutMs: 5000 });
    latencies.push(`paused task: started ${h.starts.get("paused-1")![0]! - unpausedAt} ms after unpausing`);
    await waitFor(async () => (await redis.exists(keys.taskKey(Q, "paused-1"))) === 0, "the task to be done");
  });
});
