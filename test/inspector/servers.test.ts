// Inspector reads of servers, workers, scheduler entries and enqueue history on a real Redis, as our
// heartbeat and Go's scheduler write them; stale registry members pruned; undecodable records skipped.
import type { Redis } from "ioredis";
import { beforeEach, describe, expect, it } from "vitest";
import { writeServerState } from "../../src/broker/upkeep/heartbeat.js";
import {
  clusterKeySlot,
  clusterRedisInfo,
  redisInfo,
  clusterNodes,
  readSchedulerEntries,
  readSchedulerEvents,
  readServerState,
} from "../../src/broker/admin/servers.js";
import { NotClusterError, ValidationError } from "../../src/errors.js";
import type { ServerAdminPort } from "../../src/broker/ports.js";
import { ServerAdmin, type SkippedRecord } from "../../src/inspector/servers.js";
import * as keys from "../../src/wire/keys.js";
import { GO_ZERO_TIME_SECONDS } from "../../src/wire/messages.js";
import {
  encodeSchedulerEnqueueEvent,
  encodeSchedulerEntry,
  newSchedulerEnqueueEvent,
  newSchedulerEntry,
  newServerInfo,
  newWorkerInfo,
} from "../../src/wire/proto.js";
import { useRedisFixture } from "../support/fixture.js";
import { rejection } from "./task-fixtures.js";

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const NOW_S = NOW / 1000;

let skipped: SkippedRecord[];

/** The ServerAdminPort over the broker functions (what admin/ops.ts wires). */
function serverBroker(r: Redis): ServerAdminPort {
  return {
    serverState: (now) => readServerState(r, now),
    schedulerEntries: (now) => readSchedulerEntries(r, now),
    schedulerEvents: (id, start, stop) => readSchedulerEvents(r, id, start, stop),
    redisInfo: () => redisInfo(r),
    clusterRedisInfo: () => clusterRedisInfo(r),
    clusterKeySlot: (q) => clusterKeySlot(r, q),
    clusterNodes: (q) => clusterNodes(r, q),
  };
}

const { redis, clock } = useRedisFixture({ clock: NOW });
const admin = new ServerAdmin(serverBroker(redis), clock, (s) => skipped.push(s));
beforeEach(() => {
  skipped = [];
});

const ts = (ms: number): { seconds: bigint; nanos: number } => ({
  seconds: BigInt(Math.floor(ms / 1000)),
  nanos: (ms % 1000) * 1_000_000,
});

function server(
  host: string,
  pid: number,
  serverId: string,
  extra: Parameters<typeof newServerInfo>[0] = {},
) {
  return newServerInfo({
    host,
    pid,
    serverId,
    concurrency: 4,
    queues: { critical: 6, default: 3 },
    status: "active",
    startTime: ts(NOW - 60_000),
    ...extra,
  });
}

function worker(s: ReturnType<typeof server>, taskId: string, startedMs: number) {
  return newWorkerInfo({
    host: s.host,
    pid: s.pid,
    serverId: s.serverId,
    taskId,
    taskType: "email",
    taskPayload: Buffer.from(`{"id":"${taskId}"}`),
    queue: "default",
    startTime: ts(startedMs),
    deadline: ts(startedMs + 1_800_000),
  });
}

