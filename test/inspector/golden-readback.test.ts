// Data written by the golden vectors' Go scenarios, restored into Redis, reads back through our Inspector
// with the values Go reported: every enqueued task (TaskInfo vs Go's `result`), queue info and history
// (r, t), servers and workers (p), scheduler entries and enqueue history (q).
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readGroups, readQueueHistory, readQueueStats } from "../../src/broker/admin/queues.js";
import {
  readSchedulerEntries,
  readSchedulerEvents,
  readServerState,
} from "../../src/broker/admin/servers.js";
import { QueueAdmin } from "../../src/inspector/queues.js";
import { ServerAdmin } from "../../src/inspector/servers.js";
import type { TaskInfo } from "../../src/task.js";
import * as keys from "../../src/wire/keys.js";
import {
  compareSnapshots,
  dumpDb,
  formatDifferences,
  loadGoldenScenario,
  type GoldenScenario,
  type GoldenTaskInfo,
  type Snapshot,
} from "../support/redis-dump.js";
import { restoreSnapshot } from "../support/redis-restore.js";
import { useRedisFixture } from "../support/fixture.js";
import { SNAPSHOTS_DIR } from "../support/golden.js";

const GOLDEN = SNAPSHOTS_DIR;
const FILES = readdirSync(GOLDEN)
  .filter((f) => f.endsWith(".json"))
  .sort();

// Each test sets the clock to the instants of Go's calls.
const { redis, clock, inspector } = useRedisFixture({ clock: Date.UTC(2030, 0, 1), inspector: true });
const fail = (): never => {
  throw new Error("read-only test");
};
const queues = new QueueAdmin(
  {
    queues: () => redis.smembers(keys.ALL_QUEUES),
    queueStats: (q, now) => readQueueStats(redis, q, now),
    queueHistory: (q, days, now) => readQueueHistory(redis, q, days, now),
    queueGroups: (q) => readGroups(redis, q),
    pauseQueue: fail,
    unpauseQueue: fail,
    removeQueue: fail,
  },
  clock,
);
const servers = new ServerAdmin(
  {
    serverState: (now) => readServerState(redis, now),
    schedulerEntries: (now) => readSchedulerEntries(redis, now),
    schedulerEvents: (id, start, stop) => readSchedulerEvents(redis, id, start, stop),
    redisInfo: fail,
    clusterRedisInfo: fail,
    clusterKeySlot: fail,
    clusterNodes: fail,
  },
  clock,
  (s) => {
    throw new Error(`undecodable golden record ${JSON.stringify(s)}`);
  },
);

const scenario = (file: string): GoldenScenario => loadGoldenScenario(`${GOLDEN}/${file}`);
const snapshot = (s: GoldenScenario, label: string): Snapshot & { taken_at_unix_ms: number } => {
  const found = s.snapshots.find((x) => x.label === label);
  if (found === undefined) throw new Error(`${s.scenario} has no snapshot ${label}`);
  return found;
};
const date = (unix: number | null): Date | null => (unix === null ? null : new Date(unix * 1000));
const bytes = (text: string | null): string => Buffer.from(text ?? "", "utf8").toString("hex");

/** Go's TaskInfo (golden `result`) in our TaskInfo's terms; payload and result as hex. */
function expectedInfo(go: GoldenTaskInfo): Record<string, unknown> {
  return {
    id: go.id,
    queue: go.queue,
    type: go.type,
    payload: bytes(go.payload),
    state: go.state,
    maxRetry: go.max_retry,
    retried: go.retried,
    lastError: go.last_err,
    lastFailedAt: date(go.last_failed_at_unix),
    timeout: go.timeout_seconds * 1000,
    deadline: date(go.deadline_unix),
    group: go.group,
    nextProcessAt: date(go.next_process_at_unix),
    retention: go.retention_seconds * 1000,
    completedAt: date(go.completed_at_unix),
    result: go.result === null ? null : bytes(go.result),
  };
}

function actualInfo(info: TaskInfo): Record<string, unknown> {
  const { headers, ...rest } = info;
  expect(headers).toEqual({}); // v0.25.1 has no headers
  return {
    ...rest,
    payload: Buffer.from(info.payload).toString("hex"),
    result: info.result === null ? null : Buffer.from(info.result).toString("hex"),
  };
}

