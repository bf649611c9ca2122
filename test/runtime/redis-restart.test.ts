// Redis going away under load. Each test has a private redis-server (never the shared one):
// 1. its connections are cut (CLIENT KILL TYPE normal / pubsub) again and again while an in-process
//    server works and a producer enqueues;
// 2. it is really stopped and restarted on the same port (append-only file with fsync on every write,
//    so no acknowledged write is lost) while two worker processes work and a producer enqueues:
//    once with a clean shutdown (SIGTERM) and once with a crash (SIGKILL).
// Either way the server resumes by itself, every task is completed (the handler runs at least once;
// its success is recorded in Redis exactly once, since outcome writes are fenced), nothing is left
// pending, active or leased, no promise rejection goes unhandled, the workers do not spin while Redis
// is down, and every task hash is in the container its state names.
// Then three precise outage cases, each behind a proxy or a stopped Redis:
// 3. a worker SIGTERMed while Redis is down exits within its shutdown budget;
// 4. a dequeue held back by an outage longer than the lease does not start a task with a dead lease;
// 5. an enqueue whose reply is lost is not reported as a conflict with itself.
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import { doctor, formatReport } from "../../src/doctor/index.js";
import { TaskIdConflictError } from "../../src/errors.js";
import { Server } from "../../src/server/server.js";
import * as keys from "../../src/wire/keys.js";
import { decodeTaskMessage } from "../../src/wire/proto.js";
import {
  checkInvariants,
  cpuTimeMs,
  killAll,
  poll,
  queueContents,
  queueSettled,
  sleep,
  spawnWorker,
  startPrivateRedis,
  startProxy,
  type PrivateRedis,
} from "../support/processes.js";
import { collectingLogger, counters } from "../support/server.js";

const Q = "default";
/** Completed tasks are kept, so that a re-sent enqueue of a done task is seen as a conflict. */
const RETENTION = 3_600_000;

/** Rejections nobody handled in this process while the tests ran. */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
beforeAll(() => {
  process.on("unhandledRejection", onUnhandled);
});
afterAll(() => {
  process.off("unhandledRejection", onUnhandled);
});

/** Things to close after each test, last opened first closed. */
const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    // Best effort, and bounded: a server's shutdown can hang while Redis is unreachable.
    await Promise.race([
      Promise.resolve()
        .then(cleanup)
        .catch(() => {}),
      sleep(5000),
    ]);
  }
  await killAll();
});

/** A connection for the test's own reads (fails fast instead of waiting out an outage). */
function adminConnection(url: string): Redis {
  const admin = new Redis(url, { maxRetriesPerRequest: 1 });
  admin.on("error", () => {});
  cleanups.push(() => admin.disconnect());
  return admin;
}

/**
 * Enqueues `count` tasks named `<prefix>-<n>`, `perTick` at a time with `pauseMs` between, while
 * Redis may come and go. A failed enqueue is tried again with the same ID until it is written; a
 * TaskIdConflictError on a retry (or on a call ioredis re-sent after a reconnect) means that an
 * earlier try was written, so no task is enqueued twice and none is missing.
 */
async function produce(
  client: Client,
  { prefix, count, perTick, pauseMs }: { prefix: string; count: number; perTick: number; pauseMs: number },
): Promise<{ ids: string[]; errors: number; conflicts: number }> {
  const ids: string[] = [];
  let errors = 0;
  let conflicts = 0;
  for (let i = 0; i < count; i++) {
    const id = `${prefix}-${String(i).padStart(4, "0")}`;
    for (const started = Date.now(); ;) {
      try {
        await client.enqueue(
          { type: "sleep", payload: { ms: 5 + ((i * 7) % 26) } },
          { taskId: id, retention: RETENTION, maxRetry: 10 },
        );
        break;
      } catch (error) {
        if (error instanceof TaskIdConflictError) {
          conflicts++;
          break;
        }
        errors++;
        if (Date.now() - started > 30_000) throw error;
        await sleep(50);
      }
    }
    ids.push(id);
    if (i % perTick === perTick - 1) await sleep(pauseMs);
  }
  return { ids, errors, conflicts };
}

