// Inspector queue operations on a real Redis: queue info (counts, counters, latency, asynq's memory
// estimate), history, groups, pause/unpause (golden r) and queue removal (golden t, batches, races).
import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { removeQueue } from "../../src/broker/admin/queue-removal.js";
import {
  pauseQueue,
  readGroups,
  readQueueHistory,
  readQueueStats,
  unpauseQueue,
} from "../../src/broker/admin/queues.js";
import { AsynqError, BrokerError, QueueNotFoundError, ValidationError } from "../../src/errors.js";
import { Inspector } from "../../src/inspector/inspector.js";
import type { QueueAdminPort } from "../../src/broker/ports.js";
import { QueueAdmin } from "../../src/inspector/queues.js";
import * as keys from "../../src/wire/keys.js";
import { encodeTaskMessage, newTaskMessage } from "../../src/wire/proto.js";
import { assertSnapshotsMatch, dumpDb, loadGoldenScenario } from "../support/redis-dump.js";
import { restoreSnapshot } from "../support/redis-restore.js";
import { useRedisFixture } from "../support/fixture.js";
import { testDb, testRedisUrl } from "../support/redis.js";
import { countCommands, waitFor } from "../support/server-helpers.js";
import { SNAPSHOTS_DIR } from "../support/golden.js";

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0) + 400;
const NOW_S = Math.floor(NOW / 1000);
const GOLDEN = SNAPSHOTS_DIR;

/** The QueueAdminPort over the broker functions (what admin/ops.ts wires). */
function queueBroker(r: Redis, batch?: number): QueueAdminPort {
  return {
    queues: () => r.smembers(keys.ALL_QUEUES),
    queueStats: (q, now) => readQueueStats(r, q, now),
    queueHistory: (q, days, now) => readQueueHistory(r, q, days, now),
    pauseQueue: (q, now) => pauseQueue(r, q, now),
    unpauseQueue: (q) => unpauseQueue(r, q),
    queueGroups: (q) => readGroups(r, q),
    removeQueue: (req) => removeQueue(r, req.queue, req.force, req.nowMs, batch),
  };
}

const { redis, clock } = useRedisFixture({ clock: NOW });
const admin = new QueueAdmin(queueBroker(redis), clock);

const ns = (ms: number): string => `${BigInt(ms) * 1_000_000n}`;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

type State = keys.TaskState;

/** Writes a consistent task (hash + container) by hand, as Go would, in a registered queue. */
async function put(
  queue: string,
  id: string,
  state: State,
  opts: { score?: number; group?: string; pendingSince?: string | null; uniqueKey?: string } = {},
): Promise<void> {
  await redis.sadd(keys.ALL_QUEUES, queue);
  const msg = newTaskMessage({ type: "t", queue, id, retry: 25, timeout: 1800n, groupKey: opts.group ?? "" });
  const fields: Record<string, string | Buffer> = { msg: Buffer.from(encodeTaskMessage(msg)), state };
  if (state === "pending" && opts.pendingSince !== null) fields.pending_since = opts.pendingSince ?? ns(NOW);
  if (opts.group !== undefined) fields.group = opts.group;
  if (opts.uniqueKey !== undefined) fields.unique_key = opts.uniqueKey;
  await redis.hset(keys.taskKey(queue, id), fields);
  const score = opts.score ?? NOW_S;
  if (state === "pending") await redis.lpush(keys.pendingKey(queue), id);
  else if (state === "active") {
    await redis.lpush(keys.activeKey(queue), id);
    await redis.zadd(keys.leaseKey(queue), NOW_S + 30, id);
  } else if (state === "aggregating") {
    await redis.zadd(keys.groupKey(queue, opts.group ?? "g"), score, id);
    await redis.sadd(keys.allGroupsKey(queue), opts.group ?? "g");
  } else await redis.zadd(keys.stateKey(queue, state), score, id);
}

/** asynq HEAD's memory estimate computed with plain commands, in the script's order. */
async function referenceMemory(queue: string): Promise<number> {
  const usage = async (key: string): Promise<number> =>
    ((await redis.call("MEMORY", "USAGE", key)) as number | null) ?? 0;
  let memory = 0;
  const lists = [keys.pendingKey(queue), keys.activeKey(queue)];
  for (const key of [
    ...lists,
    ...(["scheduled", "retry", "archived", "completed"] as const).map((s) => keys.stateKey(queue, s)),
  ]) {
    const isList = lists.includes(key);
    const ids = isList ? await redis.lrange(key, 0, 19) : await redis.zrange(key, 0, 19);
    if (ids.length > 0) {
      let total = 0;
      for (const id of ids) total += await usage(keys.taskKey(queue, id));
      memory += (total / ids.length) * (isList ? await redis.llen(key) : await redis.zcard(key));
    }
    memory += await usage(key);
  }
  const groups = await redis.smembers(keys.allGroupsKey(queue));
  let count = 0;
  let total = 0;
  let found = 0;
  for (const [i, g] of groups.entries()) {
    count += await redis.zcard(keys.groupKey(queue, g));
    if (i >= 5) continue;
    for (const id of await redis.zrange(keys.groupKey(queue, g), 0, 19)) {
      const bytes = (await redis.call("MEMORY", "USAGE", keys.taskKey(queue, id))) as number | null;
      if (bytes !== null) {
        total += bytes;
        found++;
      }
    }
  }
  if (found > 0) memory += (total / found) * count;
  return Math.floor(memory);
}