describe("listServers and listWorkers", () => {
  it("lists live servers with their workers, sorted, and prunes stale registry members", async () => {
    const a = server("host-b", 20, "sid-a", { activeWorkerCount: 2 });
    const b = server("host-a", 10, "sid-b", { strictPriority: true, status: "closed" });
    const stale = server("host-c", 30, "sid-c");
    await writeServerState(redis, a, [worker(a, "t2", NOW - 2_000), worker(a, "t1", NOW - 5_000)], NOW, 10);
    await writeServerState(redis, b, [], NOW - 4_000, 10);
    await writeServerState(redis, stale, [worker(stale, "t3", NOW - 90_000)], NOW - 60_000, 10);

    const servers = await admin.listServers();
    expect(servers.map((s) => s.serverId)).toEqual(["sid-b", "sid-a"]);
    expect(servers[1]).toEqual({
      serverId: "sid-a",
      host: "host-b",
      pid: 20,
      concurrency: 4,
      queues: { critical: 6, default: 3 },
      strictPriority: false,
      status: "active",
      startedAt: new Date(NOW - 60_000),
      activeWorkerCount: 2,
      activeWorkers: expect.arrayContaining([
        {
          taskId: "t1",
          taskType: "email",
          payload: new Uint8Array(Buffer.from('{"id":"t1"}')),
          queue: "default",
          startedAt: new Date(NOW - 5_000),
          deadline: new Date(NOW - 5_000 + 1_800_000),
        },
      ]) as unknown,
    });
    expect(servers[1]!.activeWorkers).toHaveLength(2);
    expect(servers[0]).toMatchObject({ strictPriority: true, status: "closed", activeWorkers: [] });
    // The stale members were removed from the registries.
    expect(await redis.zscore(keys.ALL_SERVERS, keys.serverInfoKey("host-c", 30, "sid-c"))).toBeNull();
    expect(await redis.zscore(keys.ALL_WORKERS, keys.workersKey("host-c", 30, "sid-c"))).toBeNull();

    const workers = await admin.listWorkers();
    expect(workers.map((w) => [w.taskId, w.serverId, w.host, w.pid])).toEqual([
      ["t1", "sid-a", "host-b", 20],
      ["t2", "sid-a", "host-b", 20],
    ]);
  });

  it("skips and reports records that do not decode, and ones whose key expired", async () => {
    const a = server("h", 1, "ok");
    await writeServerState(redis, a, [worker(a, "good", NOW - 1_000)], NOW, 10);
    await redis.hset(keys.workersKey("h", 1, "ok"), "bad", Buffer.from([0x0a, 0xff])); // truncated field
    await redis.zadd(
      keys.ALL_SERVERS,
      NOW_S + 10,
      "asynq:servers:{h:2:broken}",
      NOW_S + 10,
      "asynq:servers:{h:3:gone}",
    );
    await redis.set("asynq:servers:{h:2:broken}", Buffer.from([0x0a, 0x05, 0x68]));
    const servers = await admin.listServers();
    expect(servers.map((s) => [s.serverId, s.activeWorkers.map((w) => w.taskId)])).toEqual([
      ["ok", ["good"]],
    ]);
    expect(skipped.map((s) => [s.key, s.field])).toEqual([
      [keys.workersKey("h", 1, "ok"), "bad"],
      ["asynq:servers:{h:2:broken}", ""],
    ]);
  });
});