/** Checks the end state: every task completed exactly once, nothing else left, invariants hold. */
async function expectAllCompletedOnce(admin: Redis, ids: string[]): Promise<{ failed: number }> {
  const contents = await queueContents(admin, Q);
  expect(contents.completed.sort()).toEqual([...ids].sort());
  expect(contents.archived).toEqual([]);
  const c = await counters(admin, Q, Date.now());
  // Every outcome but success counts a failure too: processed − failed = successful completions.
  expect(Number(c.processed) - Number(c.failed ?? 0)).toBe(ids.length);
  expect(await checkInvariants(admin, Q)).toEqual([]);
  const report = await doctor(admin);
  expect(report.clean, formatReport(report)).toBe(true);
  return { failed: Number(c.failed ?? 0) };
}

describe("connections cut under load", () => {
  it("an in-process server reconnects by itself and completes every task exactly once", async () => {
    const redis = await startPrivateRedis();
    const admin = adminConnection(redis.url);
    const { logger, lines } = collectingLogger();
    /** Handler runs per task ID (a task may run twice: at-least-once). */
    const runs = new Map<string, number>();
    const server = new Server(redis.url, {
      concurrency: 8,
      leaseDuration: 3000,
      heartbeatInterval: 500,
      recoverInterval: 500,
      recoveryGrace: 1000,
      retryDelay: () => 100,
      pollInterval: 50,
      shutdownTimeout: 1000,
      logger,
      logLevel: "debug",
    });
    cleanups.push(() => server.shutdown());
    await server.start(async (task, ctx) => {
      runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1);
      const { ms } = JSON.parse(Buffer.from(task.payload).toString("utf8")) as { ms: number };
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        ctx.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(ctx.signal.reason as Error);
        });
      });
    });
    const client = new Client(redis.url);
    cleanups.push(() => client.close());

    const N = 500;
    const producing = produce(client, { prefix: "cut", count: N, perTick: 10, pauseMs: 30 });
    const kills: number[] = [];
    for (let cut = 0; cut < 4; cut++) {
      await sleep(300);
      // SKIPME yes (the default of the filter form): the admin connection survives.
      kills.push(Number(await admin.client("KILL", "TYPE", "normal")));
      kills.push(Number(await admin.client("KILL", "TYPE", "pubsub")));
    }
    const produced = await producing;
    // One more cut after the last enqueue, while tasks are still being processed.
    kills.push(Number(await admin.client("KILL", "TYPE", "normal")));
    kills.push(Number(await admin.client("KILL", "TYPE", "pubsub")));
    // The cuts did hit the server (its command and blocking connections, and its subscription).
    expect(kills.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(10);

    await poll(
      async () => (await admin.zcard(keys.completedKey(Q))) === N && (await queueSettled(admin, Q)),
      "every task to be completed",
      {
        timeoutMs: 40_000,
        intervalMs: 100,
        describe: async () =>
          `${JSON.stringify(await admin.zcard(keys.completedKey(Q)))} completed; ` +
          `last logs:\n${lines
            .slice(-20)
            .map((l) => `${l.level}: ${l.message}`)
            .join("\n")}`,
      },
    );
    expect(produced.ids).toHaveLength(N);
    const { failed } = await expectAllCompletedOnce(admin, produced.ids);
    expect([...runs.keys()].sort()).toEqual(produced.ids); // each handler ran at least once
    expect(unhandled).toEqual([]);

    // The server still works after the cuts: a new task is processed right away.
    await client.enqueue({ type: "sleep", payload: { ms: 1 } }, { taskId: "after", retention: RETENTION });
    await poll(
      async () => (await admin.zscore(keys.completedKey(Q), "after")) !== null,
      "a task after the cuts",
    );
    await server.shutdown();
    expect(await checkInvariants(admin, Q)).toEqual([]);
    expect(lines.filter((l) => l.message.includes("task outcome(s) could not be written"))).toEqual([]);
    console.log(
      `[connections cut] ${kills.length / 2} cuts killed ${kills.reduce((a, b) => a + b, 0)} connections; ` +
        `producer: ${produced.errors} errors, ${produced.conflicts} conflicts on re-sent enqueues; ` +
        `${[...runs.values()].reduce((a, b) => a + b, 0) - runs.size} extra handler runs; ` +
        `${failed} failures counted (recovered tasks); ` +
        `${lines.filter((l) => l.level === "warn" || l.level === "error").length} warn/error log lines`,
    );
  }, 60_000);
});

