// Inspector.deleteQueue on a real Redis: the non-forced and forced checks, deleting everything of a queue
// in batches (unlike asynq, golden t), keys of other queues left alone, and a producer racing the removal.
import { describe, expect, it } from "vitest";
import { removeQueue } from "../../src/broker/admin/queue-removal.js";
import { readQueueStats } from "../../src/broker/admin/queues.js";
import { Client } from "../../src/client/client.js";
import { AsynqError, QueueNotEmptyError, QueueNotFoundError, ValidationError } from "../../src/errors.js";
import type { QueueAdminPort } from "../../src/broker/ports.js";
import { QueueAdmin } from "../../src/inspector/queues.js";
import * as keys from "../../src/wire/keys.js";
import { encodeTaskMessage, newTaskMessage } from "../../src/wire/proto.js";
import { dumpDb, loadGoldenScenario } from "../support/redis-dump.js";
import { restoreSnapshot } from "../support/redis-restore.js";
import { useRedisFixture } from "../support/fixture.js";
import { rejection } from "./task-fixtures.js";
import { testRedisUrl } from "../support/redis.js";
import { SNAPSHOTS_DIR } from "../support/golden.js";

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const NOW_S = NOW / 1000;
const GOLDEN = SNAPSHOTS_DIR;

const { redis, clock } = useRedisFixture({ clock: NOW });

function admin(batch?: number): QueueAdmin {
  const unused = (): never => {
    throw new Error("not used by deleteQueue");
  };
  const broker: QueueAdminPort = {
    queues: unused,
    queueStats: (q, now) => readQueueStats(redis, q, now),
    queueHistory: unused,
    pauseQueue: unused,
    unpauseQueue: unused,
    queueGroups: unused,
    removeQueue: (r) => removeQueue(redis, r.queue, r.force, r.nowMs, batch),
  };
  return new QueueAdmin(broker, clock);
}

/** Writes tasks of one state with a pipeline: hash + container, as Go does. */
async function fill(queue: string, state: keys.TaskState, count: number, group = "g"): Promise<string[]> {
  const p = redis.pipeline().sadd(keys.ALL_QUEUES, queue);
  const ids = Array.from({ length: count }, (_, i) => `${state}-${i}`);
  for (const id of ids) {
    const msg = Buffer.from(
      encodeTaskMessage(newTaskMessage({ type: "t", queue, id, retry: 25, timeout: 1800n })),
    );
    p.hset(keys.taskKey(queue, id), { msg, state, ...(state === "aggregating" ? { group } : {}) });
    if (state === "pending") p.lpush(keys.pendingKey(queue), id);
    else if (state === "active")
      p.lpush(keys.activeKey(queue), id).zadd(keys.leaseKey(queue), NOW_S + 30, id);
    else if (state === "aggregating")
      p.zadd(keys.groupKey(queue, group), NOW_S, id).sadd(keys.allGroupsKey(queue), group);
    else p.zadd(keys.stateKey(queue, state), NOW_S, id);
  }
  await p.exec();
  return ids;
}

/** Every key name in the DB, sorted. */
async function allKeys(): Promise<string[]> {
  return (await redis.keys("*")).sort();
}

/** Checks §3.2: every container ID has a hash, every hash's ID is in its state's container. */
async function assertConsistent(queue: string): Promise<number> {
  const hashes = await redis.keys(`${keys.taskKey(queue, "")}*`);
  for (const h of hashes) {
    const id = h.slice(keys.taskKey(queue, "").length);
    const state = await redis.hget(h, "state");
    if (state === "pending") expect(await redis.lpos(keys.pendingKey(queue), id)).not.toBeNull();
    else if (state === "active") expect(await redis.lpos(keys.activeKey(queue), id)).not.toBeNull();
    else expect(await redis.zscore(keys.stateKey(queue, state as "retry"), id)).not.toBeNull();
  }
  for (const id of await redis.lrange(keys.pendingKey(queue), 0, -1)) {
    expect(await redis.exists(keys.taskKey(queue, id))).toBe(1);
  }
  if (hashes.length > 0) expect(await redis.sismember(keys.ALL_QUEUES, queue)).toBe(1);
  return hashes.length;
}