/** Fields an enqueue fixes for the task's lifetime (the rest change when it is processed). */
const STATIC = ["id", "queue", "type", "payload", "maxRetry", "timeout", "deadline", "group", "retention"];

describe("the snapshot loader", () => {
  it.each(FILES)("restores every snapshot of %s exactly", async (file) => {
    for (const snap of scenario(file).snapshots) {
      await redis.flushdb();
      await restoreSnapshot(redis, snap);
      const diffs = compareSnapshots(snap, await dumpDb(redis), {
        toleranceSeconds: 0,
        ttlToleranceSeconds: 1,
      });
      expect(formatDifferences(diffs)).toBe("");
    }
  });
});

describe("getTaskInfo reads Go's tasks as Go reported them", () => {
  const cases = FILES.flatMap((file) =>
    scenario(file)
      .ops.filter((op) => op.api === "Client.Enqueue" && op.result !== undefined && op.result !== null)
      .map((op) => ({ file, index: op.index, id: (op.result as GoldenTaskInfo).id })),
  );

  it.each(cases)("$file op $index ($id)", async ({ file, index }) => {
    const s = scenario(file);
    const op = s.ops[index]!;
    const go = op.result as GoldenTaskInfo;
    const taskKey = keys.taskKey(go.queue, go.id);
    const snaps = s.snapshots.filter(
      (x) => x.taken_after_op >= index && x.keys.some((k) => k.key === taskKey),
    );
    if (snaps.length === 0) {
      expect(file).toBe("k_processed_plain.json"); // done and deleted: the only task no snapshot holds
      return;
    }
    const stateIn = (x: Snapshot): unknown => {
      const k = x.keys.find((y) => y.key === taskKey);
      return k?.type === "hash" ? k.value.state : undefined;
    };
    const same = snaps.find((x) => stateIn(x) === go.state);
    await restoreSnapshot(redis, same ?? snaps[0]!);
    clock.set(op.at_unix_ms); // Go's next_process_at of a pending task is the enqueue time
    const info = actualInfo(await inspector.getTaskInfo(go.queue, go.id));
    const expected = expectedInfo(go);
    if (same !== undefined) {
      expect(info).toEqual(expected);
    } else {
      // Processed since: the enqueue-time fields still match; the state is the snapshot's.
      for (const f of STATIC) expect({ [f]: info[f] }).toEqual({ [f]: expected[f] });
      expect(info.state).toBe(stateIn(snaps[0]!));
    }
  });

  it("also reads the tasks Go's scheduler enqueued (golden q events)", async () => {
    const q = scenario("q_scheduler_every.json");
    await restoreSnapshot(redis, snapshot(q, "final"));
    const events = q.events.filter((e) => e.event === "scheduler_enqueued");
    expect(events).toHaveLength(3);
    for (const e of events) {
      const go = e.task as GoldenTaskInfo;
      clock.set(e.at_unix_ms as number);
      expect(actualInfo(await inspector.getTaskInfo(go.queue, go.id))).toEqual(expectedInfo(go));
    }
  });
});

describe("queue info of Go's queues", () => {
  it("r: a paused queue", async () => {
    const r = scenario("r_paused_queue.json");
    const snap = snapshot(r, "paused");
    await restoreSnapshot(redis, snap);
    clock.set(snap.taken_at_unix_ms);
    expect(await queues.getQueueInfo("default")).toMatchObject({ size: 1, pending: 1, paused: true });
  });

  it("t: every state, groups, today's counter and history", async () => {
    const t = scenario("t_queue_removed.json");
    const snap = snapshot(t, "before_remove");
    await restoreSnapshot(redis, snap);
    clock.set(snap.taken_at_unix_ms);
    expect(await queues.getQueueInfo("temp")).toMatchObject({
      size: 5,
      pending: 2,
      active: 0,
      scheduled: 1,
      retry: 0,
      archived: 0,
      completed: 1,
      aggregating: 1,
      groups: 1,
      processed: 1,
      failed: 0,
      processedTotal: 1,
      failedTotal: 0,
      paused: true,
    });
    expect(await queues.history("temp", 2)).toEqual([
      { date: "2026-11-21", processed: 1, failed: 0 },
      { date: "2026-11-20", processed: 0, failed: 0 },
    ]);
    expect(await queues.listGroups("temp")).toEqual([{ group: "g1", size: 1 }]);
  });

  it("q: latency of the oldest pending task from its pending_since", async () => {
    const q = scenario("q_scheduler_every.json");
    const snap = snapshot(q, "scheduler_running");
    await restoreSnapshot(redis, snap);
    clock.set(snap.taken_at_unix_ms);
    const pending = snap.keys.find((k) => k.key === keys.pendingKey("default"));
    const oldest = (pending?.value as string[]).at(-1)!;
    const hash = snap.keys.find((k) => k.key === keys.taskKey("default", oldest))!.value as Record<
      string,
      string
    >;
    const expected = (BigInt(snap.taken_at_unix_ms) * 1_000_000n - BigInt(hash.pending_since!)) / 1_000_000n;
    const info = await queues.getQueueInfo("default");
    expect(info).toMatchObject({ pending: 3, size: 3 });
    expect(Math.abs(info.latency - Number(expected))).toBeLessThanOrEqual(1);
    expect(info.latency).toBeGreaterThan(5_000);
  });
});

