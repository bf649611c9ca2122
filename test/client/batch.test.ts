// Client.enqueueBatch: many tasks in few enqueue_many calls, per-task results in order, every route and
// option, and recovery from a flushed script cache (wire-format §4.9, with our deliberate differences).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { enqueueManyScript, MAX_TASKS_PER_CALL } from "../../src/broker/enqueue/enqueue.js";
import { Client, type BatchResult } from "../../src/client/client.js";
import { AsynqError, BrokerError, DuplicateTaskError, TaskIdConflictError } from "../../src/errors.js";
import { ManualClock, unixNanos } from "../../src/internal/clock.js";
import type { Task, TaskInfo } from "../../src/task.js";
import { decodeTaskMessage } from "../../src/wire/proto.js";
import { ping } from "../../tools/redis.js";
import { freshRedis, testRedisUrl } from "../support/redis.js";

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0) + 750;
const NOW_S = Math.floor(NOW / 1000);

let redis: Redis;
let clock: ManualClock;
let client: Client;

beforeAll(async () => {
  redis = await freshRedis();
  clock = new ManualClock(NOW);
  client = new Client(testRedisUrl(), { clock });
});

afterAll(async () => {
  await client.close();
  redis.disconnect();
});

beforeEach(async () => {
  await redis.flushdb();
  clock.set(NOW);
});

const md5 = (s: string): string => createHash("md5").update(s).digest("hex");

function okInfo(result: BatchResult | undefined): TaskInfo {
  expect(result?.ok, `expected success, got ${result?.ok === false ? String(result.error) : "nothing"}`).toBe(
    true,
  );
  return (result as { ok: true; info: TaskInfo }).info;
}

function failure(result: BatchResult | undefined): Error {
  expect(result?.ok, "expected a failed result").toBe(false);
  return (result as { ok: false; error: Error }).error;
}

async function countKeys(pattern: string): Promise<number> {
  let cursor = "0";
  let count = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    count += keys.length;
  } while (cursor !== "0");
  return count;
}