describe("non-forced", () => {
  it("refuses a queue holding only completed, or only aggregating tasks (asynq would remove it), changing nothing", async () => {
    await fill("c", "completed", 1);
    await fill("a", "aggregating", 1);
    const before = await dumpDb(redis);
    for (const q of ["c", "a"])
      expect(await rejection(admin().deleteQueue(q))).toBeInstanceOf(QueueNotEmptyError);
    expect(await dumpDb(redis)).toEqual(before);
  });

  it("removes an empty queue with its leftovers: counters, paused, leaked lock, orphan hash", async () => {
    await redis.sadd(keys.ALL_QUEUES, "q", "other");
    await redis.set(keys.processedTotalKey("q"), "3");
    await redis.set(keys.failedKey("q", new Date(NOW)), "1");
    await redis.set(keys.pausedKey("q"), "1");
    await redis.set("asynq:{q}:unique:t:abc", "gone", "EX", 3600);
    await redis.hset(keys.taskKey("q", "orphan"), { state: "archived" }); // trimmed by an old archive
    await redis.zadd(keys.leaseKey("q"), NOW_S, "stale");
    await fill("other", "pending", 1);
    expect(await admin().deleteQueue("q")).toEqual({ deletedTasks: 0, deletedKeys: 6 });
    expect(await allKeys()).toEqual(["asynq:queues", "asynq:{other}:pending", "asynq:{other}:t:pending-0"]);
    expect(await redis.smembers(keys.ALL_QUEUES)).toEqual(["other"]);
  });

  it("validates its arguments and the queue", async () => {
    expect(await rejection(admin().deleteQueue(""))).toBeInstanceOf(ValidationError);
    expect(await rejection(admin().deleteQueue("q", { force: "yes" as unknown as boolean }))).toBeInstanceOf(
      ValidationError,
    );
    expect(await rejection(admin().deleteQueue("q"))).toBeInstanceOf(QueueNotFoundError);
  });
});