describe("Redis stopped and restarted under load", () => {
  it("worker processes wait without spinning, resume by themselves and complete every task exactly once", async () => {
    const redis: PrivateRedis = await startPrivateRedis({ persistent: true });
    const admin = adminConnection(redis.url);
    const workers = ["w1", "w2"].map((name) =>
      spawnWorker({
        redisUrl: redis.url,
        name,
        concurrency: 6,
        leaseDuration: 2000,
        heartbeatInterval: 500,
        recoverInterval: 500,
        recoveryGrace: 1000,
        retryDelay: 100,
        pollInterval: 50,
        shutdownTimeout: 1000,
        logLevel: "debug",
      }),
    );
    await Promise.all(workers.map((w) => w.ready));
    const client = new Client(redis.url);
    cleanups.push(() => client.close());

    const N = 500;
    const producing = produce(client, { prefix: "restart", count: N, perTick: 10, pauseMs: 80 });

    /** One outage: stop Redis, watch the workers for `outageMs`, start it again. */
    const outages: Array<{ signal: string; ms: number; cpu: number[]; lines: number[] }> = [];
    const outage = async (signal: "SIGTERM" | "SIGKILL", outageMs: number): Promise<void> => {
      await redis.stop(signal);
      const from = Date.now();
      const cpuBefore = workers.map((w) => cpuTimeMs(w.pid));
      await sleep(outageMs);
      const cpu = workers.map((w, i) => cpuTimeMs(w.pid) - cpuBefore[i]!);
      const ms = Date.now() - from;
      const lines = workers.map((w) => w.lines.filter((l) => l.at >= from && l.at < from + ms).length);
      outages.push({ signal, ms, cpu, lines });
      await redis.start();
    };
    await sleep(1000);
    await outage("SIGTERM", 2000);
    await sleep(1500);
    await outage("SIGKILL", 2000);
    const produced = await producing;

    await poll(
      async () => (await admin.zcard(keys.completedKey(Q))) === N && (await queueSettled(admin, Q)),
      "every task to be completed",
      {
        timeoutMs: 40_000,
        intervalMs: 100,
        describe: async () =>
          `${await admin.zcard(keys.completedKey(Q))} completed\n` +
          workers.map((w) => `--- ${w.name}:\n${w.tail(20)}`).join("\n"),
      },
    );
    expect(produced.ids).toHaveLength(N);
    const { failed } = await expectAllCompletedOnce(admin, produced.ids);
    // Each task's handler finished at least once in one of the workers.
    const finished = new Set(
      workers.flatMap((w) =>
        w.lines.filter((l) => l.text.startsWith("DONE ")).map((l) => l.text.split(" ")[1]),
      ),
    );
    expect([...finished].sort()).toEqual(produced.ids);

    // No busy loop while Redis was down: little CPU and a handful of log lines (at debug level).
    for (const o of outages) {
      for (const [i, w] of workers.entries()) {
        expect(o.cpu[i], `CPU ms of ${w.name} during the ${o.signal} outage of ${o.ms} ms`).toBeLessThan(
          o.ms * 0.4,
        );
        expect(o.lines[i], `log lines of ${w.name} during the ${o.signal} outage`).toBeLessThan(100);
      }
    }
    for (const w of workers) {
      expect(w.running, `${w.name} is alive\n${w.tail()}`).toBe(true);
      expect(w.lines.filter((l) => l.text.startsWith("UNHANDLED")).map((l) => l.text)).toEqual([]);
    }
    expect(unhandled).toEqual([]);

    // They still shut down gracefully (exit 0, by themselves) and remove their server keys.
    for (const w of workers) w.signal("SIGTERM");
    for (const w of workers) {
      const exit = await Promise.race([w.exited, sleep(15_000).then(() => "timeout" as const)]);
      expect(exit, `${w.name} exit\n${w.tail()}`).toEqual({ code: 0, signal: null });
      expect(w.stderr()).toBe("");
      const serverKey = keys.serverInfoKey(w.host(), w.pid, w.serverId());
      expect(await admin.exists(serverKey)).toBe(0);
    }
    expect(await checkInvariants(admin, Q)).toEqual([]);
    console.log(
      `[redis restarted] outages: ${outages
        .map(
          (o) =>
            `${o.signal} ${o.ms} ms: CPU ${o.cpu.map((c) => Math.round(c)).join("/")} ms, ${o.lines.join("/")} log lines`,
        )
        .join(
          "; ",
        )}; producer: ${produced.errors} errors, ${produced.conflicts} conflicts; ${failed} failures counted`,
    );
  }, 90_000);
});

