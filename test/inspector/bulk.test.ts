// Inspector writes on every task of a state (deleteAll, archiveAll, runAll): batches, locks, groups, corrupt entries, errors.
import { describe, expect, it } from "vitest";
import { mutateAllTasks } from "../../src/broker/admin/mutate.js";
import { QueueNotFoundError, ValidationError } from "../../src/errors.js";
import type { TaskState } from "../../src/task.js";
import * as keys from "../../src/wire/keys.js";
import { useRedisFixture } from "../support/fixture.js";
import { NOW, NOW_S, put, rejection, stateOf, taskAdmin } from "./task-fixtures.js";

const { redis, clock } = useRedisFixture({ clock: NOW });
const admin = taskAdmin(redis, clock);

const lock = (id: string): string => `asynq:{q}:unique:t:${id}`;

/** n tasks `<prefix>0…` in `state`, each with its own lock; scores ascending. */
async function fill(state: TaskState, n: number, prefix: string = state): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  for (const [i, id] of ids.entries())
    await put(redis, "q", id, state, { score: 1000 + i, unique: lock(id), group: "g" });
  return ids;
}

describe("deleteAllTasks", () => {
  it.each(["pending", "scheduled", "retry", "archived", "completed"] as const)(
    "deletes every %s task with its lock, and nothing else",
    async (state) => {
      const ids = await fill(state, 12);
      await put(redis, "q", "other", state === "retry" ? "archived" : "retry");
      expect(await admin.deleteAllTasks("q", state)).toBe(12);
      const container = keys.stateKey("q", state);
      expect(await redis.exists(container, ...ids.map((id) => keys.taskKey("q", id)), ...ids.map(lock))).toBe(
        0,
      );
      expect(await stateOf(redis, "q", "other")).not.toBeNull();
    },
  );

  it("deletes one group's aggregating tasks and drops it from groups; other groups stay", async () => {
    await fill("aggregating", 4);
    await put(redis, "q", "h1", "aggregating", { group: "h" });
    expect(await admin.deleteAllTasks("q", "aggregating", "g")).toBe(4);
    expect(await redis.smembers(keys.allGroupsKey("q"))).toEqual(["h"]);
    expect(await redis.exists(keys.groupKey("q", "g"))).toBe(0);
    expect(await stateOf(redis, "q", "h1")).toBe("aggregating");
  });

  it("removes IDs that have no hash, and skips (leaves) entries whose hash is in another state", async () => {
    await fill("archived", 5);
    await redis.zadd(keys.archivedKey("q"), 1, "dangling");
    await put(redis, "q", "stuck", "archived", { score: 2 });
    await redis.hset(keys.taskKey("q", "stuck"), "state", "pending");
    await put(redis, "q", "alien", "archived", { score: 3, fields: { msg: "m", state: "frozen" } });
    expect(await admin.deleteAllTasks("q", "archived")).toBe(5);
    expect(await redis.zrange(keys.archivedKey("q"), 0, -1)).toEqual(["stuck", "alien"]);
    expect(await stateOf(redis, "q", "stuck")).toBe("pending");
    await fill("archived", 5, "more");
    expect(await mutateAllTasks(redis, "q", "delete", { state: "archived" }, NOW, 2)).toBe(5);
    expect(await redis.zrange(keys.archivedKey("q"), 0, -1)).toEqual(["stuck", "alien"]);
  });

  it("skips a stuck entry at the tail of pending and deletes the rest", async () => {
    await put(redis, "q", "stuck", "pending");
    await redis.hset(keys.taskKey("q", "stuck"), "state", "scheduled");
    const ids = await fill("pending", 6);
    expect(await admin.deleteAllTasks("q", "pending")).toBe(6);
    expect(await redis.lrange(keys.pendingKey("q"), 0, -1)).toEqual(["stuck"]);
    expect(await redis.exists(...ids.map((id) => keys.taskKey("q", id)))).toBe(0);
  });

  it("works in batches of the given size (Redis side), pending and sorted sets", async () => {
    await fill("pending", 53);
    await fill("completed", 53);
    expect(await mutateAllTasks(redis, "q", "delete", { state: "pending" }, NOW, 7)).toBe(53);
    expect(await mutateAllTasks(redis, "q", "delete", { state: "completed" }, NOW, 7)).toBe(53);
    expect(await redis.dbsize()).toBe(1); // asynq:queues
  });
});

