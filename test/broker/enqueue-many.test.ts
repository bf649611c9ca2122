// The enqueue_many script: writes exactly what asynq's single-task scripts (the oracle, ./oracle/)
// write, task by task (every route, duplicates and ID conflicts within one call included), names every
// key it touches in KEYS, refuses tasks whose container holds another type without writing anything of
// them, and reports when it created a queue's list or zset. Runs on a private Redis (keyspace
// notifications are server-wide).
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  Enqueuer,
  enqueueManyCalls,
  enqueueManyScript,
  MAX_TASKS_PER_CALL,
  type EnqueueRequest,
} from "../../src/broker/enqueue/enqueue.js";
import { runScript } from "../../src/broker/scripts.js";
import { resolveTask } from "../../src/client/options.js";
import { BrokerError } from "../../src/errors.js";
import { unixNanos } from "../../src/internal/clock.js";
import type { Task } from "../../src/task.js";
import type { EnqueueOptions } from "../../src/client/options.js";
import { startPrivateRedis, type PrivateRedis } from "../support/processes.js";
import { enqueueCall } from "./oracle/enqueue-call.js";

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0) + 250.5;

let server: PrivateRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startPrivateRedis();
  redis = new Redis(server.url);
});

afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

beforeEach(async () => {
  await redis.flushdb();
});

function req(task: Task, options?: EnqueueOptions): EnqueueRequest {
  return resolveTask(task, options, NOW).request;
}

/** Runs the requests through enqueue_many (all of one queue); the per-task codes and each call's last element. */
async function runMany(
  reqs: readonly EnqueueRequest[],
  maxTasks?: number,
): Promise<{ codes: number[]; fresh: number[] }> {
  const calls = enqueueManyCalls(
    reqs.map((r) => ({ req: r, nowMs: NOW })),
    maxTasks,
  );
  const codes: number[] = [];
  const fresh: number[] = [];
  for (const call of calls) {
    const reply = (await runScript(redis, enqueueManyScript, call.keys, call.args)) as number[];
    codes.push(...reply.slice(0, -1));
    fresh.push(reply[reply.length - 1]!);
  }
  return { codes, fresh };
}

/** Runs the requests one by one through the single-task scripts. */
async function runSingle(reqs: readonly EnqueueRequest[]): Promise<number[]> {
  const codes: number[] = [];
  for (const r of reqs) {
    const call = enqueueCall(r, NOW, unixNanos(NOW));
    codes.push((await runScript(redis, call.script, call.keys, call.args)) as number);
  }
  return codes;
}

/** Every key with its type, TTL (present or not) and content; hash fields in stored order. */
async function dump(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of (await redis.keys("*")).sort()) {
    const type = await redis.type(key);
    const ttl = (await redis.ttl(key)) > 0 ? "ttl" : "none";
    let value: unknown;
    if (type === "hash")
      value = Object.entries(await redis.hgetallBuffer(key)).map(([f, v]) => [f, v.toString("hex")]);
    else if (type === "list") value = await redis.lrange(key, 0, -1);
    else if (type === "zset") value = await redis.zrange(key, 0, -1, "WITHSCORES");
    else if (type === "set") value = (await redis.smembers(key)).sort();
    else value = await redis.get(key);
    out[key] = { type, ttl, value };
  }
  return out;
}

