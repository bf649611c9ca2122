// Inspector writes on single tasks and ID lists: delete, archive, run in every state, locks, groups, trimming, errors (wire-format §4.28.5-§4.28.7).
import { describe, expect, it } from "vitest";
import { mutateTasks } from "../../src/broker/admin/mutate.js";
import { LuaScript, runScript } from "../../src/broker/scripts.js";
import {
  CorruptTaskError,
  QueueNotFoundError,
  TaskNotFoundError,
  TaskStateError,
  ValidationError,
} from "../../src/errors.js";
import * as keys from "../../src/wire/keys.js";
import { useRedisFixture } from "../support/fixture.js";
import { NOW, NOW_S, put, rejection, stateOf, taskAdmin } from "./task-fixtures.js";

const { redis, clock } = useRedisFixture({ clock: NOW });
const admin = taskAdmin(redis, clock);

const LOCK = "asynq:{q}:unique:t:d41d8cd98f00b204e9800998ecf8427e";
const ZSET_STATES = ["scheduled", "retry", "archived", "completed"] as const;

/** Every key of the DB with its type, for "nothing changed" checks. */
async function snapshot(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of (await redis.keys("*")).sort()) {
    const type = await redis.type(key);
    if (type === "hash") out[key] = await redis.hgetall(key);
    else if (type === "list") out[key] = await redis.lrange(key, 0, -1);
    else if (type === "zset") out[key] = await redis.zrange(key, 0, -1, "WITHSCORES");
    else if (type === "set") out[key] = (await redis.smembers(key)).sort();
    else out[key] = await redis.get(key);
  }
  return out;
}

describe("deleteTask", () => {
  it.each(["pending", ...ZSET_STATES] as const)(
    "deletes a %s task, its container entry and its lock",
    async (state) => {
      await put(redis, "q", "x", state, { unique: LOCK });
      await put(redis, "q", "keep", state);
      await admin.deleteTask("q", "x");
      expect(await redis.exists(keys.taskKey("q", "x"), LOCK)).toBe(0);
      const members =
        state === "pending"
          ? await redis.lrange(keys.pendingKey("q"), 0, -1)
          : await redis.zrange(keys.stateKey("q", state), 0, -1);
      expect(members).toEqual(["keep"]);
    },
  );

  it("finds a pending task near the head (newest 1,000) or beyond it in a long list", async () => {
    await put(redis, "q", "old", "pending");
    await redis.lpush(keys.pendingKey("q"), ...Array.from({ length: 1500 }, (_, i) => `filler${i}`));
    await put(redis, "q", "new", "pending");
    await admin.deleteTask("q", "new");
    await admin.deleteTask("q", "old");
    expect(await redis.llen(keys.pendingKey("q"))).toBe(1500);
    expect(await redis.exists(keys.taskKey("q", "new"), keys.taskKey("q", "old"))).toBe(0);
  });

  it("keeps a lock that another task holds now", async () => {
    await put(redis, "q", "x", "retry", { unique: LOCK, lockHolder: "someone-else" });
    await admin.deleteTask("q", "x");
    expect(await redis.get(LOCK)).toBe("someone-else");
  });

  it("removes an aggregating task from its group, and the group from groups once empty", async () => {
    await put(redis, "q", "a", "aggregating", { group: "g" });
    await put(redis, "q", "b", "aggregating", { group: "g" });
    await admin.deleteTask("q", "a");
    expect(await redis.smembers(keys.allGroupsKey("q"))).toEqual(["g"]);
    await admin.deleteTask("q", "b");
    expect(await redis.exists(keys.allGroupsKey("q"), keys.groupKey("q", "g"), keys.taskKey("q", "b"))).toBe(
      0,
    );
  });

  it("refuses an active task with asynq's message and changes nothing", async () => {
    await put(redis, "q", "x", "active");
    const before = await snapshot();
    const error = await rejection(admin.deleteTask("q", "x"));
    expect(error).toBeInstanceOf(TaskStateError);
    expect(error).toMatchObject({
      state: "active",
      taskId: "x",
      message: "cannot delete task in active state. use CancelProcessing instead.",
    });
    expect(await snapshot()).toEqual(before);
  });

  it("refuses an aggregating task that is in an aggregation set (being aggregated)", async () => {
    await put(redis, "q", "x", "aggregating", { group: "g" });
    await redis.zrem(keys.groupKey("q", "g"), "x");
    await redis.zadd(keys.aggregationSetKey("q", "g", "set1"), NOW_S, "x");
    const error = await rejection(admin.deleteTask("q", "x"));
    expect(error).toBeInstanceOf(TaskStateError);
    expect((error as Error).message).toMatch(/being aggregated/);
    expect(await stateOf(redis, "q", "x")).toBe("aggregating");
  });

  it("deletes a hash missing from its container (repairs an orphaned hash)", async () => {
    await put(redis, "q", "x", "scheduled");
    await redis.zrem(keys.scheduledKey("q"), "x");
    await admin.deleteTask("q", "x");
    expect(await redis.exists(keys.taskKey("q", "x"))).toBe(0);
  });

  it("throws TaskNotFoundError, QueueNotFoundError, CorruptTaskError, ValidationError", async () => {
    await put(redis, "q", "weird", "pending", { fields: { msg: "m", state: "frozen" } });
    expect(await rejection(admin.deleteTask("q", "nope"))).toBeInstanceOf(TaskNotFoundError);
    expect(await rejection(admin.deleteTask("unregistered", "weird"))).toBeInstanceOf(QueueNotFoundError);
    const corrupt = await rejection(admin.deleteTask("q", "weird"));
    expect(corrupt).toBeInstanceOf(CorruptTaskError);
    expect((corrupt as Error).message).toMatch(/unknown state "frozen"/);
    expect(await stateOf(redis, "q", "weird")).toBe("frozen");
    expect(await rejection(admin.deleteTask("q", " "))).toBeInstanceOf(ValidationError);
    expect(await rejection(admin.deleteTask("", "x"))).toBeInstanceOf(ValidationError);
  });
});