describe("archiveAllTasks", () => {
  it("archives every pending task at now with its lock released, then trims to the limits", async () => {
    const small = taskAdmin(redis, clock, { maxSize: 3, maxAge: 24 * 3600_000 });
    const ids = await fill("pending", 8);
    await put(redis, "q", "expired", "archived", { score: NOW_S - 2 * 86_400 });
    expect(await small.archiveAllTasks("q", "pending")).toBe(8);
    const left = await redis.zrange(keys.archivedKey("q"), 0, -1, "WITHSCORES");
    expect(left).toHaveLength(6);
    expect(left.filter((_, i) => i % 2 === 1)).toEqual([String(NOW_S), String(NOW_S), String(NOW_S)]);
    expect(await redis.exists(...ids.map(lock), keys.pendingKey("q"), keys.taskKey("q", "expired"))).toBe(0);
    expect(await redis.keys("asynq:{q}:t:*")).toHaveLength(3);
  });

  it("archives a group's aggregating tasks, and scheduled ones", async () => {
    await fill("aggregating", 3);
    await fill("scheduled", 2);
    expect(await admin.archiveAllTasks("q", "aggregating", "g")).toBe(3);
    expect(await admin.archiveAllTasks("q", "scheduled")).toBe(2);
    expect(await redis.zcard(keys.archivedKey("q"))).toBe(5);
    expect(await redis.exists(keys.allGroupsKey("q"), keys.scheduledKey("q"))).toBe(0);
  });
});

describe("runAllTasks", () => {
  it("moves every archived task to pending, the oldest nearest the tail (runs first)", async () => {
    const ids = await fill("archived", 5);
    await put(redis, "q", "waiting", "pending");
    expect(await admin.runAllTasks("q", "archived")).toBe(5);
    expect(await redis.lrange(keys.pendingKey("q"), 0, -1)).toEqual([...ids].reverse().concat("waiting"));
    expect(await redis.get(lock("archived0"))).toBe("archived0");
    expect(await redis.exists(keys.archivedKey("q"))).toBe(0);
  });

  it("runs retry tasks and a group's aggregating tasks", async () => {
    await fill("retry", 2);
    await fill("aggregating", 2);
    expect(await admin.runAllTasks("q", "retry")).toBe(2);
    expect(await admin.runAllTasks("q", "aggregating", "g")).toBe(2);
    expect(await redis.llen(keys.pendingKey("q"))).toBe(4);
    expect(await redis.exists(keys.allGroupsKey("q"))).toBe(0);
  });
});

describe("bulk argument checks", () => {
  it.each([
    ["deleteAll active", () => admin.deleteAllTasks("q", "active")],
    ["archiveAll archived", () => admin.archiveAllTasks("q", "archived")],
    ["archiveAll active", () => admin.archiveAllTasks("q", "active")],
    ["runAll pending", () => admin.runAllTasks("q", "pending")],
    ["aggregating without a group", () => admin.deleteAllTasks("q", "aggregating")],
    ["a group for pending", () => admin.deleteAllTasks("q", "pending", "g")],
    ["a blank queue", () => admin.runAllTasks("", "retry")],
  ])("rejects %s with a ValidationError", async (_, call) => {
    await put(redis, "q", "x", "active");
    expect(await rejection(call())).toBeInstanceOf(ValidationError);
  });

  it("throws QueueNotFoundError for an unregistered queue", async () => {
    await redis.zadd(keys.archivedKey("ghost"), 1, "x");
    expect(await rejection(admin.deleteAllTasks("ghost", "archived"))).toBeInstanceOf(QueueNotFoundError);
    expect(await redis.zcard(keys.archivedKey("ghost"))).toBe(1);
  });
});
