// The Heartbeater on a real Redis: ServerInfo / WorkerInfo keys and their zset members, Go's golden
// p_mid_processing dumps, lease extension and lost leases, shutdown, Redis outages.
import { createConnection, createServer, type Server as NetServer, type Socket } from "node:net";
import { Redis } from "ioredis";
import { describe, expect, expectTypeOf, it, onTestFinished, vi } from "vitest";
import { clearServerState, writeServerState } from "../../src/broker/upkeep/heartbeat.js";
import { dequeue } from "../../src/broker/fetch/dequeue.js";
import { extendLease } from "../../src/broker/finish/lifecycle.js";
import { Client } from "../../src/client/client.js";
import { ManualClock, unixSeconds } from "../../src/internal/clock.js";
import type { HeartbeatPort } from "../../src/broker/ports.js";
import type { HeartbeaterParams, HeartbeatTask, ServerStatus } from "../../src/server/heartbeater.js";
import type { RunningTask } from "../../src/server/executor.js";
import * as keys from "../../src/wire/keys.js";
import {
  GO_ZERO_TIME_SECONDS,
  type ServerInfo,
  type Timestamp,
  type WorkerInfo,
} from "../../src/wire/messages.js";
import { decodeServerInfo, decodeWorkerInfo, newServerInfo, newWorkerInfo } from "../../src/wire/proto.js";
import {
  compareSnapshots,
  dumpDb,
  formatDifferences,
  loadGoldenScenario,
  type Snapshot,
  type StoredValue,
  substitute,
} from "../support/redis-dump.js";
import { Heartbeater } from "../support/components.js";
import { useRedisFixture } from "../support/fixture.js";
import { testRedisUrl } from "../support/redis.js";
import { collectingLogger, deferred, waitFor, type LogLine } from "../support/server.js";
import { snapshotPath } from "../support/golden.js";

const SERVER_ID = "0b6f3c52-4f0e-4d3a-9d55-2f4b8c1e7a90";
/** An instant with a sub-second part, so that nanos are exercised: 2030-03-17T17:46:40.250Z. */
const T = 1_900_000_000_250;

const { redis } = useRedisFixture();

/** The real Redis functions behind the heartbeater's narrow broker interface. */
function redisBroker(r: Redis): HeartbeatPort {
  return {
    writeServerState: (info, workers, nowMs, ttl) => writeServerState(r, info, workers, nowMs, ttl),
    clearServerState: (host, pid, id) => clearServerState(r, host, pid, id),
    extendLease: (queue, ids, at) => extendLease(r, queue, ids, at),
  };
}

interface Started {
  hb: Heartbeater;
  logs: LogLine[];
  lost: string[];
  serverKey: string;
  workersKey: string;
}

/** Starts a heartbeater (test defaults, overridable); it is shut down when the test finishes. */
function startHeartbeater(overrides: Partial<HeartbeaterParams> = {}): Started {
  const { logger, lines } = collectingLogger();
  const lost: string[] = [];
  const hb = new Heartbeater({
    broker: redisBroker(redis),
    clock: new ManualClock(T),
    logger,
    serverId: SERVER_ID,
    concurrency: 4,
    queues: { critical: 6, default: 3, low: 1 },
    strictPriority: false,
    leaseDuration: 30_000,
    status: () => "active",
    tasks: () => [],
    onLeaseLost: (id) => lost.push(id),
    ...overrides,
  });
  hb.start();
  onTestFinished(() => hb.shutdown());
  return {
    hb,
    logs: lines,
    lost,
    serverKey: keys.serverInfoKey(hb.host, hb.pid, SERVER_ID),
    workersKey: keys.workersKey(hb.host, hb.pid, SERVER_ID),
  };
}

/** A running task as the executor keeps it (only what the heartbeater reads). */
function fakeTask(id: string, queue: string, startedAt: number, leaseExpiresAt: number): HeartbeatTask {
  return {
    id,
    queue,
    msg: { type: `job:${id}`, payload: Buffer.from(JSON.stringify({ id })) },
    startedAt,
    deadline: startedAt + 120_000,
    leaseExpiresAt,
  };
}

