// Doctor on a real Redis: each kind of damage, made by hand on top of real tasks, is found alone and repaired.
import type { Redis } from "ioredis";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { dequeue } from "../../src/broker/fetch/dequeue.js";
import { archive } from "../../src/broker/finish/lifecycle.js";
import { unixSeconds } from "../../src/internal/clock.js";
import * as keys from "../../src/wire/keys.js";
import { decodeTaskMessage, encodeTaskMessage, newTaskMessage } from "../../src/wire/proto.js";
import { freshRedis } from "../support/redis.js";
import { audit, baseline, expectIssues, expectRepaired, issuesOf, Q, type Baseline } from "./support.js";

let redis: Redis;
let base: Baseline;
const t = (id: string): string => keys.taskKey(Q, id);
const P = keys.queuePrefix(Q);

beforeAll(async () => {
  redis = await freshRedis();
});
beforeEach(async () => {
  await redis.flushdb();
  base = await baseline(redis);
});

describe("baseline", () => {
  it("audits clean, with counts per state and a memory estimate", async () => {
    const report = await audit(redis);
    expectIssues(report, []);
    const q = report.queues.find((r) => r.queue === Q)!;
    expect(q.tasks).toEqual({
      pending: 3,
      active: 1,
      scheduled: 1,
      retry: 0,
      archived: 0,
      completed: 0,
      aggregating: 2,
    });
    expect(q.containers).toMatchObject({
      pending: 3,
      active: 1,
      lease: 1,
      scheduled: 1,
      aggregating: 2,
      groups: 1,
    });
    expect(q.memoryBytes).toBeGreaterThan(0);
    expect(report.queues.map((r) => r.queue)).toEqual([Q, "other"]);
  });
});

describe("orphaned-task", () => {
  it("a pending hash missing from pending is put back", async () => {
    await redis.lrem(keys.pendingKey(Q), 0, base.goPending);
    expectIssues(await audit(redis), [`orphaned-task ${t(base.goPending)} ${base.goPending}`]);
    await expectRepaired(redis, [`orphaned-task ${t(base.goPending)} ${base.goPending}`]);
    expect(await redis.lpos(keys.pendingKey(Q), base.goPending)).not.toBeNull();
  });

  it("a scheduled hash missing from scheduled is put back, due now", async () => {
    await redis.zrem(keys.scheduledKey(Q), base.scheduled);
    await expectRepaired(redis, [`orphaned-task ${t(base.scheduled)} ${base.scheduled}`]);
    const score = Number(await redis.zscore(keys.scheduledKey(Q), base.scheduled));
    expect(Math.abs(score - unixSeconds(Date.now()))).toBeLessThanOrEqual(2);
  });

  it("an aggregating hash missing from its group is put back into the group", async () => {
    await redis.zrem(keys.groupKey(Q, "g1"), base.grouped[0]);
    await expectRepaired(redis, [`orphaned-task ${t(base.grouped[0])} ${base.grouped[0]}`]);
    expect(await redis.zscore(keys.groupKey(Q, "g1"), base.grouped[0])).not.toBeNull();
  });

  it("an active hash in neither active nor lease goes back to active with a lease expiring now", async () => {
    await redis.lrem(keys.activeKey(Q), 0, base.active);
    await redis.zrem(keys.leaseKey(Q), base.active);
    await expectRepaired(redis, [`orphaned-task ${t(base.active)} ${base.active}`]);
    expect(await redis.lpos(keys.activeKey(Q), base.active)).toBe(0);
    const lease = Number(await redis.zscore(keys.leaseKey(Q), base.active));
    expect(Math.abs(lease - unixSeconds(Date.now()))).toBeLessThanOrEqual(2);
  });

  it("an archived hash trimmed from the archive (asynq < 0.25's leak) goes back with its failure time", async () => {
    const { tasks } = await dequeue(redis, Q, 1, Date.now() + 30_000);
    const msg = decodeTaskMessage(tasks[0]!.msg!);
    const failedAt = unixSeconds(Date.now()) - 86_400;
    const archived = { ...msg, errorMsg: "boom", lastFailedAt: BigInt(failedAt) };
    expect(await archive(redis, { queue: Q, id: msg.id, msg: archived, nowMs: Date.now() })).toBe("ok");
    await redis.zrem(keys.archivedKey(Q), msg.id);
    await expectRepaired(redis, [`orphaned-task ${t(msg.id)} ${msg.id}`]);
    expect(Number(await redis.zscore(keys.archivedKey(Q), msg.id))).toBe(failedAt);
  });
});

