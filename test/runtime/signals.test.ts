// server.run(handler) in a real child process (test/fixtures/signal-worker.ts) and the signals it
// handles as asynq's Run does (wire-format §5.9): SIGTERM and SIGINT shut it down gracefully (a task still
// running after shutdownTimeout goes back to the front of pending, the server's keys are removed, and
// the process exits 0 by itself); SIGTSTP stops taking new tasks while the running one goes on.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import * as keys from "../../src/wire/keys.js";
import { decodeServerInfo } from "../../src/wire/proto.js";
import { freshRedis, testRedisUrl } from "../support/redis.js";
import { sleep } from "../support/server-helpers.js";
import { counters, readTask, stateOf, waitFor } from "../support/server.js";

const Q = "default";
const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WORKER = fileURLToPath(new URL("../fixtures/signal-worker.ts", import.meta.url));
const SHUTDOWN_TIMEOUT = 500;
/** Room for tsx to compile the worker on a loaded machine. */
const STARTUP_TIMEOUT = 20_000;

/** One JSON line of the worker (see the fixture's header). */
interface WorkerEvent {
  event: string;
  id?: string;
  type?: string;
  reason?: string;
  level?: string;
  message?: string;
  serverId?: string;
  host?: string;
  pid?: number;
  at?: number;
  error?: string;
}

interface Worker {
  child: ChildProcessWithoutNullStreams;
  events: WorkerEvent[];
  /** Everything the worker wrote, for failure messages. */
  output: () => string;
  /** Resolves with the first event (already seen or to come) matching `match`. */
  waitEvent: (match: (e: WorkerEvent) => boolean, what: string, timeoutMs?: number) => Promise<WorkerEvent>;
  /** Resolves when the process has exited, with its code and signal and when it exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Writes a line on the worker's stdin. */
  send: (line: string) => void;
}

/** Workers started by the current test; killed (SIGKILL) afterwards if still alive, even on failure. */
const workers = new Set<Worker>();

afterEach(async () => {
  const alive = [...workers];
  workers.clear();
  for (const w of alive) {
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
  }
  await Promise.all(alive.map((w) => w.exited));
});

function startWorker(env: Record<string, string> = {}): Worker {
  const child = spawn(process.execPath, ["--import", "tsx", WORKER], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      REDIS_URL: testRedisUrl(),
      SHUTDOWN_TIMEOUT: String(SHUTDOWN_TIMEOUT),
      HEARTBEAT_INTERVAL: "200",
      POLL_INTERVAL: "50",
      ...env,
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const events: WorkerEvent[] = [];
  const raw: string[] = [];
  const listeners = new Set<() => void>();
  let buffer = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    raw.push(chunk);
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      try {
        events.push(JSON.parse(line) as WorkerEvent);
      } catch {
        events.push({ event: "text", message: line });
      }
    }
    for (const l of listeners) l();
  });
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => raw.push(`[stderr] ${chunk}`));
  child.stdin.on("error", () => {}); // writes after exit
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (resolve) => {
      child.once("exit", (code, signal) => {
        resolve({ code, signal, at: Date.now() });
        for (const l of listeners) l();
      });
    },
  );
  const output = (): string => raw.join("");
  const waitEvent = (
    match: (e: WorkerEvent) => boolean,
    what: string,
    timeoutMs = 10_000,
  ): Promise<WorkerEvent> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = events.find(match);
        if (found !== undefined) {
          done();
          resolve(found);
          return true;
        }
        if (child.exitCode !== null || child.signalCode !== null) {
          done();
          reject(new Error(`the worker exited before ${what}; its output:\n${output()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; worker output:\n${output()}`));
      }, timeoutMs);
      const listener = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        listeners.delete(listener);
      };
      listeners.add(listener);
      check();
    });
  const worker: Worker = {
    child,
    events,
    output,
    waitEvent,
    exited,
    send: (line) => void child.stdin.write(`${line}\n`),
  };
  workers.add(worker);
  return worker;
}