async function readServerInfo(key: string): Promise<ServerInfo | undefined> {
  const bytes = await redis.getBuffer(key);
  return bytes === null ? undefined : decodeServerInfo(bytes);
}

async function readWorkers(key: string): Promise<Record<string, WorkerInfo>> {
  const hash = await redis.hgetallBuffer(key);
  return Object.fromEntries(Object.entries(hash).map(([id, bytes]) => [id, decodeWorkerInfo(bytes)]));
}

/** Whether Go v0.24.1's ptypes.Timestamp accepts it (wire-format §2.6.8): present, seconds and nanos in range. */
function goAccepts(t: Timestamp | null): boolean {
  return (
    t !== null &&
    t.seconds >= GO_ZERO_TIME_SECONDS &&
    t.seconds < 253_402_300_800n &&
    Number.isInteger(t.nanos) &&
    t.nanos >= 0 &&
    t.nanos < 1e9
  );
}

describe("heartbeat", () => {
  it("registers the server in asynq:servers and writes its ServerInfo with a 10 s TTL at start", async () => {
    const { hb, serverKey, workersKey } = startHeartbeater();
    const info = await waitFor(() => readServerInfo(serverKey), "the first heartbeat");

    expect(info).toEqual(
      newServerInfo({
        host: hb.host,
        pid: process.pid,
        serverId: SERVER_ID,
        concurrency: 4,
        queues: { critical: 6, default: 3, low: 1 },
        strictPriority: false,
        status: "active",
        startTime: { seconds: 1_900_000_000n, nanos: 250_000_000 },
        activeWorkerCount: 0,
      }),
    );
    expect(await redis.ttl(serverKey)).toBeGreaterThanOrEqual(9);
    expect(await redis.ttl(serverKey)).toBeLessThanOrEqual(10);
    // Score = write time + TTL, whole unix seconds.
    expect(await redis.zrange(keys.ALL_SERVERS, 0, -1, "WITHSCORES")).toEqual([serverKey, "1900000010"]);
    // The workers member is written on every beat, even with no workers (then the hash does not exist).
    expect(await redis.zrange(keys.ALL_WORKERS, 0, -1, "WITHSCORES")).toEqual([workersKey, "1900000010"]);
    expect(await redis.exists(workersKey)).toBe(0);
  });

  it("prunes the members a killed server left behind (expired a second ago or more), as Go's listers do", async () => {
    // T is 1_900_000_000.25 s: members expiring at T - 1 s and earlier are stale, T itself is not.
    await redis.zadd(
      keys.ALL_SERVERS,
      1_899_999_999,
      "asynq:servers:{gone:1:a}",
      1_900_000_000,
      "asynq:servers:{now:1:b}",
    );
    await redis.zadd(keys.ALL_WORKERS, 1_899_999_990, "asynq:workers:{gone:1:a}");
    const { serverKey, workersKey } = startHeartbeater();
    await waitFor(() => readServerInfo(serverKey), "the first heartbeat");
    expect((await redis.zrange(keys.ALL_SERVERS, 0, -1)).sort()).toEqual(
      ["asynq:servers:{now:1:b}", serverKey].sort(),
    );
    expect(await redis.zrange(keys.ALL_WORKERS, 0, -1)).toEqual([workersKey]);
  });

  it("writes one WorkerInfo per running task, with the hash's TTL, and counts them in the ServerInfo", async () => {
    const a = fakeTask("a-1", "default", T - 1500, T + 20_000);
    const b = fakeTask("b-2", "critical", T - 250.5, T + 20_000);
    const { hb, serverKey, workersKey } = startHeartbeater({ tasks: () => [a, b] });
    await waitFor(() => redis.exists(serverKey), "the first heartbeat");

    const common = { host: hb.host, pid: process.pid, serverId: SERVER_ID };
    expect(await readWorkers(workersKey)).toEqual({
      "a-1": newWorkerInfo({
        ...common,
        taskId: "a-1",
        taskType: "job:a-1",
        taskPayload: Buffer.from('{"id":"a-1"}'),
        queue: "default",
        startTime: { seconds: 1_899_999_998n, nanos: 750_000_000 },
        deadline: { seconds: 1_900_000_118n, nanos: 750_000_000 },
      }),
      "b-2": newWorkerInfo({
        ...common,
        taskId: "b-2",
        taskType: "job:b-2",
        taskPayload: Buffer.from('{"id":"b-2"}'),
        queue: "critical",
        startTime: { seconds: 1_899_999_999n, nanos: 999_500_000 },
        deadline: { seconds: 1_900_000_119n, nanos: 999_500_000 },
      }),
    });
    expect(await redis.ttl(workersKey)).toBeGreaterThanOrEqual(9);
    expect(await redis.ttl(workersKey)).toBeLessThanOrEqual(10);
    expect((await readServerInfo(serverKey))?.activeWorkerCount).toBe(2);
  });

  it("writes every Timestamp, in the range Go's v0.24.1 readers accept, nanos from the ms fraction", async () => {
    const start = T + 0.123456; // a clock with sub-millisecond precision
    const task = fakeTask("t-1", "default", T - 0.5, T + 20_000);
    const { serverKey, workersKey } = startHeartbeater({
      clock: new ManualClock(start),
      tasks: () => [task],
    });
    await waitFor(() => redis.exists(serverKey), "the first heartbeat");

    const info = decodeServerInfo((await redis.getBuffer(serverKey))!);
    const worker = decodeWorkerInfo((await redis.hgetBuffer(workersKey, "t-1"))!);
    for (const t of [info.startTime, worker.startTime, worker.deadline]) expect(goAccepts(t)).toBe(true);
    // A double keeps the ms fraction to about 0.25 µs at this magnitude.
    expect(info.startTime?.seconds).toBe(1_900_000_000n);
    expect(Math.abs(info.startTime!.nanos - 250_123_456)).toBeLessThan(300);
    expect(worker.startTime).toEqual({ seconds: 1_900_000_000n, nanos: 249_500_000 });
  });

  it("reports status changes and new tasks on the next beat", async () => {
    let status: ServerStatus = "active";
    const running: HeartbeatTask[] = [];
    const { serverKey, workersKey } = startHeartbeater({
      interval: 50,
      status: () => status,
      tasks: () => running,
    });
    await waitFor(async () => (await readServerInfo(serverKey))?.status === "active", "status active");

    status = "stopped";
    running.push(fakeTask("late", "default", T, T + 20_000));
    await waitFor(async () => (await readServerInfo(serverKey))?.status === "stopped", "status stopped");
    expect(Object.keys(await readWorkers(workersKey))).toEqual(["late"]);
    expect((await readServerInfo(serverKey))?.activeWorkerCount).toBe(1);

    status = "closed";
    running.length = 0;
    await waitFor(async () => (await readServerInfo(serverKey))?.status === "closed", "status closed");
    expect(await redis.exists(workersKey)).toBe(0);
  });

  it("reads the executor's running tasks as they are", () => {
    expectTypeOf<RunningTask>().toExtend<HeartbeatTask>();
  });
});