describe("dangling-id", () => {
  const containers = [
    ["pending", () => redis.lpush(keys.pendingKey(Q), "ghost")],
    ["scheduled", () => redis.zadd(keys.scheduledKey(Q), 1, "ghost")],
    ["archived", () => redis.zadd(keys.archivedKey(Q), 1, "ghost")],
    ["g:g1", () => redis.zadd(keys.groupKey(Q, "g1"), 1, "ghost")],
  ] as const;
  it.each(containers)("an ID in %s with no hash is removed", async (name, damage) => {
    await damage();
    const key = `${P}${name}`;
    expectIssues(await audit(redis), [`dangling-id ${key} ghost`]);
    await expectRepaired(redis, [`dangling-id ${key} ghost`]);
  });

  it("an ID in active with no hash is removed with its lease", async () => {
    await redis.lpush(keys.activeKey(Q), "ghost");
    await redis.zadd(keys.leaseKey(Q), unixSeconds(Date.now()) + 30, "ghost");
    await expectRepaired(redis, [`dangling-id ${keys.activeKey(Q)} ghost`]);
    expect(await redis.zscore(keys.leaseKey(Q), "ghost")).toBeNull();
  });
});

describe("misplaced-id", () => {
  it("a pending task's ID also in retry is removed from retry", async () => {
    await redis.zadd(keys.retryKey(Q), 1, base.pending);
    expectIssues(await audit(redis), [`misplaced-id ${keys.retryKey(Q)} ${base.pending}`]);
    await expectRepaired(redis, [`misplaced-id ${keys.retryKey(Q)} ${base.pending}`]);
    expect(await redis.lpos(keys.pendingKey(Q), base.pending)).not.toBeNull();
  });
});

describe("corrupt-task", () => {
  // [damage, how to make it, still corrupt once archived (then counted as quarantined)]
  const damages = [
    ["an undecodable msg", (id: string) => redis.hset(t(id), "msg", Buffer.from([0xff, 0xff, 0xff])), 1],
    ["an unknown state", (id: string) => redis.hset(t(id), "state", "pendingx"), 0],
    [
      "a msg naming another task",
      (id: string) =>
        redis.hset(
          t(id),
          "msg",
          Buffer.from(encodeTaskMessage(newTaskMessage({ type: "x", id: "someone-else", queue: Q }))),
        ),
      1,
    ],
    ["no msg", (id: string) => redis.hdel(t(id), "msg"), 1],
  ] as const;
  it.each(damages)("%s: archived as it is", async (_, damage, quarantined) => {
    await damage(base.goPending);
    const report = await audit(redis);
    expectIssues(report, [`corrupt-task ${t(base.goPending)} ${base.goPending}`]);
    const after = await expectRepaired(redis, [`corrupt-task ${t(base.goPending)} ${base.goPending}`]);
    expect(await redis.hget(t(base.goPending), "state")).toBe("archived");
    expect(await redis.zscore(keys.archivedKey(Q), base.goPending)).not.toBeNull();
    expect(await redis.lpos(keys.pendingKey(Q), base.goPending)).toBeNull();
    expect(after.queues.find((q) => q.queue === Q)!.quarantined).toBe(quarantined);
  });

  it("releases the lock of a corrupt unique task", async () => {
    await redis.hset(t(base.unique), "msg", "garbage");
    await expectRepaired(redis, [`corrupt-task ${t(base.unique)} ${base.unique}`]);
    expect(await redis.exists(base.uniqueLock)).toBe(0);
  });

  it("archives an active corrupt task whose lease ran out, lease entry included", async () => {
    await redis.hset(t(base.active), "msg", "garbage");
    await redis.zadd(keys.leaseKey(Q), 1, base.active); // ran out long ago: no worker holds it
    await expectRepaired(redis, [`corrupt-task ${t(base.active)} ${base.active}`]);
    expect(await redis.hget(t(base.active), "state")).toBe("archived");
    expect(await redis.zscore(keys.leaseKey(Q), base.active)).toBeNull();
    expect(await redis.lpos(keys.activeKey(Q), base.active)).toBeNull();
  });

  it("leaves an active corrupt task alone while its lease runs", async () => {
    await redis.hset(t(base.active), "msg", "garbage");
    const report = await audit(redis, { fix: true });
    expect(issuesOf(report).map((i) => [i.kind, i.repair?.outcome])).toEqual([["corrupt-task", "skipped"]]);
    expect(await redis.hget(t(base.active), "state")).toBe("active");
  });
});