describe("archiveTask", () => {
  it.each(["pending", "scheduled", "retry", "completed"] as const)(
    "archives a %s task at now, msg and pending_since untouched, lock released",
    async (state) => {
      await put(redis, "q", "x", state, { unique: LOCK, extra: { pending_since: "123" } });
      const msg = await redis.hgetBuffer(keys.taskKey("q", "x"), "msg");
      await admin.archiveTask("q", "x");
      expect(await redis.zrange(keys.archivedKey("q"), 0, -1, "WITHSCORES")).toEqual(["x", String(NOW_S)]);
      expect(await redis.hgetall(keys.taskKey("q", "x"))).toMatchObject({
        state: "archived",
        pending_since: "123",
      });
      expect(await redis.hgetBuffer(keys.taskKey("q", "x"), "msg")).toEqual(msg);
      expect(await redis.exists(LOCK, keys.stateKey("q", state))).toBe(0);
    },
  );

  it("archives an aggregating task out of its group (groups updated)", async () => {
    await put(redis, "q", "x", "aggregating", { group: "g" });
    await admin.archiveTask("q", "x");
    expect(await stateOf(redis, "q", "x")).toBe("archived");
    expect(await redis.exists(keys.groupKey("q", "g"), keys.allGroupsKey("q"))).toBe(0);
  });

  it.each([
    ["active", "cannot archive task in active state. use CancelProcessing instead."],
    ["archived", "task is already archived"],
  ] as const)("refuses a%s task: %s", async (state, message) => {
    await put(redis, "q", "x", state, { score: 5 });
    const before = await snapshot();
    const error = await rejection(admin.archiveTask("q", "x"));
    expect(error).toBeInstanceOf(TaskStateError);
    expect((error as Error).message).toBe(message);
    expect(await snapshot()).toEqual(before);
  });

  it("reports a task missing from its container as corrupt and leaves it alone", async () => {
    await put(redis, "q", "x", "retry");
    await redis.zrem(keys.retryKey("q"), "x");
    expect(await rejection(admin.archiveTask("q", "x"))).toBeInstanceOf(CorruptTaskError);
    expect(await stateOf(redis, "q", "x")).toBe("retry");
    expect(await redis.exists(keys.archivedKey("q"))).toBe(0);
  });

  it("trims the archive to its limits afterwards, deleting the trimmed tasks' hashes", async () => {
    const small = taskAdmin(redis, clock, { maxSize: 2, maxAge: 3600_000 });
    await put(redis, "q", "ancient", "archived", { score: NOW_S - 7200 });
    await put(redis, "q", "old", "archived", { score: NOW_S - 60 });
    await put(redis, "q", "older", "archived", { score: NOW_S - 120 });
    await put(redis, "q", "x", "pending");
    await small.archiveTask("q", "x");
    expect(await redis.zrange(keys.archivedKey("q"), 0, -1)).toEqual(["old", "x"]);
    expect(await redis.exists(keys.taskKey("q", "ancient"), keys.taskKey("q", "older"))).toBe(0);
  });
});