describe("Go's golden dump p_mid_processing", () => {
  const golden = loadGoldenScenario(snapshotPath("p_mid_processing"));
  const snapshot = (label: string): Snapshot => golden.snapshots.find((s) => s.label === label)!;
  const GO_SERVER_ID = "be6f8ba0-b505-42b1-9e5c-dcc3478a962b";

  /** Go's dump as if written by this process: its host and pid in key names and records. */
  function asThisProcess(s: Snapshot, host: string, pid: number): Snapshot {
    const renamed = substitute(s, new Map([["{vm:1344:", `{${host}:${pid}:`]]));
    const patch = (v: StoredValue): StoredValue => {
      if (typeof v === "string" || !("proto" in v)) return v;
      if (v.proto !== "ServerInfo" && v.proto !== "WorkerInfo") return v;
      return { ...v, decoded: { ...v.decoded, host, pid }, hexUnreliable: true };
    };
    return {
      ...renamed,
      keys: renamed.keys.map((k) => {
        if (k.type === "string") return { ...k, value: patch(k.value) };
        if (k.type === "hash")
          return { ...k, value: Object.fromEntries(Object.entries(k.value).map(([f, v]) => [f, patch(v)])) };
        return k;
      }),
    };
  }

  /** Polls without timers (setTimeout is faked in this test). */
  async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
    for (let i = 0; i < 100_000; i++) {
      if (await condition()) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error(`gave up waiting for ${what}`);
  }

  it("replays the scenario: a beat at start, then the worker and the lease extension at the next beat", async () => {
    const [enqueueOp, startOp] = golden.ops;
    const clock = new ManualClock(enqueueOp!.at_unix_ms);
    await new Client(redis, { clock }).enqueue(
      { type: "video:encode", payload: { video_id: 7 } },
      { taskId: "p-1", timeout: 120_000 },
    );
    clock.set(startOp!.at_unix_ms);
    const claimed = await dequeue(redis, "default", 1, clock.now() + 30_000);
    expect(claimed.tasks.map((t) => t.id)).toEqual(["p-1"]);
    expect(await redis.zscore(keys.leaseKey("default"), "p-1")).toBe("1795241217");

    const running: HeartbeatTask[] = [];
    const { logger } = collectingLogger();
    const hb = new Heartbeater({
      broker: redisBroker(redis),
      clock,
      logger,
      serverId: GO_SERVER_ID,
      concurrency: 2,
      queues: { critical: 6, default: 3 },
      strictPriority: false,
      leaseDuration: 30_000,
      status: () => "active",
      tasks: () => running,
      onLeaseLost: () => {},
    });
    const serverKey = keys.serverInfoKey(hb.host, hb.pid, GO_SERVER_ID);
    const workersKey = keys.workersKey(hb.host, hb.pid, GO_SERVER_ID);
    const expectMatch = async (label: string): Promise<void> => {
      const diffs = compareSnapshots(asThisProcess(snapshot(label), hb.host, hb.pid), await dumpDb(redis));
      expect(formatDifferences(diffs)).toBe("");
    };

    // Go's heartbeat interval (5 s) on a fake timer, so the second beat comes without waiting 5 s.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      hb.start();
      // Go's first beat ran before its processor took p-1: no worker yet.
      await until(async () => (await redis.exists(serverKey)) === 1, "the first beat");
      await expectMatch("processing_started");

      // The handler started 1 ms after Start; the next beat comes 5 s later.
      const startedAt = startOp!.at_unix_ms + 1;
      running.push({
        id: "p-1",
        queue: "default",
        msg: { type: "video:encode", payload: Buffer.from('{"video_id":7}') },
        startedAt,
        deadline: startedAt + 120_000,
        leaseExpiresAt: unixSeconds(startOp!.at_unix_ms + 30_000) * 1000,
      });
      clock.set(startOp!.at_unix_ms + 5001);
      vi.advanceTimersByTime(5000);
      await until(
        async () =>
          (await redis.exists(workersKey)) === 1 &&
          Number(await redis.zscore(keys.leaseKey("default"), "p-1")) >
            unixSeconds(startOp!.at_unix_ms + 30_000),
        "the second beat and the lease extension",
      );
      await expectMatch("mid_processing");

      await hb.shutdown();
    } finally {
      vi.useRealTimers();
      await hb.shutdown();
    }
    // Go's final dump has no server keys left (the task itself finished there, not here).
    const left = (await dumpDb(redis)).keys.map((k) => k.key);
    expect(left.filter((k) => k.startsWith("asynq:servers") || k.startsWith("asynq:workers"))).toEqual([]);
  });
});