describe("enqueue_many", () => {
  it("writes what the single-task scripts write, task by task, for every route and outcome", async () => {
    const seeds = [
      req({ type: "seed" }, { taskId: "taken" }),
      req({ type: "locked", payload: "p" }, { unique: 60_000, taskId: "lock-holder" }),
      req({ type: "seed-g" }, { taskId: "taken-g", group: "g1" }),
    ];
    const tasks = [
      /* 0 */ req({ type: "plain", payload: { n: 0 } }, { taskId: "p-0" }),
      /* 1 */ req({ type: "u", payload: "one" }, { unique: 60_000, taskId: "u-first" }),
      /* 2 */ req({ type: "u", payload: "one" }, { unique: 60_000, taskId: "u-second" }), // dup in call
      /* 3 */ req({ type: "plain", payload: 3 }, { taskId: "taken" }), // conflict with Redis
      /* 4 */ req({ type: "plain", payload: 4 }, { taskId: "twice" }),
      /* 5 */ req({ type: "plain", payload: 5 }, { taskId: "twice" }), // conflict in call
      /* 6 */ req({ type: "locked", payload: "p" }, { unique: 60_000, taskId: "dup-redis" }), // dup with Redis
      /* 7 */ req({ type: "grouped", payload: 7, headers: { h: "v" } }, { group: "g1", taskId: "g-7" }),
      /* 8 */ req({ type: "grouped", payload: 8 }, { group: "g2", unique: 30_000, taskId: "g-8" }),
      /* 9 */ req({ type: "grouped", payload: 9 }, { group: "g1", taskId: "taken-g" }), // conflict
      /* 10 */ req({ type: "later", payload: 10 }, { processIn: 90_000, taskId: "s-10" }),
      /* 11 */ req({ type: "later", payload: 11 }, { processIn: 60_000, unique: 60_000, taskId: "s-11" }),
      /* 12 */ req({ type: "later", payload: 12 }, { processIn: 60_000, taskId: "twice" }), // conflict
      /* 13 */ req({ type: "ux", payload: "nine" }, { unique: 60_000, taskId: "taken" }), // conflict, lock freed
      /* 14 */ req({ type: "later", payload: 11 }, { processIn: 60_000, unique: 60_000, taskId: "s-14" }), // dup
      /* 15 */ req(
        { type: "deadline" },
        { deadline: NOW + 60_000, maxRetry: 2, retention: 5_000, taskId: "d-15" },
      ),
      /* 16 */ req({ type: "nopayload" }, { taskId: "n-16" }),
    ];
    const expected = [1, 1, -1, 0, 1, 0, -1, 1, 1, 0, 1, 1, 0, 0, -1, 1, 1];

    await runSingle(seeds);
    const single = await runSingle(tasks);
    const singleDump = await dump();
    await redis.flushdb();

    await runSingle(seeds);
    const many = await runMany(tasks);
    expect(many.codes).toEqual(expected);
    expect(single).toEqual(expected);
    expect(await dump()).toEqual(singleDump);
    expect(many.fresh).toEqual([1]); // the pending list and scheduled zset were created
  });

  it("names every key it touches in KEYS, all in the queue's hash slot", async () => {
    const q = "qé{x:y"; // not ASCII: the ID prefix length is counted in bytes
    const reqs = [
      req({ type: "a" }, { queue: q }),
      req({ type: "b", payload: "u" }, { queue: q, unique: 10_000 }),
      req({ type: "c" }, { queue: q, processIn: 5_000 }),
      req({ type: "d", payload: "u" }, { queue: q, processIn: 5_000, unique: 10_000 }),
      req({ type: "e" }, { queue: q, group: "g" }),
      req({ type: "f", payload: "u" }, { queue: q, group: "h", unique: 10_000 }),
      req({ type: "b", payload: "u" }, { queue: q, unique: 10_000 }), // duplicate: SET NX only
      req({ type: "g" }, { queue: q, taskId: "dup-id", unique: 10_000 }),
      req({ type: "h" }, { queue: q, taskId: "dup-id", unique: 10_000 }), // conflict: DEL of its lock
    ];
    const [call, ...rest] = enqueueManyCalls(reqs.map((r) => ({ req: r, nowMs: NOW })));
    expect(rest).toEqual([]);
    for (const key of call!.keys) expect(key.startsWith(`asynq:{${q}}:`), key).toBe(true);

    await redis.config("SET", "notify-keyspace-events", "KA");
    const subscriber = new Redis(server.url);
    const touched = new Set<string>();
    try {
      await subscriber.psubscribe("__keyspace@0__:*");
      let done: () => void = () => {};
      const drained = new Promise<void>((resolve) => (done = resolve));
      subscriber.on("pmessage", (_pattern: string, channel: string) => {
        const key = channel.slice("__keyspace@0__:".length);
        if (key === "sentinel") done();
        else touched.add(key);
      });
      const reply = (await runScript(redis, enqueueManyScript, call!.keys, call!.args)) as number[];
      expect(reply).toEqual([1, 1, 1, 1, 1, 1, -1, 1, 0, 1]);
      await redis.set("sentinel", "1"); // its notification comes after the script's
      await drained;
    } finally {
      subscriber.disconnect();
      await redis.config("SET", "notify-keyspace-events", "");
    }
    // IDs are cut from the task keys by byte length.
    expect(await redis.lrange(`asynq:{${q}}:pending`, 0, -1)).toEqual(
      [reqs[7]!, reqs[1]!, reqs[0]!].map((r) => r.msg.id),
    );
    expect(touched.size).toBeGreaterThan(10);
    for (const key of touched) expect(call!.keys, key).toContain(key);
  });

  it("refuses, writing nothing of them, the tasks whose list, zset or groups set holds another type", async () => {
    await redis.set("asynq:{default}:pending", "not a list");
    await redis.set("asynq:{default}:g:bad", "not a zset");
    const reqs = [
      req({ type: "p" }, { taskId: "p" }),
      req({ type: "pu", payload: "x" }, { unique: 60_000, taskId: "pu" }),
      req({ type: "s" }, { processIn: 5_000, taskId: "s" }),
      req({ type: "g" }, { group: "bad", taskId: "g-bad" }),
      req({ type: "gu", payload: "x" }, { group: "bad", unique: 60_000, taskId: "gu-bad" }),
      req({ type: "g" }, { group: "good", taskId: "g-good" }),
    ];
    const { codes, fresh } = await runMany(reqs);
    expect(codes).toEqual([-2, -2, 1, -2, -2, 1]);
    expect(fresh).toEqual([1]);
    for (const id of ["p", "pu", "g-bad", "gu-bad"])
      expect(await redis.exists(`asynq:{default}:t:${id}`)).toBe(0);
    expect(await redis.keys("asynq:{default}:unique:*")).toEqual([]);
    expect(await redis.get("asynq:{default}:pending")).toBe("not a list");
    expect(await redis.zrange("asynq:{default}:g:good", 0, -1)).toEqual(["g-good"]);
    expect(await redis.smembers("asynq:{default}:groups")).toEqual(["good"]);

    await redis.flushdb();
    await redis.set("asynq:{default}:groups", "not a set");
    const grouped = await runMany([
      req({ type: "g" }, { group: "a", taskId: "g-a" }),
      req({ type: "p" }, { taskId: "p" }),
    ]);
    expect(grouped.codes).toEqual([-3, 1]);
    expect(await redis.exists("asynq:{default}:t:g-a", "asynq:{default}:g:a")).toBe(0);
  });

  it("reports whether it wrote into a list or zset it created (the queue may be unregistered)", async () => {
    expect((await runMany([req({ type: "t" }, { taskId: "a" })])).fresh).toEqual([1]);
    expect((await runMany([req({ type: "t" }, { taskId: "b" })])).fresh).toEqual([0]);
    // Nothing written (a conflict): nothing created.
    await redis.del("asynq:{default}:pending");
    expect((await runMany([req({ type: "t" }, { taskId: "a" })])).fresh).toEqual([0]);
    expect(await redis.exists("asynq:{default}:pending")).toBe(0);
    expect((await runMany([req({ type: "t" }, { taskId: "s", processIn: 5_000 })])).fresh).toEqual([1]);
    expect((await runMany([req({ type: "t" }, { taskId: "s2", processIn: 5_000 })])).fresh).toEqual([0]);
    expect((await runMany([req({ type: "t" }, { taskId: "g", group: "g" })])).fresh).toEqual([1]);
    expect((await runMany([req({ type: "t" }, { taskId: "g2", group: "g" })])).fresh).toEqual([0]);
  });

  it("pushes and schedules more IDs than one LPUSH / ZADD slice, in task order", async () => {
    const n = 1_234;
    const pending = Array.from({ length: n }, (_, i) => req({ type: "t", payload: i }, { taskId: `p-${i}` }));
    const scheduled = Array.from({ length: n }, (_, i) =>
      req({ type: "t", payload: i }, { taskId: `s-${i}`, processAt: NOW + 10_000 + i * 1000 }),
    );
    const { codes } = await runMany([...pending, ...scheduled], 10 * n);
    expect(codes).toEqual(new Array(2 * n).fill(1));
    // LPUSH one by one leaves the first task at the tail.
    expect(await redis.lrange("asynq:{default}:pending", 0, -1)).toEqual(
      pending.map((r) => r.msg.id).reverse(),
    );
    const zset = await redis.zrange("asynq:{default}:scheduled", 0, -1, "WITHSCORES");
    expect(zset).toHaveLength(2 * n);
    expect(zset.slice(0, 2)).toEqual(["s-0", String(Math.floor((NOW + 10_000) / 1000))]);
  });

  it("slices calls at MAX_TASKS_PER_CALL tasks per queue, keeping each queue's tasks in order", () => {
    const reqs = Array.from({ length: 2 * MAX_TASKS_PER_CALL + 1 }, (_, i) =>
      req({ type: "t" }, { queue: i % 2 === 0 ? "even" : "odd", taskId: `t-${i}` }),
    );
    const calls = enqueueManyCalls(reqs.map((r) => ({ req: r, nowMs: NOW })));
    expect(calls.map((c) => [c.queue, c.keys.length - 3])).toEqual([
      ["even", MAX_TASKS_PER_CALL],
      ["odd", MAX_TASKS_PER_CALL],
      ["even", 1],
    ]);
    expect(calls[0]!.keys[3]).toBe("asynq:{even}:t:t-0");
    expect(calls[2]!.keys[3]).toBe(`asynq:{even}:t:t-${2 * MAX_TASKS_PER_CALL}`);
    // Tasks of another instant go into a call of their own (each keeps its pending_since).
    const split = enqueueManyCalls([
      { req: reqs[0]!, nowMs: NOW },
      { req: reqs[2]!, nowMs: NOW + 1 },
      { req: reqs[4]!, nowMs: NOW + 1 },
    ]);
    expect(split.map((c) => [c.keys.length - 3, c.args[0]])).toEqual([
      [1, unixNanos(NOW)],
      [2, unixNanos(NOW + 1)],
    ]);
  });
});

