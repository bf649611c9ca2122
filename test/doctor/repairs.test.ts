// Doctor's repair scripts on a real Redis: each acts only while the damage it was called for is still there.
import type { Redis } from "ioredis";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as repairs from "../../src/broker/doctor/repair.js";
import { doctor } from "../../src/doctor/index.js";
import * as keys from "../../src/wire/keys.js";
import { freshRedis, testRedisUrl } from "../support/redis.js";
import { baseline, Q, type Baseline } from "./support.js";

let redis: Redis;
let base: Baseline;
const t = (id: string): string => keys.taskKey(Q, id);
const list = (key: string) => ({ key, type: "list" as const });
const zset = (key: string) => ({ key, type: "zset" as const });

beforeAll(async () => {
  redis = await freshRedis();
});
beforeEach(async () => {
  await redis.flushdb();
  base = await baseline(redis);
});

describe("each repair re-verifies before it acts", () => {
  it("restore: not when the state changed or the container already holds the task", async () => {
    await redis.lrem(keys.pendingKey(Q), 0, base.pending);
    const target = { mode: "list", key: keys.pendingKey(Q) } as const;
    expect(await repairs.restoreTask(redis, t(base.pending), base.pending, "scheduled", target)).toBe(false);
    expect(await repairs.restoreTask(redis, t(base.goPending), base.goPending, "pending", target)).toBe(
      false,
    );
    expect(await redis.lpos(keys.pendingKey(Q), base.pending)).toBeNull();
    expect(await repairs.restoreTask(redis, t(base.pending), base.pending, "pending", target)).toBe(true);
    expect(await redis.llen(keys.pendingKey(Q))).toBe(3);
  });

  it("archive as is: not when the msg changed, nor while a lease runs", async () => {
    const msg = await redis.hgetBuffer(t(base.pending), "msg");
    const observed = { state: "pending", msg: Buffer.from("other bytes"), group: null };
    expect(await repairs.archiveAsIs(redis, Q, base.pending, observed, "", Date.now())).toBe("changed");
    const activeMsg = await redis.hgetBuffer(t(base.active), "msg");
    const active = { state: "active", msg: activeMsg, group: null };
    expect(await repairs.archiveAsIs(redis, Q, base.active, active, "", Date.now())).toBe("leased");
    expect(await redis.hget(t(base.active), "state")).toBe("active");
    const sound = { state: "pending", msg, group: null };
    expect(await repairs.archiveAsIs(redis, Q, base.pending, sound, "", Date.now())).toBe("archived");
  });

  it("dangling: not once the hash exists", async () => {
    expect(await repairs.removeDangling(redis, list(keys.pendingKey(Q)), t(base.pending), base.pending)).toBe(
      false,
    );
    expect(await redis.lpos(keys.pendingKey(Q), base.pending)).not.toBeNull();
  });

  it("misplaced: not while the container its state names lacks the task", async () => {
    await redis.zadd(keys.retryKey(Q), 1, base.pending);
    await redis.lrem(keys.pendingKey(Q), 0, base.pending);
    const args = [
      zset(keys.retryKey(Q)),
      t(base.pending),
      base.pending,
      "pending",
      list(keys.pendingKey(Q)),
    ] as const;
    expect(await repairs.removeMisplaced(redis, ...args)).toBe(false);
    await redis.lpush(keys.pendingKey(Q), base.pending);
    expect(await repairs.removeMisplaced(redis, ...args)).toBe(true);
  });

  it("leases: no lease added to a leased task, none removed from an active one", async () => {
    expect(await repairs.addLease(redis, Q, base.active, Date.now())).toBe(false);
    expect(await repairs.removeLease(redis, Q, base.active)).toBe(false);
    expect(await redis.zscore(keys.leaseKey(Q), base.active)).not.toBeNull();
  });

  it("lock: not when the lock moved to another task or the owner changed", async () => {
    const owner = { exists: false, state: null, msg: null, uniqueKey: null };
    expect(await repairs.releaseLock(redis, base.uniqueLock, t("gone"), "gone", owner)).toBe(false);
    const fields = await redis.hmgetBuffer(t(base.unique), "state", "msg", "unique_key");
    const seen = { exists: true, state: "archived", msg: fields[1] ?? null, uniqueKey: base.uniqueLock };
    expect(await repairs.releaseLock(redis, base.uniqueLock, t(base.unique), base.unique, seen)).toBe(false);
    expect(await redis.get(base.uniqueLock)).toBe(base.unique);
  });

  it("groups, sets, TTLs and registries: not once the condition is gone", async () => {
    expect(await repairs.fixGroup(redis, Q, "g1", "remove")).toBe(false);
    expect(await repairs.fixGroup(redis, Q, "empty", "add")).toBe(false);
    const set = keys.aggregationSetKey(Q, "g1", "6f1c2a4e-0d5b-4f7a-9c3e-1b2d3e4f5a6b");
    expect(await repairs.registerAggregationSet(redis, Q, set, Date.now())).toBe(false);
    await redis.set("asynq:servers:{h:1:s}", "x", "EX", 100);
    expect(await repairs.expireAt(redis, "asynq:servers:{h:1:s}", 1)).toBe(false);
    await redis.zadd(keys.ALL_SERVERS, 50, "asynq:servers:{h:1:old}");
    expect(await repairs.pruneRegistry(redis, keys.ALL_SERVERS, "asynq:servers:{h:1:old}", 49)).toBe(false);
    expect(await redis.zscore(keys.ALL_SERVERS, "asynq:servers:{h:1:old}")).toBe("50");
  });
});

describe("connection", () => {
  it("accepts a redis:// URL and closes the connection it opened", async () => {
    const report = await doctor(testRedisUrl());
    expect(report.clean).toBe(true);
    expect(report.queues.map((q) => q.queue)).toEqual([Q, "other"]);
  });
});