describe("getQueueInfo", () => {
  it("counts every state, reads today's and all-time counters, latency of the tail and the memory estimate", async () => {
    await put("q", "old", "pending", { pendingSince: ns(NOW - 5_000) });
    await put("q", "new", "pending", { pendingSince: ns(NOW - 1_000) });
    await put("q", "a1", "active");
    for (const [i, s] of (["scheduled", "retry", "archived", "completed"] as const).entries()) {
      for (let n = 0; n <= i; n++) await put("q", `${s}-${n}`, s, { score: NOW_S + 60 * n });
    }
    await put("q", "g1a", "aggregating", { group: "g1" });
    await put("q", "g1b", "aggregating", { group: "g1" });
    await put("q", "g2a", "aggregating", { group: "g2" });
    await redis.set(keys.processedKey("q", new Date(NOW)), "7");
    await redis.set(keys.failedKey("q", new Date(NOW)), "2");
    await redis.set(keys.processedKey("q", new Date(NOW - 86_400_000)), "50");
    await redis.set(keys.processedTotalKey("q"), "100");
    await redis.set(keys.failedTotalKey("q"), "10");
    await redis.set(keys.pausedKey("q"), String(NOW_S));

    const info = await admin.getQueueInfo("q");
    expect(info).toEqual({
      queue: "q",
      size: 2 + 1 + 1 + 2 + 3 + 4 + 3,
      pending: 2,
      active: 1,
      scheduled: 1,
      retry: 2,
      archived: 3,
      completed: 4,
      aggregating: 3,
      groups: 2,
      processed: 7,
      failed: 2,
      processedTotal: 100,
      failedTotal: 10,
      latency: 5_000,
      memoryUsage: await referenceMemory("q"),
      paused: true,
      timestamp: new Date(NOW),
    });
    expect(info.memoryUsage).toBeGreaterThan(1000);
  });

  it("keeps HEAD's guards: a dangling ID and an empty group neither fail nor skew the divisor rule", async () => {
    await put("q", "r1", "retry");
    await redis.zadd(keys.retryKey("q"), NOW_S, "dangling"); // no hash: counts in the divisor, adds nothing
    await redis.sadd(keys.allGroupsKey("q"), "ghost"); // a group name whose zset is empty
    const info = await admin.getQueueInfo("q");
    expect(info).toMatchObject({ retry: 2, groups: 1, aggregating: 0 });
    expect(info.memoryUsage).toBe(await referenceMemory("q"));
  });

  it("latency is 0 for an empty pending list and for a tail without pending_since (requeued)", async () => {
    await put("q", "s", "scheduled");
    expect((await admin.getQueueInfo("q")).latency).toBe(0);
    await put("q", "requeued", "pending", { pendingSince: null });
    await put("q", "fresh", "pending", { pendingSince: ns(NOW - 9_000) });
    expect((await admin.getQueueInfo("q")).latency).toBe(0);
  });

  it("sends 9 pipelined reads and one script (plus one ZRANGE per sampled group)", async () => {
    await put("q", "p1", "pending");
    await admin.getQueueInfo("q"); // the script is cached from here on
    const measure = async (): Promise<Record<string, number>> => {
      const monitor = await countCommands(redis, testDb());
      try {
        await admin.getQueueInfo("q");
        await waitFor(() => monitor.counts.get("evalsha") === 1, { message: "the script call" });
        // Another test file may SCRIPT FLUSH the shared Redis meanwhile: the EVAL fallback that
        // follows a NOSCRIPT is not one of the reads counted here.
        monitor.counts.delete("eval");
        return Object.fromEntries(monitor.counts);
      } finally {
        monitor.stop();
      }
    };
    const base = { sismember: 1, smembers: 1, lindex: 1, lrange: 2, zrange: 4, evalsha: 1 };
    expect(await measure()).toEqual(base);
    for (let g = 0; g < 7; g++) await put("q", `a${g}`, "aggregating", { group: `g${g}` });
    expect(await measure()).toEqual({ ...base, zrange: 4 + 5 });
  });

  it("rejects a blank name and an unregistered queue", async () => {
    expect(await rejection(admin.getQueueInfo(" "))).toBeInstanceOf(ValidationError);
    expect(await rejection(admin.getQueueInfo("nope"))).toBeInstanceOf(QueueNotFoundError);
  });

  it("getQueueInfos lists every registered queue, sorted", async () => {
    await put("b", "x", "pending");
    await put("a", "y", "scheduled");
    const infos = await admin.getQueueInfos();
    expect(infos.map((i) => [i.queue, i.pending, i.scheduled])).toEqual([
      ["a", 0, 1],
      ["b", 1, 0],
    ]);
  });

  it("getQueueInfos lists a queue it cannot read with its error, and still reads the others", async () => {
    await put("b", "x", "pending");
    await put("a", "y", "scheduled");
    await redis.sadd(keys.ALL_QUEUES, "broken");
    await redis.set(keys.pendingKey("broken"), "not a list");
    await using inspector = new Inspector(testRedisUrl(), { clock });
    const infos = await inspector.getQueueInfos();
    expect(infos.map((i) => [i.queue, i.pending, i.scheduled, i.error])).toEqual([
      ["a", 0, 1, undefined],
      ["b", 1, 0, undefined],
      ["broken", 0, 0, expect.stringContaining("WRONGTYPE")],
    ]);
    // Asked for on its own, the broken queue still fails loudly.
    expect(await rejection(inspector.getQueueInfo("broken"))).toBeInstanceOf(BrokerError);
  });
});

