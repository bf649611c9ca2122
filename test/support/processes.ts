// Helpers for the crash and outage tests (test/runtime): worker child processes running
// test/fixtures/worker.ts, private redis-server processes that a test may stop and restart, the CPU
// time of a process, and an invariant checker of a queue's task hashes and containers.
//
// Every process started here is registered and killed by `killAll()` (call it in afterEach/afterAll),
// and, as a last resort, when the test process exits.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server as NetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import * as keys from "../../src/wire/keys.js";
import { decodeTaskMessage } from "../../src/wire/proto.js";
import { findOnPath, freePort, ping } from "../../tools/redis.js";

export { freePort };

/** The repository root (where node_modules/tsx lives). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The worker fixture the tests spawn. */
export const WORKER_FIXTURE = fileURLToPath(new URL("../fixtures/worker.ts", import.meta.url));

/** Children and private Redis servers still to be killed. */
const live = new Set<{ kill(): Promise<void> }>();
/** Temporary directories to remove. */
const dirs = new Set<string>();

process.once("exit", () => {
  for (const entry of live) void entry.kill();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Kills every worker and private Redis still running, and removes their directories. Never throws. */
export async function killAll(): Promise<void> {
  const entries = [...live];
  live.clear();
  await Promise.all(entries.map((e) => e.kill().catch(() => {})));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

/** Resolves after `ms`. Only where time must pass, never to wait for a condition. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `condition` until it returns a truthy value, and returns that value.
 * @throws an Error naming `what` and describing the last value (via `describe`) after `timeoutMs`.
 */
export async function poll<T>(
  condition: () => T | Promise<T>,
  what: string,
  {
    timeoutMs = 20_000,
    intervalMs = 50,
    describe,
  }: { timeoutMs?: number; intervalMs?: number; describe?: () => string | Promise<string> } = {},
): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() >= until) {
      const detail = describe === undefined ? String(value) : await describe();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${detail})`);
    }
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Private redis-server

/** Path of `redis-server`, or a clear failure when it is not installed. */
export function redisServerBinary(): string {
  const binary = findOnPath("redis-server");
  if (binary !== undefined) return binary;
  throw new Error(
    "redis-server is not on PATH: the Redis outage tests start a private redis-server they can stop " +
      "and restart. Install it (Debian/Ubuntu: sudo apt-get install -y redis-server) and run again.",
  );
}

/** A redis-server of our own that a test may stop and start again on the same port. */
export interface PrivateRedis {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` (DB 0). */
  readonly url: string;
  /** Its working directory (the AOF lives here when persistent). */
  readonly dir: string;
  /** Whether it is running now. */
  readonly running: boolean;
  /** Starts it (again) on the same port and directory; resolves once it answers PING. */
  start(): Promise<void>;
  /**
   * Stops it and waits for the process to exit: SIGTERM is a clean shutdown (the AOF is flushed),
   * SIGKILL a crash.
   */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
}

/**
 * Starts a private redis-server on a free port. `persistent`: append-only file with
 * `appendfsync always` in a private directory, so every acknowledged write survives a stop (even a
 * SIGKILL) and a restart; otherwise no persistence at all.
 * @throws Error when redis-server is not installed or does not answer within 5 s.
 */
export async function startPrivateRedis({ persistent = false } = {}): Promise<PrivateRedis> {
  const binary = redisServerBinary();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "asynq-ts-runtime-redis-"));
  dirs.add(dir);
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir];
  args.push(...(persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = "";

  const stop = async (signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> => {
    const c = child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    c.kill(signal);
    const timer = setTimeout(() => c.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };
  const entry = { kill: () => stop("SIGKILL") };

  const handle: PrivateRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async start() {
      if (handle.running) return;
      const c = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
      child = c;
      live.add(entry);
      c.stdout?.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
      c.stderr?.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
      exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
      void exited.then(() => live.delete(entry));
      for (let i = 0; ; i++) {
        if (c.exitCode !== null) {
          throw new Error(`redis-server on port ${port} exited at start (code ${c.exitCode}): ${output}`);
        }
        if (await ping("127.0.0.1", port)) return;
        if (i >= 100)
          throw new Error(`redis-server on port ${port} did not answer PING within 5 s: ${output}`);
        await sleep(50);
      }
    },
    stop,
  };
  await handle.start();
  return handle;
}

// ---------------------------------------------------------------------------------------------
// A TCP proxy that can cut a client off Redis while the test itself still reaches it directly

/** A loopback TCP proxy to a Redis port; `cut()` drops its connections and refuses new ones. */
export interface CuttableProxy {
  readonly port: number;
  /** `redis://127.0.0.1:<proxy port>`. */
  readonly url: string;
  /** Drops every proxied connection and stops listening (connections are refused). */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  /**
   * Arms a one-shot fault: the next command sent through the proxy whose bytes contain `pattern`
   * (case-insensitive) reaches Redis and runs, but its connection is dropped instead of forwarding
   * the reply, as when a connection breaks after Redis executed a command.
   */
  dropReplyTo(pattern: string): void;
}

/** Starts a proxy to `127.0.0.1:<targetPort>`; closed by `killAll()`. */
export async function startProxy(targetPort: number): Promise<CuttableProxy> {
  const sockets = new Set<Socket>();
  let server: NetServer | undefined;
  let port = 0;
  let dropPattern: string | undefined;
  const pipe = (client: Socket): void => {
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    let dropping = false;
    client.on("data", (chunk: Buffer) => {
      if (dropPattern !== undefined && chunk.toString("latin1").toLowerCase().includes(dropPattern)) {
        dropPattern = undefined;
        dropping = true;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!dropping) {
        client.write(chunk);
        return;
      }
      client.destroy();
      upstream.destroy();
    });
  };
  const listen = async (): Promise<void> => {
    const s = createServer(pipe);
    server = s;
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => resolve());
    });
    port = (s.address() as { port: number }).port;
  };
  const cut = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    sockets.clear();
    const s = server;
    server = undefined;
    await new Promise<void>((resolve) => (s === undefined ? resolve() : s.close(() => resolve())));
  };
  await listen();
  live.add({ kill: cut });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    cut,
    restore: listen,
    dropReplyTo: (pattern) => {
      dropPattern = pattern.toLowerCase();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Worker processes

/** Settings of a worker fixture (test/fixtures/worker.ts reads them from its environment). */
export interface WorkerOptions {
  /** Redis URL, with its DB index. */
  redisUrl: string;
  /** A name for the worker (its bookkeeping keys and log prefix). */
  name: string;
  /** Queues as `name:priority,…`. @defaultValue "default:1" */
  queues?: string;
  concurrency?: number;
  leaseDuration?: number;
  heartbeatInterval?: number;
  recoverInterval?: number;
  recoveryGrace?: number;
  shutdownTimeout?: number;
  pollInterval?: number;
  /** Fixed retry delay, ms. */
  retryDelay?: number;
  /** Caps the handler's sleep (the payload's `ms`). */
  sleepCap?: number;
  /** Record starts and completions in Redis (`test:*` keys) from the handler. */
  recordInRedis?: boolean;
  logLevel?: "debug" | "info" | "warn" | "error" | "silent";
  /**
   * Leave `logger` and `logLevel` unset (the library's defaults: stderr, info) instead of logging
   * `LOG` lines on stdout; `logLevel` is then ignored.
   */
  defaultLogging?: boolean;
}

/** One line a worker wrote on stdout, with when it arrived. */
export interface WorkerLine {
  at: number;
  text: string;
}

/** A running worker fixture. */
export interface WorkerProcess {
  readonly name: string;
  readonly pid: number;
  /** Every stdout line so far. */
  readonly lines: WorkerLine[];
  /** stderr so far. */
  stderr(): string;
  /** The server's ID, from the READY line. */
  serverId(): string;
  /** The host name the server's keys carry, from the READY line. */
  host(): string;
  /** Resolves once READY was printed. */
  readonly ready: Promise<void>;
  /** Resolves with how the process ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly running: boolean;
  signal(signal: NodeJS.Signals): void;
  /** The last lines of output, for failure messages. */
  tail(n?: number): string;
}

/** Spawns `node --import tsx test/fixtures/worker.ts` with the options in its environment. */
export function spawnWorker(options: WorkerOptions): WorkerProcess {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    REDIS_URL: options.redisUrl,
    WORKER_NAME: options.name,
    QUEUES: options.queues ?? "default:1",
  };
  const numeric: Array<[keyof WorkerOptions, string]> = [
    ["concurrency", "CONCURRENCY"],
    ["leaseDuration", "LEASE_MS"],
    ["heartbeatInterval", "HEARTBEAT_MS"],
    ["recoverInterval", "RECOVER_MS"],
    ["recoveryGrace", "GRACE_MS"],
    ["shutdownTimeout", "SHUTDOWN_MS"],
    ["pollInterval", "POLL_MS"],
    ["retryDelay", "RETRY_DELAY_MS"],
    ["sleepCap", "SLEEP_CAP_MS"],
  ];
  for (const [option, name] of numeric) {
    const value = options[option];
    if (value !== undefined) env[name] = String(value);
  }
  if (options.recordInRedis === true) env.RECORD = "redis";
  env.LOG_LEVEL = options.logLevel ?? "info";
  if (options.defaultLogging === true) env.DEFAULT_LOGGING = "1";
  delete env.NODE_OPTIONS; // vitest's own loader flags must not leak into the child

  const child = spawn(process.execPath, ["--import", "tsx", WORKER_FIXTURE], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: WorkerLine[] = [];
  let stderr = "";
  let serverId = "";
  let host = "";
  let partial = "";
  let markReady: () => void = () => {};
  let failReady: (error: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  ready.catch(() => {}); // observed by the caller, or not at all
  child.stdout.on("data", (chunk: Buffer) => {
    partial += chunk.toString("utf8");
    let end: number;
    while ((end = partial.indexOf("\n")) >= 0) {
      const text = partial.slice(0, end);
      partial = partial.slice(end + 1);
      lines.push({ at: Date.now(), text });
      const match = /^READY (\d+) (\S+) (\S+)/.exec(text);
      if (match !== null) {
        serverId = match[2]!;
        host = match[3]!;
        markReady();
      }
    }
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const tail = (n = 30): string =>
    [...lines.slice(-n).map((l) => l.text), stderr.slice(-2000)].filter((s) => s !== "").join("\n");
  void exited.then(({ code, signal }) => {
    live.delete(entry);
    failReady(
      new Error(`worker ${options.name} exited (code ${code}, signal ${signal}) before READY:\n${tail()}`),
    );
  });
  const entry = {
    kill: async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
  live.add(entry);

  return {
    name: options.name,
    pid: child.pid!,
    lines,
    stderr: () => stderr,
    serverId: () => serverId,
    host: () => host,
    ready,
    exited,
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
    signal: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    tail,
  };
}

// ---------------------------------------------------------------------------------------------
// CPU time

let clockTicks: number | undefined;

/** User + system CPU time a process has used so far, in ms (Linux /proc). */
export function cpuTimeMs(pid: number): number {
  clockTicks ??= Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces, inside parentheses): state is field 3.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / clockTicks;
}

// ---------------------------------------------------------------------------------------------
// Invariants

const ZSET_STATES = ["scheduled", "retry", "archived", "completed"] as const;

/** The IDs of a queue's containers. */
export interface QueueContents {
  pending: string[];
  active: string[];
  lease: string[];
  scheduled: string[];
  retry: string[];
  archived: string[];
  completed: string[];
}

/** Reads every container of a queue. */
export async function queueContents(redis: Redis, queue: string): Promise<QueueContents> {
  const [pending, active, lease, scheduled, retry, archived, completed] = await Promise.all([
    redis.lrange(keys.pendingKey(queue), 0, -1),
    redis.lrange(keys.activeKey(queue), 0, -1),
    redis.zrange(keys.leaseKey(queue), 0, -1),
    ...ZSET_STATES.map((state) => redis.zrange(keys.stateKey(queue, state), 0, -1)),
  ]);
  return {
    pending,
    active,
    lease,
    scheduled: scheduled!,
    retry: retry!,
    archived: archived!,
    completed: completed!,
  };
}

/** True when nothing of the queue is pending, active, leased, scheduled or retrying. */
export async function queueSettled(redis: Redis, queue: string): Promise<boolean> {
  const sizes = await Promise.all([
    redis.llen(keys.pendingKey(queue)),
    redis.llen(keys.activeKey(queue)),
    redis.zcard(keys.leaseKey(queue)),
    redis.zcard(keys.scheduledKey(queue)),
    redis.zcard(keys.retryKey(queue)),
  ]);
  return sizes.every((n) => n === 0);
}

/**
 * Checks the data model of a queue and returns every violation found (empty when consistent):
 * each task hash has a `state` among the seven and a decodable `msg` naming it, and its ID is in the
 * container of that state and in no other; an active task holds a lease; each container member
 * (lease included) has a hash whose state matches, and appears once.
 */
export async function checkInvariants(redis: Redis, queue: string): Promise<string[]> {
  const problems: string[] = [];
  const contents = await queueContents(redis, queue);
  const containers: Record<string, string[]> = {
    pending: contents.pending,
    active: contents.active,
    scheduled: contents.scheduled,
    retry: contents.retry,
    archived: contents.archived,
    completed: contents.completed,
  };
  const memberOf = new Map<string, string[]>();
  for (const [state, ids] of Object.entries(containers)) {
    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id)) problems.push(`task ${id} is in ${state} more than once`);
      seen.add(id);
      memberOf.set(id, [...(memberOf.get(id) ?? []), state]);
    }
  }
  const leased = new Set(contents.lease);

  // Every task hash of the queue.
  const prefix = keys.taskKeyPrefix(queue);
  const hashKeys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    hashKeys.push(...batch);
  } while (cursor !== "0");
  const hashIds = new Set<string>();
  for (const key of new Set(hashKeys)) {
    const id = key.slice(prefix.length);
    hashIds.add(id);
    const [state, msg, group] = await redis.hmgetBuffer(key, "state", "msg", "group");
    const stateText = state?.toString("utf8");
    const where = memberOf.get(id) ?? [];
    if (stateText === undefined) {
      problems.push(`task hash ${key} has no state (it is in: ${where.join(", ") || "nothing"})`);
      continue;
    }
    if (!(keys.TASK_STATES as readonly string[]).includes(stateText)) {
      problems.push(`task hash ${key} has an unknown state "${stateText}"`);
      continue;
    }
    if (msg == null) {
      problems.push(`task hash ${key} (state ${stateText}) has no msg`);
    } else {
      try {
        const decoded = decodeTaskMessage(msg);
        if (decoded.id !== id || decoded.queue !== queue) {
          problems.push(`task hash ${key} holds the msg of task "${decoded.id}" in queue "${decoded.queue}"`);
        }
      } catch (error) {
        problems.push(`task hash ${key} has an undecodable msg: ${String(error)}`);
      }
    }
    if (stateText === "aggregating") {
      const groupName = group?.toString("utf8") ?? "";
      if ((await redis.zscore(keys.groupKey(queue, groupName), id)) === null) {
        problems.push(`task ${id} is aggregating but not in group "${groupName}"`);
      }
      if (where.length > 0) problems.push(`task ${id} is aggregating but also in ${where.join(", ")}`);
      continue;
    }
    if (!where.includes(stateText)) {
      problems.push(
        `task ${id} has state ${stateText} but is not in that container (in: ${where.join(", ") || "nothing"})`,
      );
    }
    const others = where.filter((s) => s !== stateText);
    if (others.length > 0) problems.push(`task ${id} (state ${stateText}) is also in ${others.join(", ")}`);
    if (stateText === "active" && !leased.has(id)) problems.push(`active task ${id} has no lease`);
  }
  for (const [id, where] of memberOf) {
    if (!hashIds.has(id)) problems.push(`task ID ${id} is in ${where.join(", ")} but has no task hash`);
  }
  const active = new Set(contents.active);
  for (const id of contents.lease) {
    if (!active.has(id)) problems.push(`task ${id} holds a lease but is not active`);
  }
  return problems;
}