describe("forced", () => {
  it("refuses while a task is active, without pausing the queue", async () => {
    await fill("q", "active", 1);
    await fill("q", "pending", 2);
    const before = await dumpDb(redis);
    const error = await rejection(admin().deleteQueue("q", { force: true }));
    expect(error).toBeInstanceOf(AsynqError);
    expect((error as AsynqError).code).toBe("ERR_QUEUE_HAS_ACTIVE");
    expect(await dumpDb(redis)).toEqual(before);
  });

  it("deletes every task and key of the queue, in small batches, and nothing of other queues", async () => {
    const counts = { pending: 230, scheduled: 120, retry: 7, archived: 55, completed: 31, aggregating: 12 };
    for (const [state, n] of Object.entries(counts)) await fill("big", state as keys.TaskState, n);
    await fill("big", "aggregating", 3, "g2");
    // An aggregation run in progress, and a live lock and a leaked one.
    await redis.zadd("asynq:{big}:g:g:set-1", NOW_S, "in-set");
    await redis.hset(keys.taskKey("big", "in-set"), { state: "aggregating", group: "g" });
    await redis.zadd(keys.allAggregationSetsKey("big"), NOW_S + 120, "asynq:{big}:g:g:set-1");
    await redis.zadd(keys.allAggregationSetsKey("big"), NOW_S, "asynq:{elsewhere}:g:x:1"); // corrupt entry
    await redis.set("asynq:{big}:unique:t:live", "pending-0", "EX", 60);
    await redis.set("asynq:{big}:unique:t:leaked", "long-gone", "EX", 60);
    for (let d = 0; d < 90; d++)
      await redis.set(keys.processedKey("big", new Date(NOW - d * 86_400_000)), "1");
    await redis.set(keys.pausedKey("big"), "1");
    // Neighbours: a queue matching the unescaped glob, and one whose keys start with our prefix.
    await fill("bigx", "pending", 2);
    await redis.sadd(keys.ALL_QUEUES, "big}:x");
    await redis.rpush("asynq:{big}:x}:pending", "n1");
    await redis.hset("asynq:{big}:x}:t:n1", { state: "pending" });
    const others = (await allKeys()).filter(
      (k) => !k.startsWith("asynq:{big}:") || k.startsWith("asynq:{big}:x}:"),
    );

    const result = await admin(16).deleteQueue("big", { force: true });
    expect(result.deletedTasks).toBe(230 + 120 + 7 + 55 + 31 + 12 + 3 + 1);
    expect(result.deletedKeys).toBe(2 + 90 + 1); // two locks, 90 daily counters, paused
    expect(await allKeys()).toEqual(others);
    expect((await redis.smembers(keys.ALL_QUEUES)).sort()).toEqual(["bigx", "big}:x"]);
  });

  it("golden t: removes what asynq's DeleteQueue leaves behind", async () => {
    const t = loadGoldenScenario(`${GOLDEN}/t_queue_removed.json`);
    const [before, goFinal] = t.snapshots;
    await restoreSnapshot(redis, before!);
    clock.set(t.ops[8]!.at_unix_ms);
    const snapshot = await dumpDb(redis);
    // Like asynq, non-forced removal of a non-empty queue fails and changes nothing.
    expect(await rejection(admin().deleteQueue("temp"))).toBeInstanceOf(QueueNotEmptyError);
    expect(await dumpDb(redis)).toEqual(snapshot);

    expect(await admin().deleteQueue("temp", { force: true })).toEqual({ deletedTasks: 5, deletedKeys: 4 });
    expect(await allKeys()).toEqual([]);
    // What asynq left (its final snapshot): completed t-4, group g1 with t-3, paused, counters, t-5's lock.
    expect(goFinal!.keys.map((k) => k.key.replace("asynq:{temp}:", ""))).toEqual([
      "completed",
      "g:g1",
      "groups",
      "paused",
      "processed",
      "processed:2026-11-21",
      "t:t-3",
      "t:t-4",
      "unique:cleanup:5b8912a025b473558520d92cff3587b4",
    ]);
  });

  it("escapes glob characters of the queue name in its SCAN pattern", async () => {
    await fill("b*g", "archived", 2);
    await fill("bag", "archived", 2);
    await redis.set(keys.processedTotalKey("bag"), "4");
    const bag = (await allKeys()).filter((k) => k.startsWith("asynq:{bag}:"));
    expect(await admin().deleteQueue("b*g", { force: true })).toEqual({ deletedTasks: 2, deletedKeys: 0 });
    expect(await allKeys()).toEqual(["asynq:queues", ...bag]);
  });

  it("keeps §3.2 consistent and tasks visible when a producer enqueues during the removal", async () => {
    const client = new Client(testRedisUrl());
    try {
      for (let round = 0; round < 3; round++) {
        await redis.flushdb();
        await fill("race", "pending", 3000);
        await fill("race", "scheduled", 1000);
        let stop = false;
        let batches = 0;
        const producer = (async () => {
          for (let n = 0; !stop; n++) {
            await client.enqueueBatch(
              Array.from({ length: 5 }, (_, i) => ({
                type: "late",
                payload: n * 5 + i,
                options: { queue: "race" },
              })),
            );
            batches++;
          }
        })();
        const outcome = await admin(100)
          .deleteQueue("race", { force: true })
          .catch((e: unknown) => e);
        const during = batches;
        stop = true;
        await producer;
        expect(during).toBeGreaterThan(0);
        if (outcome instanceof Error) expect(outcome).toBeInstanceOf(QueueNotEmptyError);
        else expect(outcome).toMatchObject({ deletedTasks: expect.any(Number) as number });
        // Whatever survived is consistent, and its queue is registered (checked inside).
        await assertConsistent("race");
        expect(await redis.exists(keys.pausedKey("race"))).toBe(0); // our pause is undone
      }
    } finally {
      await client.close();
    }
  });
});