describe("leases", () => {
  it("extends valid leases per queue with ZADD XX, reports lost ones once and never re-adds a recovered task", async () => {
    const lease = keys.leaseKey;
    const a = fakeTask("a", "default", T - 5000, T + 10_000);
    const b = fakeTask("b", "critical", T - 5000, T + 10_000);
    const gone = fakeTask("gone", "default", T - 5000, T + 10_000); // recovered by another server
    const late = fakeTask("late", "default", T - 40_000, T - 1); // its local lease has passed
    await redis.zadd(lease("default"), unixSeconds(T + 10_000), "a", unixSeconds(T - 1), "late");
    await redis.zadd(lease("critical"), unixSeconds(T + 10_000), "b");
    let reads = 0;
    const { lost } = startHeartbeater({
      interval: 30, // lease runs every 30 ms too
      tasks: () => {
        reads++;
        return [a, b, gone, late];
      },
    });

    const extended = unixSeconds(T + 30_000);
    await waitFor(
      () => a.leaseExpiresAt === extended * 1000 && b.leaseExpiresAt === extended * 1000,
      "local leases updated",
    );
    expect(await redis.zscore(lease("default"), "a")).toBe(String(extended));
    expect(await redis.zscore(lease("critical"), "b")).toBe(String(extended));
    expect(late.leaseExpiresAt).toBe(T - 1);
    // Several more runs (beats and lease runs both read the tasks): still reported once, never extended.
    await waitFor(() => reads >= 8, "more runs");
    expect(lost).toEqual(["late"]);
    expect(await redis.zscore(lease("default"), "late")).toBe(String(unixSeconds(T - 1)));
    expect(await redis.zscore(lease("default"), "gone")).toBeNull();
  });

  it("extends every leaseDuration / 3 even when the heartbeat interval is longer", async () => {
    const clock = new ManualClock(T);
    const task = fakeTask("a", "default", T, T + 3000);
    await redis.zadd(keys.leaseKey("default"), unixSeconds(T + 3000), "a");
    let beats = 0;
    const broker = redisBroker(redis);
    const { lost } = startHeartbeater({
      clock,
      leaseDuration: 3000,
      interval: 5000,
      broker: {
        ...broker,
        writeServerState: (...args) => {
          beats++;
          return broker.writeServerState(...args);
        },
      },
      tasks: () => [task],
    });
    const score = async () => Number(await redis.zscore(keys.leaseKey("default"), "a"));
    await waitFor(() => task.leaseExpiresAt === unixSeconds(T + 3000) * 1000, "the first extension");

    clock.advance(1500);
    // The next extension comes about 1 s after the first, well before the next heartbeat (5 s).
    await waitFor(async () => (await score()) === unixSeconds(T + 4500), "the second extension", {
      timeoutMs: 2500,
    });
    await waitFor(() => task.leaseExpiresAt === unixSeconds(T + 4500) * 1000, "the local lease updated");
    expect(beats).toBe(1);
    expect(lost).toEqual([]);
  });

  it("keeps the local lease of a queue whose extension failed, and updates the others", async () => {
    const a = fakeTask("a", "default", T, T + 10_000);
    const b = fakeTask("b", "critical", T, T + 10_000);
    await redis.zadd(keys.leaseKey("default"), unixSeconds(T + 10_000), "a");
    await redis.zadd(keys.leaseKey("critical"), unixSeconds(T + 10_000), "b");
    const broker = redisBroker(redis);
    const { logs } = startHeartbeater({
      broker: {
        ...broker,
        extendLease: (queue, ids, at) =>
          queue === "critical"
            ? Promise.reject(new Error("READONLY injected"))
            : broker.extendLease(queue, ids, at),
      },
      tasks: () => [a, b],
    });

    await waitFor(
      () => logs.some((l) => l.level === "warn" && l.message.includes("READONLY")),
      "the warning",
    );
    expect(a.leaseExpiresAt).toBe(unixSeconds(T + 30_000) * 1000);
    expect(b.leaseExpiresAt).toBe(T + 10_000);
    expect(await redis.zscore(keys.leaseKey("critical"), "b")).toBe(String(unixSeconds(T + 10_000)));
  });
});