describe("enqueueBatch", () => {
  it("writes 10,000 tasks in one call, results in task order", async () => {
    const n = 10_000;
    const tasks: Task[] = Array.from({ length: n }, (_, i) => ({ type: "bulk", payload: { i } }));
    const results = await client.enqueueBatch(tasks);

    expect(results).toHaveLength(n);
    const ids = results.map((r, i) => {
      const info = okInfo(r);
      expect(info.state).toBe("pending");
      expect(Buffer.from(info.payload).toString()).toBe(`{"i":${i}}`);
      return info.id;
    });
    expect(new Set(ids).size).toBe(n);

    expect(await redis.llen("asynq:{default}:pending")).toBe(n);
    expect(await countKeys("asynq:{default}:t:*")).toBe(n);
    expect(await redis.dbsize()).toBe(n + 2); // + pending + asynq:queues

    // Each result describes the task written for the task at the same index.
    const pipeline = redis.pipeline();
    for (const id of ids) pipeline.hgetBuffer(`asynq:{default}:t:${id}`, "msg");
    const replies = (await pipeline.exec())!;
    replies.forEach(([error, msg], i) => {
      expect(error).toBeNull();
      const decoded = decodeTaskMessage(msg as Buffer);
      expect(decoded.id).toBe(ids[i]);
      expect(Buffer.from(decoded.payload).toString()).toBe(`{"i":${i}}`);
    });
    // Written in order: the first task is the first to be consumed (tail of the list).
    expect(await redis.lindex("asynq:{default}:pending", -1)).toBe(ids[0]);
    expect(await redis.lindex("asynq:{default}:pending", 0)).toBe(ids[n - 1]);
    // One pending_since for the whole call, as Go's BatchEnqueue does.
    for (const id of [ids[0]!, ids[4999]!, ids[n - 1]!]) {
      expect(await redis.hget(`asynq:{default}:t:${id}`, "pending_since")).toBe(unixNanos(NOW));
    }
  });

  it("returns [] for an empty batch and writes nothing", async () => {
    expect(await client.enqueueBatch([])).toEqual([]);
    expect(await redis.dbsize()).toBe(0);
  });

  it("gives per-task DuplicateTaskError / TaskIdConflictError while the others succeed", async () => {
    await client.enqueue({ type: "seed" }, { taskId: "taken" });
    await client.enqueue({ type: "locked", payload: "p" }, { unique: 60_000, taskId: "lock-holder" });

    const tasks: Task[] = [
      /* 0 */ { type: "plain", payload: 0 },
      /* 1 */ { type: "u", payload: "one", options: { unique: 60_000, taskId: "u-first" } },
      /* 2 */ { type: "u", payload: "one", options: { unique: 60_000, taskId: "u-second" } }, // dup in batch
      /* 3 */ { type: "plain", payload: 3, options: { taskId: "taken" } }, // conflict with Redis
      /* 4 */ { type: "plain", payload: 4, options: { taskId: "twice" } },
      /* 5 */ { type: "plain", payload: 5, options: { taskId: "twice" } }, // conflict in batch
      /* 6 */ { type: "locked", payload: "p", options: { unique: 60_000 } }, // dup with Redis
      /* 7 */ { type: "grouped", payload: 7, options: { group: "g1", taskId: "g-7" } },
      /* 8 */ { type: "plain", payload: 8, options: { processIn: 30_000, taskId: "s-8" } },
      /* 9 */ { type: "ux", payload: "nine", options: { unique: 60_000, taskId: "taken" } }, // conflict, lock freed
    ];
    const results = await client.enqueueBatch(tasks);
    expect(results).toHaveLength(tasks.length);

    const ok = [0, 1, 4, 7, 8].map((i) => okInfo(results[i]));
    expect(ok.map((i) => i.state)).toEqual(["pending", "pending", "pending", "aggregating", "scheduled"]);

    for (const i of [2, 6]) {
      const error = failure(results[i]);
      expect(error, `task ${i}`).toBeInstanceOf(DuplicateTaskError);
      expect(error).toBeInstanceOf(AsynqError);
      expect((error as DuplicateTaskError).code).toBe("ERR_DUPLICATE_TASK");
      expect((error as DuplicateTaskError).op).toBe("client.enqueueBatch");
    }
    expect((failure(results[2]) as DuplicateTaskError).uniqueKey).toBe(
      `asynq:{default}:unique:u:${md5("one")}`,
    );
    for (const [i, id] of [
      [3, "taken"],
      [5, "twice"],
      [9, "taken"],
    ] as const) {
      const error = failure(results[i]);
      expect(error, `task ${i}`).toBeInstanceOf(TaskIdConflictError);
      expect((error as TaskIdConflictError).code).toBe("ERR_TASK_ID_CONFLICT");
      expect((error as TaskIdConflictError).taskId).toBe(id);
    }

    // Redis holds exactly the successes, and the refused tasks left nothing behind.
    const pending = await redis.lrange("asynq:{default}:pending", 0, -1);
    expect(pending.sort()).toEqual([ok[0]!.id, "lock-holder", "taken", "twice", "u-first"].sort());
    expect(await redis.zrange("asynq:{default}:g:g1", 0, -1)).toEqual(["g-7"]);
    expect(await redis.zrange("asynq:{default}:scheduled", 0, -1)).toEqual(["s-8"]);
    expect(await redis.exists("asynq:{default}:t:u-second")).toBe(0);
    expect(await redis.get(`asynq:{default}:unique:u:${md5("one")}`)).toBe("u-first");
    expect(await redis.get(`asynq:{default}:unique:locked:${md5("p")}`)).toBe("lock-holder");
    expect(await redis.exists(`asynq:{default}:unique:ux:${md5("nine")}`)).toBe(0);
    expect(decodeTaskMessage((await redis.hgetBuffer("asynq:{default}:t:taken", "msg"))!).type).toBe("seed");
    expect(decodeTaskMessage((await redis.hgetBuffer("asynq:{default}:t:twice", "msg"))!).payload).toEqual(
      Buffer.from("4"),
    );
  });

  it("reports a Redis error inside one task's script as that task's BrokerError", async () => {
    await redis.set("asynq:{broken}:pending", "not a list");
    const results = await client.enqueueBatch([
      { type: "t", payload: 1 },
      { type: "t", payload: 2, options: { queue: "broken" } },
      { type: "t", payload: 3 },
    ]);
    okInfo(results[0]);
    okInfo(results[2]);
    const error = failure(results[1]);
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).code).toBe("ERR_BROKER");
    expect(error.message).toMatch(/WRONGTYPE/);
    expect(await redis.llen("asynq:{default}:pending")).toBe(2);
  });

  it("supports unique and group tasks (locks, group zsets, hash fields)", async () => {
    const results = await client.enqueueBatch([
      { type: "u", payload: "a", options: { unique: 120_000 } },
      { type: "u", payload: "b", options: { unique: 60_000, processIn: 60_000 } },
      { type: "g", payload: 1, options: { group: "daily" } },
      { type: "g", payload: 2, options: { group: "daily", unique: 30_000 } },
      { type: "g", payload: 3, options: { group: "weekly", queue: "other" } },
    ]);
    const [a, b, g1, g2, g3] = results.map(okInfo);

    expect(await redis.get(`asynq:{default}:unique:u:${md5("a")}`)).toBe(a!.id);
    expect(await redis.ttl(`asynq:{default}:unique:u:${md5("a")}`)).toBeGreaterThanOrEqual(119);
    expect(await redis.get(`asynq:{default}:unique:u:${md5("b")}`)).toBe(b!.id);
    expect(await redis.ttl(`asynq:{default}:unique:u:${md5("b")}`)).toBeGreaterThanOrEqual(119);
    expect(await redis.zscore("asynq:{default}:scheduled", b!.id)).toBe(
      String(Math.floor((NOW + 60_000) / 1000)),
    );
    expect(await redis.hget(`asynq:{default}:t:${a!.id}`, "unique_key")).toBe(
      `asynq:{default}:unique:u:${md5("a")}`,
    );

    expect((await redis.zrange("asynq:{default}:g:daily", 0, -1)).sort()).toEqual([g1!.id, g2!.id].sort());
    expect(await redis.zscore("asynq:{default}:g:daily", g1!.id)).toBe(String(NOW_S));
    expect(await redis.smembers("asynq:{default}:groups")).toEqual(["daily"]);
    expect(await redis.hget(`asynq:{default}:t:${g1!.id}`, "group")).toBe("daily");
    expect(await redis.hget(`asynq:{default}:t:${g2!.id}`, "unique_key")).toBe(
      `asynq:{default}:unique:g:${md5("2")}`,
    );
    expect(await redis.get(`asynq:{default}:unique:g:${md5("2")}`)).toBe(g2!.id);
    expect(await redis.zrange("asynq:{other}:g:weekly", 0, -1)).toEqual([g3!.id]);
    expect(await redis.smembers("asynq:{other}:groups")).toEqual(["weekly"]);
  });

  it("keeps headers and per-task options in batch mode (unlike Go, §9.10)", async () => {
    const [r] = await client.enqueueBatch([
      { type: "h", headers: { a: "1" }, options: { headers: { b: "2" }, maxRetry: 4, timeout: 2_000 } },
    ]);
    const info = okInfo(r);
    const msg = decodeTaskMessage((await redis.hgetBuffer(`asynq:{default}:t:${info.id}`, "msg"))!);
    expect(msg.headers).toEqual({ a: "1", b: "2" });
    expect(msg.retry).toBe(4);
    expect(msg.timeout).toBe(2n);
  });

  it("registers every queue of the batch", async () => {
    const results = await client.enqueueBatch([
      { type: "t", options: { queue: "a" } },
      { type: "t", options: { queue: "b", processIn: 1000 } },
      { type: "t", options: { queue: "c", group: "g" } },
      { type: "t", options: { queue: "a" } },
      { type: "t" },
    ]);
    results.forEach(okInfo);
    expect((await redis.smembers("asynq:queues")).sort()).toEqual(["a", "b", "c", "default"]);
    expect(await redis.llen("asynq:{a}:pending")).toBe(2);
    expect(await redis.zcard("asynq:{b}:scheduled")).toBe(1);
    expect(await redis.zcard("asynq:{c}:g:g")).toBe(1);
    expect(await redis.llen("asynq:{default}:pending")).toBe(1);
  });

  it("still works after SCRIPT FLUSH (NOSCRIPT: scripts are loaded again), batch and single", async () => {
    // Warm the script cache, then drop it.
    await client.enqueueBatch([{ type: "warm" }]);
    await redis.flushdb();
    await redis.script("FLUSH");

    const results = await client.enqueueBatch([
      { type: "t", payload: 1 },
      { type: "t", payload: 2, options: { unique: 60_000 } },
      { type: "t", payload: 3, options: { processIn: 10_000 } },
      { type: "t", payload: 4, options: { processIn: 10_000, unique: 60_000 } },
      { type: "t", payload: 5, options: { group: "g" } },
      { type: "t", payload: 6, options: { group: "g", unique: 60_000 } },
    ]);
    results.forEach(okInfo);
    expect(await redis.llen("asynq:{default}:pending")).toBe(2);
    expect(await redis.zcard("asynq:{default}:scheduled")).toBe(2);
    expect(await redis.zcard("asynq:{default}:g:g")).toBe(2);
    expect(await redis.keys("asynq:{default}:unique:*")).toHaveLength(3);

    await redis.script("FLUSH");
    const single = await client.enqueue({ type: "single" }, { unique: 60_000 });
    expect(await redis.get("asynq:{default}:unique:single:")).toBe(single.id);
    await redis.script("FLUSH");
    const scheduled = await client.enqueue({ type: "single" }, { processIn: 5_000 });
    expect(await redis.zscore("asynq:{default}:scheduled", scheduled.id)).not.toBeNull();

    // Duplicates and conflicts are still reported as such after a reload.
    await redis.script("FLUSH");
    const again = await client.enqueueBatch([
      { type: "t", payload: 2, options: { unique: 60_000 } },
      { type: "x", options: { taskId: single.id } },
    ]);
    expect(failure(again[0])).toBeInstanceOf(DuplicateTaskError);
    expect(failure(again[1])).toBeInstanceOf(TaskIdConflictError);
  });
});