describe("history", () => {
  it("returns one row per UTC day, newest first, missing counters as 0", async () => {
    clock.set(Date.UTC(2030, 0, 3, 0, 30));
    await redis.sadd(keys.ALL_QUEUES, "q");
    await redis.set("asynq:{q}:processed:2030-01-03", "5");
    await redis.set("asynq:{q}:failed:2030-01-03", "1");
    await redis.set("asynq:{q}:processed:2030-01-01", "9");
    expect(await admin.history("q", 3)).toEqual([
      { date: "2030-01-03", processed: 5, failed: 1 },
      { date: "2030-01-02", processed: 0, failed: 0 },
      { date: "2030-01-01", processed: 9, failed: 0 },
    ]);
    expect(await admin.history("q", 120)).toHaveLength(120);
  });

  it("validates days and the queue", async () => {
    await redis.sadd(keys.ALL_QUEUES, "q");
    for (const days of [0, -1, 1.5, Number.NaN, 3651]) {
      expect(await rejection(admin.history("q", days))).toBeInstanceOf(ValidationError);
    }
    expect(await rejection(admin.history("other", 1))).toBeInstanceOf(QueueNotFoundError);
  });
});

describe("listGroups", () => {
  it("lists groups with their sizes, sorted; refuses an unregistered queue", async () => {
    await put("q", "1", "aggregating", { group: "zeta" });
    await put("q", "2", "aggregating", { group: "alpha" });
    await put("q", "3", "aggregating", { group: "alpha" });
    expect(await admin.listGroups("q")).toEqual([
      { group: "alpha", size: 2 },
      { group: "zeta", size: 1 },
    ]);
    await put("empty", "p", "pending");
    expect(await admin.listGroups("empty")).toEqual([]);
    expect(await rejection(admin.listGroups("nope"))).toBeInstanceOf(QueueNotFoundError);
  });
});

describe("pause and unpause", () => {
  it("write what Go's PauseQueue/UnpauseQueue wrote (golden r) and refuse a second call", async () => {
    const r = loadGoldenScenario(`${GOLDEN}/r_paused_queue.json`);
    const [paused, final] = r.snapshots;
    await restoreSnapshot(redis, final!); // the state before PauseQueue (unpause undid it)
    clock.set(r.ops[1]!.at_unix_ms);
    await admin.pauseQueue("default");
    assertSnapshotsMatch(paused!, await dumpDb(redis), { toleranceSeconds: 0 });
    expect((await admin.getQueueInfo("default")).paused).toBe(true);

    const again = await rejection(admin.pauseQueue("default"));
    expect(again).toBeInstanceOf(AsynqError);
    expect((again as AsynqError).code).toBe("ERR_QUEUE_PAUSED");

    await admin.unpauseQueue("default");
    assertSnapshotsMatch(final!, await dumpDb(redis));
    const not = await rejection(admin.unpauseQueue("default"));
    expect((not as AsynqError).code).toBe("ERR_QUEUE_NOT_PAUSED");
    expect(await rejection(admin.pauseQueue(""))).toBeInstanceOf(ValidationError);
  });

  it("like asynq, pausing does not require a registered queue", async () => {
    await admin.pauseQueue("future");
    expect(await redis.get(keys.pausedKey("future"))).toBe(String(NOW_S));
    expect(await redis.ttl(keys.pausedKey("future"))).toBe(-1);
  });
});