describe("shutdown", () => {
  it("removes the ServerInfo and workers keys and their zset members", async () => {
    const task = fakeTask("a", "default", T, T + 10_000);
    const { hb, serverKey, workersKey } = startHeartbeater({ tasks: () => [task] });
    await waitFor(() => redis.exists(serverKey, workersKey).then((n) => n === 2), "the first heartbeat");

    await hb.shutdown();
    expect(await redis.exists(serverKey, workersKey)).toBe(0);
    expect(await redis.zscore(keys.ALL_SERVERS, serverKey)).toBeNull();
    expect(await redis.zscore(keys.ALL_WORKERS, workersKey)).toBeNull();
  });

  it("waits for a heartbeat in progress before clearing, so the beat cannot resurrect the keys", async () => {
    const gate = deferred();
    const calls: string[] = [];
    const broker = redisBroker(redis);
    const { hb, serverKey } = startHeartbeater({
      broker: {
        ...broker,
        writeServerState: async (...args) => {
          calls.push("write");
          await gate.promise;
          await broker.writeServerState(...args);
        },
        clearServerState: (...args) => {
          calls.push("clear");
          return broker.clearServerState(...args);
        },
      },
    });
    await waitFor(() => calls.includes("write"), "the first beat to begin");

    const done = hb.shutdown();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls).toEqual(["write"]);
    gate.resolve();
    await done;
    expect(calls).toEqual(["write", "clear"]);
    expect(await redis.exists(serverKey)).toBe(0);
    expect(await redis.zscore(keys.ALL_SERVERS, serverKey)).toBeNull();
  });
});