describe("scheduler entries", () => {
  it("decodes entries, parses option strings (keeping the raw ones) and prunes stale schedulers", async () => {
    const entry = newSchedulerEntry({
      id: "e1",
      spec: "@every 30s",
      taskType: "report",
      taskPayload: Buffer.from("p"),
      enqueueOptions: ['Queue("low")', "MaxRetry(3)", 'TaskID("x")', 'Group("g")', "Bogus(1)"],
      nextEnqueueTime: ts(NOW + 30_000),
      prevEnqueueTime: { seconds: GO_ZERO_TIME_SECONDS, nanos: 0 },
    });
    const second = newSchedulerEntry({
      id: "e2",
      spec: "0 * * * *",
      taskType: "hourly",
      nextEnqueueTime: ts(NOW),
      prevEnqueueTime: ts(NOW - 3_600_000),
    });
    const live = keys.schedulerEntriesKey("host:1:sched-a");
    await redis.rpush(
      live,
      Buffer.from(encodeSchedulerEntry(entry)),
      Buffer.from(encodeSchedulerEntry(second)),
      Buffer.from([0x12, 0x09]),
    );
    await redis.zadd(keys.ALL_SCHEDULERS, NOW_S + 20, live);
    const stale = keys.schedulerEntriesKey("host:2:sched-b");
    await redis.rpush(stale, Buffer.from(encodeSchedulerEntry(entry)));
    await redis.zadd(keys.ALL_SCHEDULERS, NOW_S - 1, stale);

    const entries = await admin.listSchedulerEntries();
    expect(entries).toEqual([
      {
        id: "e1",
        schedulerId: "host:1:sched-a",
        spec: "@every 30s",
        taskType: "report",
        payload: new Uint8Array(Buffer.from("p")),
        options: [
          { kind: "Queue", value: "low" },
          { kind: "MaxRetry", value: 3 },
          { kind: "TaskID", value: "x" },
          { kind: "Group", value: "g" },
        ],
        rawOptions: ['Queue("low")', "MaxRetry(3)", 'TaskID("x")', 'Group("g")', "Bogus(1)"],
        next: new Date(NOW + 30_000),
        prev: null,
      },
      expect.objectContaining({
        id: "e2",
        prev: new Date(NOW - 3_600_000),
        options: [],
        rawOptions: [],
      }) as unknown,
    ]);
    expect(skipped).toHaveLength(1);
    expect(await redis.zscore(keys.ALL_SCHEDULERS, stale)).toBeNull();
  });

  it("pages enqueue events newest first and validates the page", async () => {
    const key = keys.schedulerHistoryKey("e1");
    for (let i = 0; i < 5; i++) {
      const at = NOW - (5 - i) * 1000 + 250;
      const event = newSchedulerEnqueueEvent({ taskId: `task-${i}`, enqueueTime: ts(at) });
      await redis.zadd(key, Math.floor(at / 1000), Buffer.from(encodeSchedulerEnqueueEvent(event)));
    }
    const page1 = await admin.listSchedulerEnqueueEvents("e1", { size: 2 });
    expect(page1).toEqual([
      { taskId: "task-4", enqueuedAt: new Date(NOW - 1000 + 250) },
      { taskId: "task-3", enqueuedAt: new Date(NOW - 2000 + 250) },
    ]);
    const page3 = await admin.listSchedulerEnqueueEvents("e1", { page: 3, size: 2 });
    expect(page3.map((e) => e.taskId)).toEqual(["task-0"]);
    expect(await admin.listSchedulerEnqueueEvents("e1")).toHaveLength(5);
    expect(await admin.listSchedulerEnqueueEvents("unknown")).toEqual([]);
    for (const bad of [{ page: 0 }, { size: 0 }, { page: 1.5 }, { size: 10_001 }]) {
      expect(await rejection(admin.listSchedulerEnqueueEvents("e1", bad))).toBeInstanceOf(ValidationError);
    }
    expect(await rejection(admin.listSchedulerEnqueueEvents(" "))).toBeInstanceOf(ValidationError);
  });
});

describe("redisInfo", () => {
  it("gives every key:value line of INFO, values as Redis wrote them", async () => {
    const info = await admin.redisInfo();
    const raw = await redis.info("server");
    expect(raw).toContain(`redis_version:${info.redis_version}`);
    expect(info.redis_version).toMatch(/^\d+\.\d+\.\d+/);
    expect(Number(info.uptime_in_seconds)).toBeGreaterThanOrEqual(0);
    expect(Number(info.connected_clients)).toBeGreaterThan(0);
    expect(Number(info.used_memory)).toBeGreaterThan(0);
    expect(Object.keys(info).some((k) => k.startsWith("#") || k === "")).toBe(false);
  });
});

describe("cluster helpers", () => {
  it("fail with NotClusterError on a standalone Redis", async () => {
    expect(await rejection(admin.clusterKeySlot("default"))).toBeInstanceOf(NotClusterError);
    expect(await rejection(admin.clusterNodes("default"))).toBeInstanceOf(NotClusterError);
    expect(await rejection(admin.clusterRedisInfo())).toBeInstanceOf(NotClusterError);
    expect(await rejection(admin.clusterKeySlot(""))).toBeInstanceOf(ValidationError);
  });
});