/** Waits for the exit, failing with the worker's output after `timeoutMs`. */
async function exitOf(
  w: Worker,
  timeoutMs = 15_000,
): Promise<{ code: number | null; signal: string | null; at: number }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the worker did not exit within ${timeoutMs} ms; its output:\n${w.output()}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([w.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

let redis: Redis;
beforeAll(async () => {
  redis = await freshRedis();
});
beforeEach(async () => {
  await redis.flushdb();
});

async function enqueue(...args: Parameters<Client["enqueue"]>) {
  const client = new Client(redis);
  try {
    return await client.enqueue(...args);
  } finally {
    await client.close();
  }
}

/** The worker's server keys (wire-format §4.25). */
function serverKeys(ready: WorkerEvent): { server: string; workers: string } {
  return {
    server: keys.serverInfoKey(ready.host!, ready.pid!, ready.serverId!),
    workers: keys.workersKey(ready.host!, ready.pid!, ready.serverId!),
  };
}

/** The status in the worker's ServerInfo, or null when it has none. */
async function serverStatus(serverKey: string): Promise<string | null> {
  const bytes = await redis.getBuffer(serverKey);
  return bytes === null ? null : decodeServerInfo(bytes).status;
}

async function expectServerStateRemoved(ready: WorkerEvent): Promise<void> {
  const k = serverKeys(ready);
  expect(await redis.exists(k.server, k.workers)).toBe(0);
  expect(await redis.zscore(keys.ALL_SERVERS, k.server)).toBeNull();
  expect(await redis.zscore(keys.ALL_WORKERS, k.workers)).toBeNull();
}

const started = (id: string) => (e: WorkerEvent) => e.event === "started" && e.id === id;

describe("server.run() in a child process", () => {
  it.each(["SIGTERM", "SIGINT"] as const)(
    "%s shuts down gracefully: the running task goes back to the front of pending, the server's keys are removed, the process exits 0 by itself",
    async (signal) => {
      await enqueue({ type: "hold", payload: "long" }, { taskId: "long-1", maxRetry: 3 });
      const w = startWorker();
      const ready = await w.waitEvent((e) => e.event === "ready", "ready", STARTUP_TIMEOUT);
      await w.waitEvent(started("long-1"), "long-1 to start");
      // Enqueued while the only slot is busy: it waits in pending behind the running task.
      await enqueue({ type: "quick", payload: "next" }, { taskId: "next-1" });
      expect(await stateOf(redis, Q, "long-1")).toBe("active");
      const k = serverKeys(ready);
      await waitFor(
        async () => (await redis.hexists(k.workers, "long-1")) === 1 && (await redis.exists(k.server)) === 1,
        "the worker's heartbeat to list long-1",
      );

      const sentAt = Date.now();
      expect(w.child.kill(signal)).toBe(true);
      const exit = await exitOf(w);

      expect(exit, w.output()).toEqual({ code: 0, signal: null, at: exit.at });
      // It waited for the running task (shutdownTimeout), but not much longer.
      expect(exit.at - sentAt).toBeGreaterThanOrEqual(SHUTDOWN_TIMEOUT - 50);
      expect(exit.at - sentAt).toBeLessThan(SHUTDOWN_TIMEOUT + 10_000);
      const messages = w.events.filter((e) => e.event === "log").map((e) => e.message);
      expect(messages).toContainEqual(expect.stringContaining(`${signal} received: shutting down`));
      expect(w.events).toContainEqual(
        expect.objectContaining({ event: "aborted", id: "long-1", reason: "shutdown" }),
      );
      expect(w.events).toContainEqual({ event: "run-resolved" });
      expect(w.events.some(started("next-1"))).toBe(false);
      expect(w.events.some((e) => e.event === "finished" && e.id === "long-1")).toBe(false);

      // Requeued at the end RPOPLPUSH takes from: dequeued before next-1 (wire-format §4.13).
      expect(await redis.lrange(keys.pendingKey(Q), 0, -1)).toEqual(["next-1", "long-1"]);
      const task = (await readTask(redis, Q, "long-1"))!;
      expect(task.state).toBe("pending");
      expect(task.msg).toMatchObject({ retried: 0, errorMsg: "", lastFailedAt: 0n });
      expect(await redis.exists(keys.activeKey(Q), keys.leaseKey(Q), keys.retryKey(Q))).toBe(0);
      expect(await counters(redis, Q, Date.now())).toMatchObject({ processed: null, failed: null });
      await expectServerStateRemoved(ready);
    },
  );

  it("SIGTSTP stops taking new tasks but lets the running one finish; SIGTERM then ends the process", async () => {
    await enqueue({ type: "hold", payload: "long" }, { taskId: "long-1" });
    const w = startWorker();
    const ready = await w.waitEvent((e) => e.event === "ready", "ready", STARTUP_TIMEOUT);
    await w.waitEvent(started("long-1"), "long-1 to start");
    const k = serverKeys(ready);
    await waitFor(async () => (await serverStatus(k.server)) === "active", "the server to report active");

    expect(w.child.kill("SIGTSTP")).toBe(true);
    await w.waitEvent(
      (e) => e.event === "log" && e.message?.includes("server stopped taking new tasks") === true,
      "the server to stop taking tasks",
    );
    // Heartbeats now report "stopped" (wire-format §5.9), and the process is still there.
    await waitFor(async () => (await serverStatus(k.server)) === "stopped", "the server to report stopped");
    await enqueue({ type: "quick", payload: "after" }, { taskId: "after-1" });
    await sleep(1000); // 20 poll intervals: time enough to take after-1, were it still taking tasks
    expect(w.child.exitCode).toBeNull();
    expect(w.events.some(started("after-1"))).toBe(false);
    expect(await stateOf(redis, Q, "after-1")).toBe("pending");
    // The running task goes on, its signal untouched.
    expect(await stateOf(redis, Q, "long-1")).toBe("active");
    expect(w.events.some((e) => e.event === "aborted")).toBe(false);

    w.send("release long-1");
    await w.waitEvent((e) => e.event === "finished" && e.id === "long-1", "long-1 to finish");
    await waitFor(async () => (await redis.exists(keys.taskKey(Q, "long-1"))) === 0, "long-1 to be done");
    expect((await counters(redis, Q, Date.now())).processed).toBe("1");
    // A free slot changes nothing: the stopped server still takes no task.
    await sleep(500);
    expect(w.events.some(started("after-1"))).toBe(false);
    expect(await redis.lrange(keys.pendingKey(Q), 0, -1)).toEqual(["after-1"]);

    const sentAt = Date.now();
    w.child.kill("SIGTERM");
    const exit = await exitOf(w);
    expect(exit, w.output()).toEqual({ code: 0, signal: null, at: exit.at });
    // Nothing was running: no need to wait for shutdownTimeout.
    expect(exit.at - sentAt).toBeLessThan(10_000);
    expect(w.events).toContainEqual({ event: "run-resolved" });
    expect(w.events.some(started("after-1"))).toBe(false);
    expect(await stateOf(redis, Q, "after-1")).toBe("pending");
    await expectServerStateRemoved(ready);
  });
});