/** A TCP proxy in front of the test Redis that can be cut and restored, to stage a Redis outage. */
class CuttableProxy {
  private server: NetServer | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    const server = createServer((client) => this.pipe(client));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as { port: number }).port;
  }

  /** Drops every connection and refuses new ones. */
  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  private pipe(client: Socket): void {
    const upstream = createConnection(this.target);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  }
}

describe("Redis outages", () => {
  it("logs one warning per outage, never throws, and beats again once Redis is back", async () => {
    const url = new URL(testRedisUrl());
    const proxy = new CuttableProxy({ host: url.hostname, port: Number(url.port) });
    await proxy.open();
    const proxied = new Redis({
      host: "127.0.0.1",
      port: proxy.port,
      db: Number(url.pathname.slice(1)),
      // Fail commands at once while disconnected, and reconnect quickly.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => 20,
      lazyConnect: true,
    });
    proxied.on("error", () => {});
    await proxied.connect();
    onTestFinished(async () => {
      proxied.disconnect();
      await proxy.cut();
    });
    const { serverKey, logs } = startHeartbeater({ broker: redisBroker(proxied), interval: 30 });
    await waitFor(() => redis.exists(serverKey), "the first heartbeat");

    await proxy.cut();
    await redis.del(serverKey);
    const failures = () => logs.filter((l) => l.message.includes("cannot write the server state"));
    await waitFor(() => failures().filter((l) => l.level === "debug").length >= 3, "repeated failures");
    expect(failures().filter((l) => l.level !== "debug")).toHaveLength(1);
    expect(failures()[0]!.level).toBe("warn");

    await proxy.open();
    await waitFor(() => redis.exists(serverKey), "a heartbeat after the outage");
    expect(logs.filter((l) => l.level === "warn" || l.level === "error")).toHaveLength(1);
    await waitFor(
      () => logs.some((l) => l.level === "info" && l.message.includes("again")),
      "the recovery line",
    );
  });
});
