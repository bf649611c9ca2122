// Many small worker processes on one queue (issue 14): ten processes take 20,000 tasks from one
// pending list, all naming candidates from the same tail. Every task is handled exactly once and the
// queue ends empty and consistent.
//
// Workers are real processes (test/fixtures/worker.ts), on this vitest worker's DB of the shared
// Redis. Their handler records each run in Redis (`test:*` keys, see the fixture).
import type { Redis } from "ioredis";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import type { Task } from "../../src/task.js";
import * as keys from "../../src/wire/keys.js";
import {
  checkInvariants,
  killAll,
  poll,
  queueContents,
  queueSettled,
  spawnWorker,
  type WorkerProcess,
} from "../support/processes.js";
import { freshRedis, testRedisUrl } from "../support/redis.js";

const Q = "default";
const PROCESSES = 10;
const CONCURRENCY = 5;
const N = 20_000;

let redis: Redis;

beforeAll(async () => {
  redis = await freshRedis();
});
afterEach(async () => {
  await killAll();
});

describe("ten worker processes on one queue", () => {
  it("handle 20,000 tasks, each exactly once, and leave nothing behind", { timeout: 90_000 }, async () => {
    const client = new Client(redis); // borrows the connection: nothing to close
    const ids = Array.from({ length: N }, (_, i) => `t-${String(i).padStart(5, "0")}`);
    for (let from = 0; from < N; from += 1000) {
      const batch: Task[] = ids
        .slice(from, from + 1000)
        .map((id) => ({ type: "sleep", payload: { ms: 0 }, options: { taskId: id } }));
      const results = await client.enqueueBatch(batch);
      for (const r of results) if (!r.ok) throw r.error;
    }

    const workers: WorkerProcess[] = Array.from({ length: PROCESSES }, (_, i) =>
      spawnWorker({
        redisUrl: testRedisUrl(),
        name: `w${i}`,
        concurrency: CONCURRENCY,
        pollInterval: 50,
        recordInRedis: true,
        logLevel: "warn",
      }),
    );
    await Promise.all(workers.map((w) => w.ready));
    const summary = async (): Promise<string> =>
      `done=${await redis.scard("test:done")} pending=${await redis.llen(keys.pendingKey(Q))} ` +
      `active=${await redis.llen(keys.activeKey(Q))}\n` +
      workers.map((w) => `--- ${w.name}:\n${w.tail(5)}`).join("\n");
    await poll(
      async () => (await redis.scard("test:done")) === N && (await queueSettled(redis, Q)),
      "every task to be handled and the queue to settle",
      { timeoutMs: 60_000, intervalMs: 100, describe: summary },
    );

    // Each task handled exactly once: one run each, one success each.
    const runs = await redis.hgetall("test:runs");
    expect(Object.keys(runs).length).toBe(N);
    const twice = Object.entries(runs).filter(([, n]) => n !== "1");
    expect(twice).toEqual([]);
    expect(await redis.llen("test:log")).toBe(N);
    expect(await redis.get(keys.processedTotalKey(Q))).toBe(String(N));
    expect(await redis.get(keys.failedTotalKey(Q))).toBeNull();

    // Nothing left: no container holds an ID, no task hash remains (retention 0), no violation.
    const contents = await queueContents(redis, Q);
    for (const [container, members] of Object.entries(contents)) expect(members, container).toEqual([]);
    expect(await redis.keys(`${keys.taskKeyPrefix(Q)}*`)).toEqual([]);
    expect(await checkInvariants(redis, Q)).toEqual([]);

    // The work was shared: every process handled some.
    const log = await redis.lrange("test:log", 0, -1);
    const byWorker = new Map<string, number>();
    for (const entry of log) {
      const worker = entry.split(" ")[1]!;
      byWorker.set(worker, (byWorker.get(worker) ?? 0) + 1);
    }
    expect(byWorker.size).toBe(PROCESSES);
    for (const w of workers) expect(w.lines.filter((l) => l.text.startsWith("UNHANDLED"))).toEqual([]);
  });
});