describe("graceful shutdown while Redis is down", () => {
  it("a SIGTERMed worker exits within its shutdown budget; its tasks are recovered once Redis is back", async () => {
    const redis = await startPrivateRedis({ persistent: true });
    const admin = adminConnection(redis.url);
    const options = {
      redisUrl: redis.url,
      leaseDuration: 2000,
      heartbeatInterval: 500,
      recoverInterval: 500,
      recoveryGrace: 1000,
      retryDelay: 100,
      pollInterval: 50,
      shutdownTimeout: 500,
    };
    const victim = spawnWorker({ ...options, name: "victim", concurrency: 2 });
    await victim.ready;
    const client = new Client(redis.url);
    cleanups.push(() => client.close());
    for (const id of ["long-1", "long-2"]) {
      await client.enqueue({ type: "sleep", payload: { ms: 5000 } }, { taskId: id, retention: RETENTION });
    }
    await poll(
      () => victim.lines.filter((l) => l.text.startsWith("START long-")).length === 2,
      "both tasks to start",
      { describe: () => victim.tail() },
    );

    await redis.stop("SIGTERM");
    victim.signal("SIGTERM");
    // Budget: shutdownTimeout (500 ms) for the handlers, as long again (at least 1 s) for their
    // outcome writes (Executor.drain), then the server gives up on Redis: a few seconds in all.
    const BUDGET_MS = 8000;
    const shutdownStarted = Date.now();
    const exitWhileDown = await Promise.race([victim.exited, sleep(BUDGET_MS).then(() => undefined)]);
    const waitedMs = Date.now() - shutdownStarted;
    const restartedAt = Date.now();

    // Whatever happened, Redis comes back, the victim ends, and another worker finishes the tasks.
    await redis.start();
    const exit = await Promise.race([victim.exited, sleep(20_000).then(() => "still running" as const)]);
    const next = spawnWorker({ ...options, name: "next", concurrency: 2, sleepCap: 50 });
    await poll(
      async () => (await admin.zcard(keys.completedKey(Q))) === 2 && (await queueSettled(admin, Q)),
      "the tasks to be completed by another worker",
      {
        timeoutMs: 30_000,
        describe: async () => `${await admin.zcard(keys.completedKey(Q))} completed\n${next.tail()}`,
      },
    );
    await expectAllCompletedOnce(admin, ["long-1", "long-2"]);
    expect(exit, victim.tail()).toEqual({ code: 0, signal: null });
    expect(victim.lines.filter((l) => l.text.startsWith("UNHANDLED"))).toEqual([]);

    expect(
      exitWhileDown,
      `the worker did not exit within ${waitedMs} ms of SIGTERM while Redis was down; Redis was ` +
        `restarted at +${restartedAt - shutdownStarted} ms. Its output (ms after SIGTERM):\n` +
        victim.lines
          .filter((l) => l.at >= shutdownStarted - 1000)
          .map((l) => `+${l.at - shutdownStarted} ${l.text}`)
          .join("\n"),
    ).toEqual({ code: 0, signal: null });
  }, 60_000);
});