describe("servers and schedulers written by Go", () => {
  it("p: the server with its worker mid-processing, and without one just after start", async () => {
    const p = scenario("p_mid_processing.json");
    const mid = snapshot(p, "mid_processing");
    await restoreSnapshot(redis, mid);
    clock.set(mid.taken_at_unix_ms);
    const info = mid.keys.find((k) => k.key.startsWith("asynq:servers:{"))!.value as unknown as {
      decoded: { server_id: string };
    };
    expect(await servers.listServers()).toEqual([
      {
        serverId: info.decoded.server_id,
        host: "vm",
        pid: 1344,
        concurrency: 2,
        queues: { critical: 6, default: 3 },
        strictPriority: false,
        status: "active",
        startedAt: new Date(1795241187996),
        activeWorkerCount: 1,
        activeWorkers: [
          {
            taskId: "p-1",
            taskType: "video:encode",
            payload: new Uint8Array(Buffer.from('{"video_id":7}')),
            queue: "default",
            startedAt: new Date(1795241187997),
            deadline: new Date(1795241307997),
          },
        ],
      },
    ]);
    expect(await servers.listWorkers()).toMatchObject([{ taskId: "p-1", host: "vm", pid: 1344 }]);
    expect(await queues.getQueueInfo("default")).toMatchObject({ active: 1, size: 1, latency: 0 });
    expect((await inspector.getTaskInfo("default", "p-1")).state).toBe("active");

    await redis.flushdb();
    const start = snapshot(p, "processing_started");
    await restoreSnapshot(redis, start);
    clock.set(start.taken_at_unix_ms);
    expect(await servers.listServers()).toMatchObject([{ activeWorkerCount: 0, activeWorkers: [] }]);
  });

  it("q: the scheduler entry and its enqueue history, newest first", async () => {
    const q = scenario("q_scheduler_every.json");
    const snap = snapshot(q, "scheduler_running");
    await restoreSnapshot(redis, snap);
    clock.set(snap.taken_at_unix_ms);
    const entryId = (q.ops[0]!.result as { entry_id: string }).entry_id;
    expect(await servers.listSchedulerEntries()).toEqual([
      {
        id: entryId,
        schedulerId: "vm:1344:a445dd3a-9aa5-43da-9194-5bd71ba7dd35",
        spec: "@every 3s",
        taskType: "report:tick",
        payload: new Uint8Array(Buffer.from('{"n":1}')),
        options: [
          { kind: "Queue", value: "default" },
          { kind: "MaxRetry", value: 2 },
        ],
        rawOptions: ['Queue("default")', "MaxRetry(2)"],
        next: new Date(1795241205000),
        prev: new Date(1795241202000),
      },
    ]);
    const enqueued = q.events.filter((e) => e.event === "scheduler_enqueued");
    const events = await servers.listSchedulerEnqueueEvents(entryId);
    expect(events.map((e) => e.taskId)).toEqual(enqueued.map((e) => (e.task as GoldenTaskInfo).id).reverse());
    // enqueue_time carries nanoseconds: kept to the millisecond, within the event's recorded time.
    events.forEach((e, i) => {
      const at = enqueued[enqueued.length - 1 - i]!.at_unix_ms as number;
      expect(Math.abs(e.enqueuedAt.getTime() - at)).toBeLessThan(50);
    });
    expect(events[0]!.enqueuedAt).toEqual(new Date(1795241202001));
  });
});
