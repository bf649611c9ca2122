// Worker processes that die: a worker child process is SIGKILLed while it runs tasks and the other
// workers recover and process everything (nothing lost, nothing left in active, every task hash in
// the container its state names); a worker SIGTERMed mid-task shuts down gracefully, putting its
// running tasks back at the front of pending for another worker.
//
// Workers are real processes (test/fixtures/worker.ts), on this vitest worker's DB of the shared
// Redis. Their handler records each run in Redis (`test:*` keys, see the fixture).
import type { Redis } from "ioredis";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import { doctor, formatReport } from "../../src/doctor/index.js";
import type { Task } from "../../src/task.js";
import * as keys from "../../src/wire/keys.js";
import {
  checkInvariants,
  killAll,
  poll,
  queueContents,
  queueSettled,
  spawnWorker,
  type WorkerOptions,
  type WorkerProcess,
} from "../support/processes.js";
import { freshRedis, testRedisUrl } from "../support/redis.js";
import { counters, readTask } from "../support/server.js";

const Q = "default";
const LEASE_EXPIRED = "asynq: task lease expired";
/** Completed tasks are kept (with their final msg) long enough to be inspected. */
const RETENTION = 3_600_000;

/** Short leases and quick recovery, so that a dead worker's tasks come back within seconds. */
const FAST: Omit<WorkerOptions, "redisUrl" | "name"> = {
  concurrency: 4,
  leaseDuration: 2000,
  heartbeatInterval: 500,
  recoverInterval: 500,
  recoveryGrace: 1000,
  retryDelay: 100,
  pollInterval: 50,
  shutdownTimeout: 500,
  recordInRedis: true,
};

let redis: Redis;
let client: Client;

beforeAll(async () => {
  redis = await freshRedis();
  client = new Client(redis); // borrows the connection: nothing to close
});
beforeEach(async () => {
  await redis.flushdb();
});
afterEach(async () => {
  await killAll();
});

function worker(name: string, options: Partial<WorkerOptions> = {}): WorkerProcess {
  return spawnWorker({ ...FAST, redisUrl: testRedisUrl(), name, ...options });
}

/** Enqueues tasks (payload `{ ms }`) with the given IDs; returns the IDs. */
async function enqueue(tasks: Array<{ id: string; ms: number }>): Promise<string[]> {
  const batch: Task[] = tasks.map(({ id, ms }) => ({
    type: "sleep",
    payload: { ms },
    options: { taskId: id, retention: RETENTION, maxRetry: 5 },
  }));
  const results = await client.enqueueBatch(batch);
  for (const r of results) if (!r.ok) throw r.error;
  return tasks.map((t) => t.id);
}