describe("a dequeue sent while Redis is unreachable", () => {
  it("does not start a task whose lease ran out before Redis even received the dequeue", async () => {
    // The server reaches Redis through a proxy that the test cuts; the test reaches Redis directly.
    const redis = await startPrivateRedis();
    const proxy = await startProxy(redis.port);
    const admin = adminConnection(redis.url);
    const { logger, lines } = collectingLogger();
    const runs: Array<{ id: string; retryCount: number; outcome: string }> = [];
    const LEASE = 1000;
    const server = new Server(proxy.url, {
      concurrency: 1,
      leaseDuration: LEASE,
      heartbeatInterval: 200,
      recoverInterval: 200,
      recoveryGrace: 500,
      retryDelay: () => 0,
      pollInterval: 50,
      shutdownTimeout: 500,
      logger,
      logLevel: "debug",
    });
    cleanups.push(() => server.shutdown());
    await server.start(async (_task, ctx) => {
      const run = { id: ctx.id, retryCount: ctx.retryCount, outcome: "running" };
      runs.push(run);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, 50);
        ctx.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          if (run.outcome === "running") run.outcome = `aborted: ${(ctx.signal.reason as Error).message}`;
          reject(ctx.signal.reason as Error);
        });
      });
      if (run.outcome === "running") run.outcome = "returned";
    });
    await poll(async () => (await admin.zcard(keys.ALL_SERVERS)) > 0, "the server's first heartbeat");

    // The idle server polls every 50 ms: during the outage its next dequeue waits for the connection
    // to come back. Meanwhile a producer that can reach Redis enqueues a task.
    await proxy.cut();
    await sleep(300);
    const client = new Client(redis.url);
    cleanups.push(() => client.close());
    await client.enqueue({ type: "sleep" }, { taskId: "task-1", retention: RETENTION, maxRetry: 3 });
    await sleep(LEASE + 1500); // the outage outlasts a lease
    await proxy.restore();

    await poll(
      async () => (await admin.zscore(keys.completedKey(Q), "task-1")) !== null,
      "the task to be completed",
      { timeoutMs: 20_000, describe: () => JSON.stringify(runs) },
    );
    expect(await checkInvariants(admin, Q)).toEqual([]);
    // Redis was reachable from the moment the dequeue ran: the task should run once, with a lease of
    // leaseDuration from then, succeed, and count no failure.
    const msg = decodeTaskMessage((await admin.hgetBuffer(keys.taskKey(Q, "task-1"), "msg"))!);
    const c = await counters(admin, Q, Date.now());
    const report =
      `runs: ${JSON.stringify(runs)}; stored msg: retried ${msg.retried}, error "${msg.errorMsg}"; ` +
      `counters: processed ${c.processed}, failed ${c.failed}; logs:\n` +
      lines
        .filter((l) => /task-1|lease/.test(l.message))
        .map((l) => `${l.level}: ${l.message}`)
        .join("\n");
    expect(runs, report).toEqual([{ id: "task-1", retryCount: 0, outcome: "returned" }]);
    expect({ retried: msg.retried, errorMsg: msg.errorMsg, failed: c.failed }, report).toEqual({
      retried: 0,
      errorMsg: "",
      failed: null,
    });
  }, 40_000);
});

describe("an enqueue whose reply is lost to a broken connection", () => {
  it("is not reported as a conflict with another task (the task was written once: by this call)", async () => {
    const redis = await startPrivateRedis();
    const proxy = await startProxy(redis.port);
    const admin = adminConnection(redis.url);
    const client = new Client(proxy.url);
    cleanups.push(() => client.close());
    await client.enqueue({ type: "warm-up" }); // Redis now has the enqueue script cached: EVALSHA runs it

    proxy.dropReplyTo("evalsha"); // the next enqueue runs in Redis, then its connection breaks
    let outcome: string;
    try {
      const info = await client.enqueue({ type: "t", payload: "x" }); // a fresh random ID
      outcome = `enqueued ${info.id}`;
    } catch (error) {
      outcome = `${(error as Error).constructor.name}: ${(error as Error).message}`;
    }
    const pending = await admin.lrange(keys.pendingKey(Q), 0, -1);
    expect(pending).toHaveLength(2); // written once
    expect(await checkInvariants(admin, Q)).toEqual([]);
    // Success, or an error saying the outcome is unknown, would be right; a TaskIdConflictError
    // claims that another task holds the ID, while the only task with it is this call's own.
    expect(outcome).not.toMatch(/^TaskIdConflictError/);
  }, 20_000);
});