describe("leases", () => {
  it("active-without-lease: gets a lease expiring now", async () => {
    await redis.zrem(keys.leaseKey(Q), base.active);
    expectIssues(await audit(redis), [`active-without-lease ${keys.activeKey(Q)} ${base.active}`]);
    await expectRepaired(redis, [`active-without-lease ${keys.activeKey(Q)} ${base.active}`]);
    const lease = Number(await redis.zscore(keys.leaseKey(Q), base.active));
    expect(Math.abs(lease - unixSeconds(Date.now()))).toBeLessThanOrEqual(2);
  });

  it("stale-lease: a lease entry of a pending task is removed", async () => {
    await redis.zadd(keys.leaseKey(Q), 1, base.pending);
    expectIssues(await audit(redis), [`stale-lease ${keys.leaseKey(Q)} ${base.pending}`]);
    await expectRepaired(redis, [`stale-lease ${keys.leaseKey(Q)} ${base.pending}`]);
  });
});

describe("stale-unique-lock", () => {
  it("a lock whose task was deleted without releasing it", async () => {
    await redis.del(t(base.unique));
    await redis.lrem(keys.pendingKey(Q), 0, base.unique);
    expectIssues(await audit(redis), [`stale-unique-lock ${base.uniqueLock} ${base.unique}`]);
    await expectRepaired(redis, [`stale-unique-lock ${base.uniqueLock} ${base.unique}`]);
    expect(await redis.exists(base.uniqueLock)).toBe(0);
  });

  it("a lock whose task is archived (asynq keeps it, asynq#629)", async () => {
    await redis.lrem(keys.pendingKey(Q), 0, base.unique);
    await redis.zadd(keys.archivedKey(Q), unixSeconds(Date.now()), base.unique);
    await redis.hset(t(base.unique), "state", "archived");
    await expectRepaired(redis, [`stale-unique-lock ${base.uniqueLock} ${base.unique}`]);
  });

  it("a lock held by a live task that does not own it", async () => {
    const lock = `${P}unique:email:send:0123456789abcdef0123456789abcdef`;
    await redis.set(lock, base.pending, "EX", 3600);
    await expectRepaired(redis, [`stale-unique-lock ${lock} ${base.pending}`]);
    expect(await redis.exists(base.uniqueLock)).toBe(1);
  });
});

describe("groups", () => {
  it("empty-group-registered: a name in groups with no group zset is removed", async () => {
    await redis.sadd(keys.allGroupsKey(Q), "nowhere");
    expectIssues(await audit(redis), [`empty-group-registered ${keys.allGroupsKey(Q)}`]);
    await expectRepaired(redis, [`empty-group-registered ${keys.allGroupsKey(Q)}`]);
  });

  it("unregistered-group: a group zset missing from groups is added", async () => {
    await redis.srem(keys.allGroupsKey(Q), "g1");
    await expectRepaired(redis, [`unregistered-group ${keys.groupKey(Q, "g1")}`]);
    expect(await redis.sismember(keys.allGroupsKey(Q), "g1")).toBe(1);
  });

  it("unregistered-aggregation-set: a set outside aggregation_sets is registered", async () => {
    const set = keys.aggregationSetKey(Q, "g1", "6f1c2a4e-0d5b-4f7a-9c3e-1b2d3e4f5a6b");
    const [a, b] = base.grouped;
    await redis.zadd(set, 1, a, 1, b);
    await redis.del(keys.groupKey(Q, "g1"));
    await redis.srem(keys.allGroupsKey(Q), "g1");
    expectIssues(await audit(redis), [`unregistered-aggregation-set ${set}`]);
    await expectRepaired(redis, [`unregistered-aggregation-set ${set}`]);
    expect(await redis.zscore(keys.allAggregationSetsKey(Q), set)).not.toBeNull();
  });
});