describe("Enqueuer", () => {
  it("cuts the right IDs from task keys that carry ioredis' keyPrefix", async () => {
    const prefixed = new Redis(server.url, { keyPrefix: "pré:" });
    try {
      const enqueuer = new Enqueuer(prefixed, () => 0);
      const reqs = [
        req({ type: "a" }, { taskId: "id-a" }),
        req({ type: "b" }, { taskId: "id-b", processIn: 5_000 }),
      ];
      const { outcomes } = await enqueuer.write(
        reqs.map((r) => ({ req: r, nowMs: NOW })),
        "test",
      );
      expect(outcomes).toEqual(["enqueued", "enqueued"]);
      expect(await redis.lrange("pré:asynq:{default}:pending", 0, -1)).toEqual(["id-a"]);
      expect(await redis.zrange("pré:asynq:{default}:scheduled", 0, -1)).toEqual(["id-b"]);
    } finally {
      prefixed.disconnect();
    }
  });

  it("fails only the task whose message cannot be encoded, and sends the others", async () => {
    const good = req({ type: "ok" }, { taskId: "good" });
    const bad = req({ type: "bad" }, { taskId: "bad" });
    bad.msg = { ...bad.msg, type: "lone \ud800 surrogate" };
    const enqueuer = new Enqueuer(redis, () => 0);
    const { outcomes, unregistered } = await enqueuer.write(
      [good, bad].map((r) => ({ req: r, nowMs: NOW })),
      "test",
    );
    expect(outcomes[0]).toBe("enqueued");
    expect(outcomes[1]).toBeInstanceOf(BrokerError);
    expect(unregistered.size).toBe(0);
    expect(await redis.lrange("asynq:{default}:pending", 0, -1)).toEqual(["good"]);
    expect(await redis.exists("asynq:{default}:t:bad")).toBe(0);
    await expect(enqueuer.enqueue(bad, NOW)).rejects.toBeInstanceOf(BrokerError);
  });
});