/** Waits for a process to exit, failing with its output after `timeoutMs`. */
async function exitOf(
  w: WorkerProcess,
  timeoutMs = 15_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`worker ${w.name} did not exit within ${timeoutMs} ms:\n${w.tail()}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([w.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The `test:log` entries (`<id> <worker> <retryCount>`) by task ID. */
async function completionLog(): Promise<Map<string, Array<{ worker: string; retryCount: number }>>> {
  const log = new Map<string, Array<{ worker: string; retryCount: number }>>();
  for (const entry of await redis.lrange("test:log", 0, -1)) {
    const [id, worker, retryCount] = entry.split(" ");
    log.set(id!, [...(log.get(id!) ?? []), { worker: worker!, retryCount: Number(retryCount) }]);
  }
  return log;
}

/** A one-line summary of the queue, for timeout messages. */
async function summary(workers: WorkerProcess[] = []): Promise<string> {
  const c = await queueContents(redis, Q);
  const sizes = Object.entries(c)
    .map(([k, v]) => `${k}=${(v as string[]).length}`)
    .join(" ");
  const done = await redis.scard("test:done");
  return `done=${done} ${sizes}\n${workers.map((w) => `--- ${w.name}:\n${w.tail(15)}`).join("\n")}`;
}

/** Output lines that reveal a crash of the fixture (an unhandled rejection or exception). */
function unhandled(w: WorkerProcess): string[] {
  return w.lines.filter((l) => l.text.startsWith("UNHANDLED")).map((l) => l.text);
}

/** The server's keys of a worker (wire-format §4.25). */
function serverKeys(w: WorkerProcess): { server: string; workers: string } {
  return {
    server: keys.serverInfoKey(w.host(), w.pid, w.serverId()),
    workers: keys.workersKey(w.host(), w.pid, w.serverId()),
  };
}

describe("a worker process killed with SIGKILL", () => {
  it("loses no task: the others recover its tasks and process every one; the queue ends consistent", async () => {
    const N = 300;
    const workers = [worker("a"), worker("b"), worker("victim")];
    const [a, b, victim] = workers as [WorkerProcess, WorkerProcess, WorkerProcess];
    await Promise.all(workers.map((w) => w.ready));
    const ids = await enqueue(
      Array.from({ length: N }, (_, i) => ({
        id: `task-${String(i).padStart(3, "0")}`,
        ms: 50 + ((i * 37) % 151),
      })),
    );

    // Mid-load, with tasks running in the victim.
    await poll(
      async () => (await redis.scard("test:running:victim")) >= 2 && (await redis.scard("test:done")) >= 40,
      "the victim to run tasks mid-load",
      { intervalMs: 5, describe: () => summary(workers) },
    );
    victim.signal("SIGKILL");
    expect(await exitOf(victim)).toEqual({ code: null, signal: "SIGKILL" });
    // Its handler never finished these: they were cut off mid-run.
    const cutOff = await redis.smembers("test:running:victim");
    expect(cutOff.length).toBeGreaterThan(0);
    expect(await redis.scard("test:done")).toBeLessThan(N);

    // Its server keys are not removed (it could not) but expire: TTL 2 × heartbeatInterval, ≥ 1 s.
    const victimKeys = serverKeys(victim);
    for (const key of [victimKeys.server, victimKeys.workers]) {
      expect(await redis.pttl(key)).not.toBe(-1); // -2 (already gone) or a TTL
    }
    await poll(
      async () => (await redis.exists(victimKeys.server, victimKeys.workers)) === 0,
      "the killed worker's server keys to expire",
      { timeoutMs: 10_000 },
    );

    // Everything gets processed by the survivors.
    await poll(
      async () => (await redis.scard("test:done")) === N && (await queueSettled(redis, Q)),
      "every task to be processed and the queue to settle",
      { timeoutMs: 45_000, intervalMs: 100, describe: () => summary([a, b]) },
    );

    // Nothing lost: every task ran to completion at least once, and was completed exactly once.
    expect((await redis.smembers("test:done")).sort()).toEqual(ids);
    const contents = await queueContents(redis, Q);
    expect(contents.completed.sort()).toEqual(ids);
    expect(contents.archived).toEqual([]);
    const c = await counters(redis, Q, Date.now());
    expect(Number(c.processed) - Number(c.failed)).toBe(N); // successes: exactly one per task
    expect(Number(c.failed)).toBeGreaterThanOrEqual(cutOff.length); // each recovered task counts a failure
    const runs = await redis.hgetall("test:runs");
    expect(Object.keys(runs).sort()).toEqual(ids);

    // The tasks cut off in the victim were recovered through their expired lease (retried with
    // asynq's lease error) and then completed by a survivor.
    const log = await completionLog();
    for (const id of cutOff) {
      const completions = log.get(id) ?? [];
      expect(completions.length, `completions of ${id}`).toBeGreaterThanOrEqual(1);
      for (const { worker: by, retryCount } of completions) {
        expect(by, `worker that completed ${id}`).not.toBe("victim");
        expect(retryCount, `retryCount when ${id} completed`).toBeGreaterThanOrEqual(1);
      }
      const task = await readTask(redis, Q, id);
      expect(task?.state).toBe("completed");
      expect(task?.msg?.retried).toBeGreaterThanOrEqual(1);
      expect(task?.msg?.errorMsg).toBe(LEASE_EXPIRED);
    }

    expect(await checkInvariants(redis, Q)).toEqual([]);
    for (const w of [a, b]) {
      expect(w.running, `${w.name} is alive`).toBe(true);
      expect(unhandled(w)).toEqual([]);
    }
    expect(unhandled(victim)).toEqual([]);

    // The survivors shut down cleanly, removing their server keys.
    for (const w of [a, b]) w.signal("SIGTERM");
    for (const w of [a, b]) {
      expect(await exitOf(w), `${w.name} exit\n${w.tail()}`).toEqual({ code: 0, signal: null });
      expect(w.stderr()).toBe("");
      const k = serverKeys(w);
      expect(await redis.exists(k.server, k.workers)).toBe(0);
      expect(await redis.zscore(keys.ALL_SERVERS, k.server)).toBeNull();
      expect(await redis.zscore(keys.ALL_WORKERS, k.workers)).toBeNull();
    }
    expect(await checkInvariants(redis, Q)).toEqual([]);
  }, 90_000);
});

describe("a worker process stopped with SIGTERM", () => {
  it("puts its running tasks back at the front of pending, removes its server keys and exits; another worker processes them", async () => {
    const victim = worker("victim", { concurrency: 2, shutdownTimeout: 300 });
    await victim.ready;
    await enqueue([
      { id: "long-1", ms: 5000 },
      { id: "long-2", ms: 5000 },
    ]);
    await poll(async () => (await redis.scard("test:running:victim")) === 2, "both long tasks to run", {
      intervalMs: 10,
      describe: () => summary([victim]),
    });
    // Enqueued while both slots are busy: they wait in pending.
    await enqueue([
      { id: "short-1", ms: 20 },
      { id: "short-2", ms: 20 },
      { id: "short-3", ms: 20 },
    ]);
    expect(await redis.lrange(keys.pendingKey(Q), 0, -1)).toEqual(["short-3", "short-2", "short-1"]);

    victim.signal("SIGTERM");
    // It exits by itself (no handle left open) with status 0, well before the 5 s tasks would end.
    expect(await exitOf(victim, 10_000), victim.tail()).toEqual({ code: 0, signal: null });
    expect(victim.lines.some((l) => l.text === "EXIT")).toBe(true);
    expect(victim.stderr()).toBe("");
    expect(unhandled(victim)).toEqual([]);

    // Requeued at the tail of pending (RPUSH), i.e. dequeued next (RPOPLPUSH), unchanged.
    const pending = await redis.lrange(keys.pendingKey(Q), 0, -1);
    expect(pending.slice(0, 3)).toEqual(["short-3", "short-2", "short-1"]);
    expect(pending.slice(3).sort()).toEqual(["long-1", "long-2"]);
    expect(await redis.exists(keys.activeKey(Q), keys.leaseKey(Q))).toBe(0);
    for (const id of ["long-1", "long-2"]) {
      const task = await readTask(redis, Q, id);
      expect(task?.state).toBe("pending");
      expect(task?.msg).toMatchObject({ retried: 0, errorMsg: "" });
      // The handler's signal was aborted (reason: shutdown) and it never completed.
      expect(victim.lines.some((l) => l.text.startsWith(`ABORT ${id}`))).toBe(true);
    }
    expect(await redis.scard("test:done")).toBe(0);
    expect(await checkInvariants(redis, Q)).toEqual([]);
    // doctor agrees: the killed worker's registry entries were pruned by the survivors' heartbeats.
    const report = await doctor(testRedisUrl());
    expect(report.clean, formatReport(report)).toBe(true);

    // A clean shutdown removes the server's keys and their registrations.
    const k = serverKeys(victim);
    expect(await redis.exists(k.server, k.workers)).toBe(0);
    expect(await redis.zscore(keys.ALL_SERVERS, k.server)).toBeNull();
    expect(await redis.zscore(keys.ALL_WORKERS, k.workers)).toBeNull();

    // Another worker (with short sleeps) takes the requeued tasks first and processes all five.
    const next = worker("next", { concurrency: 1, sleepCap: 50 });
    await poll(
      async () => (await redis.scard("test:done")) === 5 && (await queueSettled(redis, Q)),
      "the other worker to process every task",
      { timeoutMs: 20_000, describe: () => summary([next]) },
    );
    const order = (await redis.lrange("test:log", 0, -1)).map((e) => e.split(" "));
    expect(
      order
        .map(([id]) => id)
        .slice(0, 2)
        .sort(),
    ).toEqual(["long-1", "long-2"]);
    expect(order.map(([, by, retryCount]) => `${by} ${retryCount}`)).toEqual(Array(5).fill("next 0"));
    for (const id of ["long-1", "long-2"]) {
      expect((await readTask(redis, Q, id))?.msg).toMatchObject({ retried: 0, errorMsg: "" });
    }
    const c = await counters(redis, Q, Date.now());
    expect({ processed: c.processed, failed: c.failed }).toEqual({ processed: "5", failed: null });
    expect(await checkInvariants(redis, Q)).toEqual([]);

    next.signal("SIGTERM");
    expect(await exitOf(next)).toEqual({ code: 0, signal: null });
    expect(unhandled(next)).toEqual([]);
  }, 60_000);
});