describe("keys that must expire", () => {
  it("a daily counter without TTL gets its 90-day expiry (past: deleted)", async () => {
    await redis.set(`${P}processed:2020-01-01`, 5);
    expectIssues(await audit(redis), [`missing-ttl ${P}processed:2020-01-01`]);
    await expectRepaired(redis, [`missing-ttl ${P}processed:2020-01-01`]);
    expect(await redis.exists(`${P}processed:2020-01-01`)).toBe(0);
  });

  it("a server key without TTL gets 10 s", async () => {
    const key = "asynq:servers:{host:1:abc}";
    await redis.set(key, "x");
    await expectRepaired(redis, [`missing-ttl ${key}`]);
    expect(await redis.ttl(key)).toBeGreaterThan(0);
  });

  it("expired-registry-entry: an expired member of asynq:servers whose key is gone is removed", async () => {
    await redis.zadd(keys.ALL_SERVERS, 1, "asynq:servers:{host:1:gone}");
    await redis.zadd(keys.ALL_SERVERS, unixSeconds(Date.now()) + 60, "asynq:servers:{host:1:later}");
    expectIssues(await audit(redis), [`expired-registry-entry ${keys.ALL_SERVERS}`]);
    await expectRepaired(redis, [`expired-registry-entry ${keys.ALL_SERVERS}`]);
    expect(await redis.zrange(keys.ALL_SERVERS, 0, -1)).toEqual(["asynq:servers:{host:1:later}"]);
  });

  it("a member that expired under a minute ago is expected (a killed server; live ones prune it)", async () => {
    const now = unixSeconds(Date.now());
    await redis.zadd(keys.ALL_SERVERS, now - 20, "asynq:servers:{host:1:killed}");
    await redis.zadd(keys.ALL_WORKERS, now - 20, "asynq:workers:{host:1:killed}");
    expectIssues(await audit(redis), []);
    await redis.zadd(keys.ALL_SERVERS, now - 90, "asynq:servers:{host:1:killed}");
    expectIssues(await audit(redis), [`expired-registry-entry ${keys.ALL_SERVERS}`]);
  });
});

describe("queues and unknown keys", () => {
  it("unregistered-queue: a queue with tasks but not in asynq:queues is registered", async () => {
    await redis.srem(keys.ALL_QUEUES, "other");
    expectIssues(await audit(redis), [`unregistered-queue ${keys.ALL_QUEUES}`]);
    await expectRepaired(redis, [`unregistered-queue ${keys.ALL_QUEUES}`]);
    expect(await redis.sismember(keys.ALL_QUEUES, "other")).toBe(1);
  });

  it("counters and paused of a removed queue are leftovers, not an unregistered queue", async () => {
    await redis.set(keys.processedTotalKey("gone"), 3);
    await redis.set(keys.pausedKey("gone"), 1);
    expectIssues(await audit(redis), []);
  });

  it("unknown keys and wrongly typed keys are reported and never touched", async () => {
    await redis.set("asynq:mystery", "v");
    await redis.set(`${P}weird`, "w");
    await redis.hset(keys.pausedKey(Q), "f", "v");
    const expected = [
      "unknown-key asynq:mystery",
      `unknown-key ${P}weird`,
      `unknown-key ${keys.pausedKey(Q)}`,
    ];
    expectIssues(await audit(redis), expected);
    const fixed = await audit(redis, { fix: true });
    expectIssues(fixed, expected);
    expect(issuesOf(fixed).every((i) => !i.fixable && i.repair === undefined)).toBe(true);
    expect(await redis.get("asynq:mystery")).toBe("v");
    expect(await redis.get(`${P}weird`)).toBe("w");
    expect(await redis.hget(keys.pausedKey(Q), "f")).toBe("v");
  });

  it("containers and registries of the wrong type are reported, not read, and the audit goes on", async () => {
    const weird = [
      keys.pendingKey("weird"),
      keys.leaseKey("weird"),
      keys.allGroupsKey("weird"),
      keys.allAggregationSetsKey("weird"),
      keys.ALL_SERVERS,
    ];
    await redis.sadd(keys.ALL_QUEUES, "weird");
    for (const key of weird) await redis.set(key, "x");
    const expected = weird.map((key) => `unknown-key ${key}`);
    expectIssues(await audit(redis), expected);
    expectIssues(await audit(redis, { fix: true }), expected);
    for (const key of weird) expect(await redis.get(key)).toBe("x");
  });
});