describe("runTask", () => {
  it.each([...ZSET_STATES, "aggregating"] as const)(
    "moves a %s task to the head of pending; lock and msg untouched",
    async (state) => {
      await put(redis, "q", "waiting", "pending");
      await put(redis, "q", "x", state, { unique: LOCK, group: "g" });
      await admin.runTask("q", "x");
      expect(await redis.lrange(keys.pendingKey("q"), 0, -1)).toEqual(["x", "waiting"]);
      expect(await redis.hgetall(keys.taskKey("q", "x"))).toMatchObject({
        state: "pending",
        pending_since: `${BigInt(NOW) * 1_000_000n}`,
      });
      expect(await redis.get(LOCK)).toBe("x");
      const container = state === "aggregating" ? keys.groupKey("q", "g") : keys.stateKey("q", state);
      expect(await redis.exists(container)).toBe(0);
    },
  );

  it.each([
    ["pending", "task is already in pending state"],
    ["active", "task is already running"],
  ] as const)("refuses a %s task: %s", async (state, message) => {
    await put(redis, "q", "x", state);
    const before = await snapshot();
    const error = await rejection(admin.runTask("q", "x"));
    expect(error).toBeInstanceOf(TaskStateError);
    expect((error as Error).message).toBe(message);
    expect(await snapshot()).toEqual(before);
  });
});

describe("deleteTasks, archiveTasks, runTasks (ID lists)", () => {
  it("returns one result per ID, in order, acting on the tasks it can", async () => {
    await put(redis, "q", "p", "pending");
    await put(redis, "q", "s", "scheduled");
    await put(redis, "q", "a", "active");
    const results = await admin.deleteTasks("q", ["s", "missing", "a", "p"]);
    expect(results.map((r) => [r.id, r.ok ? "ok" : r.error.constructor.name])).toEqual([
      ["s", "ok"],
      ["missing", "TaskNotFoundError"],
      ["a", "TaskStateError"],
      ["p", "ok"],
    ]);
    expect(await redis.keys("asynq:{q}:t:*")).toEqual(["asynq:{q}:t:a"]);
  });

  it("archives and runs lists, many pending tasks included (one pending per script call)", async () => {
    const pending = Array.from({ length: 7 }, (_, i) => `p${i}`);
    for (const id of pending) await put(redis, "q", id, "pending");
    await put(redis, "q", "r", "retry");
    const archived = await admin.archiveTasks("q", [...pending, "r"]);
    expect(archived.every((r) => r.ok)).toBe(true);
    expect(await redis.zcard(keys.archivedKey("q"))).toBe(8);
    expect(await redis.exists(keys.pendingKey("q"), keys.retryKey("q"))).toBe(0);
    const ran = await admin.runTasks("q", ["r", "p3"]);
    expect(ran.every((r) => r.ok)).toBe(true);
    expect(await redis.lrange(keys.pendingKey("q"), 0, -1)).toEqual(["p3", "r"]);
  });

  it("checks the queue even for an empty list; rejects duplicate or blank IDs", async () => {
    await put(redis, "q", "x", "pending");
    expect(await admin.runTasks("q", [])).toEqual([]);
    expect(await rejection(admin.runTasks("nope", []))).toBeInstanceOf(QueueNotFoundError);
    expect(await rejection(admin.deleteTasks("q", ["x", "x"]))).toMatchObject({ field: "ids[1]" });
    expect(await rejection(admin.deleteTasks("q", ["x", ""]))).toBeInstanceOf(ValidationError);
    expect(await stateOf(redis, "q", "x")).toBe("pending");
  });

  it("the script refuses what changed since the read (another lock key): code -3, nothing written", async () => {
    await put(redis, "q", "x", "scheduled", { unique: "asynq:{q}:unique:t:other" });
    const keyList = [
      ...(["pending", "scheduled", "retry", "archived", "completed"] as const).map((s) =>
        keys.stateKey("q", s),
      ),
      keys.allGroupsKey("q"),
      keys.taskKey("q", "x"),
      LOCK,
    ];
    const stale = await runScript(redis, LuaScript.fromFile("admin/delete_tasks"), keyList, [
      "",
      1,
      "x",
      "",
      LOCK,
    ]);
    expect(stale).toEqual([-3, "scheduled"]);
    expect(await stateOf(redis, "q", "x")).toBe("scheduled");
    const [outcome] = (await mutateTasks(redis, "q", "delete", ["x"], NOW)) as Array<{ code: string }>;
    expect(outcome!.code).toBe("done");
    expect(await redis.exists(keys.taskKey("q", "x"), "asynq:{q}:unique:t:other")).toBe(0);
  });
});