// Counting commands needs a Redis whose statistics and script cache nobody else touches (other test
// files run SCRIPT FLUSH and CONFIG RESETSTAT is server-wide): a private server for this block.
const redisServer = spawnSync("redis-server", ["--version"]).status === 0;

describe.skipIf(!redisServer)("enqueueBatch round trips and commands, on a private Redis", () => {
  let server: ChildProcess | undefined;
  let dir: string | undefined;
  let url = "";
  let admin: Redis;

  beforeAll(async () => {
    const port = await new Promise<number>((resolve, reject) => {
      const probe = createServer();
      probe.on("error", reject);
      probe.listen(0, "127.0.0.1", () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
      });
    });
    dir = mkdtempSync(join(tmpdir(), "asynq-ts-batch-test-"));
    server = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
      { stdio: "ignore" },
    );
    for (let i = 0; i < 100 && !(await ping("127.0.0.1", port)); i++)
      await new Promise((r) => setTimeout(r, 50));
    url = `redis://127.0.0.1:${port}/0`;
    admin = new Redis(url);
  });

  afterAll(async () => {
    admin?.disconnect();
    if (server !== undefined && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once("exit", resolve));
      server.kill("SIGTERM");
      await exited;
    }
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function commandStats(): Promise<Record<string, { calls: number; failed: number }>> {
    const out: Record<string, { calls: number; failed: number }> = {};
    for (const line of (await admin.info("commandstats")).split("\r\n")) {
      const m = /^cmdstat_([^:]+):calls=(\d+),.*?(?:failed_calls=(\d+))?$/.exec(line);
      if (!m) continue;
      // Subcommands are listed as `script|load`: count them under the full name and under `script`.
      for (const name of new Set([m[1]!, m[1]!.split("|")[0]!])) {
        const entry = (out[name] ??= { calls: 0, failed: 0 });
        entry.calls += Number(m[2]);
        entry.failed += Number(m[3] ?? 0);
      }
    }
    return out;
  }

  /** enqueue_many calls for `counts` tasks per queue. */
  const callsFor = (...counts: number[]): number =>
    counts.reduce((sum, n) => sum + Math.ceil(n / MAX_TASKS_PER_CALL), 0);

  it("sends one EVALSHA per queue and slice, no pipeline and no other command once warm", async () => {
    const own = new Redis(url);
    const mine = new Client(own, { clock });
    try {
      // Warm up: the script is sent (EVAL) and the queues are registered (twice: the first call
      // created the lists, so the next one registers them again up front).
      for (let i = 0; i < 2; i++)
        await mine.enqueueBatch([
          { type: "warm", options: { queue: "even" } },
          { type: "warm", options: { queue: "odd" } },
        ]);
      const pipelineSpy = vi.spyOn(own, "pipeline");
      const evalshaSpy = vi.spyOn(own, "evalsha");
      const others = (["eval", "sadd", "script", "call", "callBuffer", "sendCommand"] as const).map((name) =>
        vi.spyOn(own, name),
      );
      const spied = (): void => {
        expect(pipelineSpy).not.toHaveBeenCalled();
        for (const spy of others.slice(0, -1)) expect(spy, spy.getMockName()).not.toHaveBeenCalled();
      };

      const tasks: Task[] = Array.from({ length: 500 }, (_, i) => ({
        type: "t",
        payload: i,
        options: { queue: i % 2 === 0 ? "even" : "odd", unique: i % 5 === 0 ? 60_000 : undefined },
      }));
      (await mine.enqueueBatch(tasks)).forEach(okInfo);
      expect(evalshaSpy).toHaveBeenCalledTimes(callsFor(250, 250));
      spied();
      // Every call is one command: EVALSHA is all that reached ioredis' sendCommand.
      expect(others.at(-1)).toHaveBeenCalledTimes(callsFor(250, 250));

      // A single enqueue: one EVALSHA.
      evalshaSpy.mockClear();
      others.at(-1)!.mockClear();
      await mine.enqueue({ type: "one" }, { queue: "even" });
      expect(evalshaSpy).toHaveBeenCalledTimes(1);
      expect(others.at(-1)).toHaveBeenCalledTimes(1);
      spied();

      // Concurrent single enqueues of one tick share calls.
      evalshaSpy.mockClear();
      const infos = await Promise.all(
        Array.from({ length: 600 }, (_, i) => mine.enqueue({ type: "c", payload: i }, { queue: "odd" })),
      );
      expect(new Set(infos.map((i) => i.id)).size).toBe(600);
      expect(evalshaSpy).toHaveBeenCalledTimes(callsFor(600));
      spied();

      // After a flush of the script cache: the NOSCRIPT calls are re-sent after one SCRIPT LOAD.
      await admin.script("FLUSH");
      evalshaSpy.mockClear();
      vi.restoreAllMocks();
      const load = vi.spyOn(own, "script");
      const evalSpy = vi.spyOn(own, "eval");
      const more = await mine.enqueueBatch(tasks.map((t, i) => ({ ...t, payload: `again ${i}` })));
      more.forEach(okInfo);
      expect(load.mock.calls.map((c) => c[0])).toEqual(["EXISTS", "LOAD"]);
      expect(evalSpy).not.toHaveBeenCalled();
    } finally {
      vi.restoreAllMocks();
      await mine.close();
      own.disconnect();
    }
  });

  it("keeps a queue's order while the script cache is flushed and reloaded by others during the batch", async () => {
    // What a failover or SCRIPT FLUSH does with many producers: some calls of the batch meet NOSCRIPT,
    // and another client loads the script before the batch's later calls arrive.
    const mine = new Client(url, { clock });
    const churn = new Redis(url);
    let churning = true;
    const churned = (async () => {
      let rounds = 0;
      while (churning) {
        await churn.script("FLUSH");
        await churn.script("LOAD", enqueueManyScript.source);
        rounds++;
      }
      return rounds;
    })();
    try {
      for (let round = 0; round < 5; round++) {
        await admin.flushdb();
        const n = 4 * MAX_TASKS_PER_CALL + 7;
        const results = await mine.enqueueBatch(
          Array.from({ length: n }, (_, i) => ({ type: "ordered", payload: i })),
        );
        const ids = results.map((r) => okInfo(r).id);
        // The first task is consumed first: the tail of pending is the head of the batch.
        expect((await admin.lrange("asynq:{default}:pending", 0, -1)).reverse()).toEqual(ids);
      }
    } finally {
      churning = false;
      expect(await churned).toBeGreaterThan(0);
      churn.disconnect();
      await mine.close();
    }
  });

  it("registers a queue its workers keep empty with every enqueue, in the same round trip", async () => {
    const mine = new Client(url, { clock });
    const pending = "asynq:{drained}:pending";
    try {
      await mine.enqueue({ type: "warm" }, { queue: "drained" });
      await admin.config("RESETSTAT");
      const step = async (drain: boolean): Promise<number> => {
        if (drain) await admin.del(pending); // what a worker does when it takes the last task
        await admin.srem("asynq:queues", "drained");
        await mine.enqueue({ type: "t" }, { queue: "drained" });
        expect(await admin.sismember("asynq:queues", "drained")).toBe(drain ? 1 : 0);
        return (await commandStats()).sadd?.calls ?? 0;
      };
      // The list is created: registered again after the reply (a second round trip).
      expect(await step(true)).toBe(1);
      // Still drained: registered up front, in the same round trip (one command more).
      expect(await step(true)).toBe(2);
      expect(await step(true)).toBe(3);
      // The list was there: that SADD was the last; the next enqueue sends none.
      await admin.sadd("asynq:queues", "drained");
      await mine.enqueue({ type: "t" }, { queue: "drained" });
      expect((await commandStats()).sadd?.calls).toBe(5); // + the admin's own SADD
      expect(await step(false)).toBe(5);
    } finally {
      await mine.close();
    }
  });

  it("counts in Redis: EVALSHA per call, SADD per new queue only, EVAL only for the very first call", async () => {
    await admin.script("FLUSH");
    await admin.config("RESETSTAT");
    const batchClient = new Client(url, { clock });
    try {
      // The first call of a client sends the script's source (EVAL): no NOSCRIPT round trip.
      await batchClient.enqueueBatch([
        { type: "warm", options: { queue: "a" } },
        { type: "warm", options: { queue: "b" } },
      ]);
      const first = await commandStats();
      expect(first.eval?.calls).toBe(1);
      expect(first.evalsha?.calls).toBe(1);
      expect(first.evalsha?.failed ?? 0).toBe(0);
      expect(first.sadd?.calls).toBe(2);
      await admin.flushdb();
      await admin.config("RESETSTAT");

      // 250 tasks per queue: one call each (a queue with more calls is sent with EVAL, below).
      const n = 3 * MAX_TASKS_PER_CALL;
      const queues = ["a", "b", "c"];
      const tasks: Task[] = Array.from({ length: n }, (_, i) => ({
        type: "t",
        payload: i,
        options: { queue: queues[i % 3]!, unique: i % 10 === 0 ? 60_000 : undefined },
      }));
      (await batchClient.enqueueBatch(tasks)).forEach(okInfo);

      const calls = callsFor(250, 250, 250);
      const stats = await commandStats();
      expect(stats.evalsha?.calls).toBe(calls);
      expect(stats.evalsha?.failed ?? 0).toBe(0);
      // c is new to this client; a and b were registered, but their lists were created again (the
      // DB was flushed), so they are registered again too.
      expect(stats.sadd?.calls).toBe(3);
      expect(stats.eval).toBeUndefined();
      expect(stats.script).toBeUndefined();
      expect(await admin.llen("asynq:{a}:pending")).toBe(250);
      expect((await admin.smembers("asynq:queues")).sort()).toEqual(queues);

      // The lists had been created again: one more registration up front, and then none.
      await admin.config("RESETSTAT");
      (await batchClient.enqueueBatch(tasks.map((t) => ({ ...t, type: "second" })))).forEach(okInfo);
      expect((await commandStats()).sadd?.calls).toBe(3);

      // Registered queues with existing lists: no SADD at all.
      await admin.config("RESETSTAT");
      (await batchClient.enqueueBatch(tasks.map((t) => ({ ...t, type: "again" })))).forEach(okInfo);
      const warm = await commandStats();
      expect(warm.evalsha?.calls).toBe(calls);
      expect(warm.sadd).toBeUndefined();

      // After SCRIPT FLUSH the batch loads the script (SCRIPT LOAD), re-sends the NOSCRIPT calls, and never EVALs.
      await admin.script("FLUSH");
      await admin.config("RESETSTAT");
      (await batchClient.enqueueBatch(tasks.map((t) => ({ ...t, type: "third" })))).forEach(okInfo);
      const after = await commandStats();
      expect(after.eval).toBeUndefined();
      expect(after.evalsha?.calls).toBe(2 * calls);
      expect(after.evalsha?.failed).toBe(calls);
      expect(after["script|exists"]?.calls).toBe(1);
      expect(after["script|load"]?.calls).toBe(1);
      expect(await admin.llen("asynq:{a}:pending")).toBe(4 * 250);

      // A queue with several calls: each is sent with EVAL, so none meets NOSCRIPT (and none is
      // re-sent after the others: the queue keeps the batch's order).
      await admin.script("FLUSH");
      await admin.config("RESETSTAT");
      const many = Array.from({ length: 2 * MAX_TASKS_PER_CALL + 1 }, (_, i) => ({
        type: "many",
        payload: i,
      }));
      (await batchClient.enqueueBatch(many)).forEach(okInfo);
      const ordered = await commandStats();
      expect(ordered.eval?.calls).toBe(callsFor(many.length));
      expect(ordered.eval?.failed ?? 0).toBe(0);
      expect(ordered.evalsha).toBeUndefined();
      expect(ordered.script).toBeUndefined();
    } finally {
      await batchClient.close();
    }
  });
});
