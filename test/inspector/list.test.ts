// Inspector listing (wire-format §4.28.4): pages of every state in asynq's order, corrupt and orphaned records, argument checks.
import { describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import { CorruptTaskError, QueueNotFoundError, ValidationError } from "../../src/errors.js";
import type { TaskState } from "../../src/task.js";
import * as keys from "../../src/wire/keys.js";
import { useRedisFixture } from "../support/fixture.js";
import { NOW, NOW_S, put, rejection, taskAdmin } from "./task-fixtures.js";

const { redis, clock } = useRedisFixture({ clock: NOW });
const admin = taskAdmin(redis, clock);

const ids = (tasks: Array<{ id: string }>): string[] => tasks.map((t) => t.id);

describe("listTasks", () => {
  it("lists pending tasks next-to-run first, by page, with nextProcessAt = now (whole second)", async () => {
    const client = new Client(redis, { clock });
    for (const id of ["p1", "p2", "p3", "p4", "p5"]) await client.enqueue({ type: "t" }, { taskId: id });
    expect(ids(await admin.listTasks("default", "pending", { size: 2 }))).toEqual(["p1", "p2"]);
    expect(ids(await admin.listTasks("default", "pending", { page: 2, size: 2 }))).toEqual(["p3", "p4"]);
    expect(ids(await admin.listTasks("default", "pending", { page: 3, size: 2 }))).toEqual(["p5"]);
    expect(await admin.listTasks("default", "pending", { page: 4, size: 2 })).toEqual([]);
    const [first] = await admin.listTasks("default", "pending");
    expect(first).toMatchObject({ id: "p1", state: "pending", type: "t", maxRetry: 25, result: null });
    expect(first!.nextProcessAt).toEqual(new Date(NOW_S * 1000));
  });

  it("uses a default page size of 30", async () => {
    for (let i = 0; i < 35; i++)
      await put(redis, "q", `a${String(i).padStart(2, "0")}`, "archived", { score: 100 + i });
    const page1 = await admin.listTasks("q", "archived");
    expect(page1).toHaveLength(30);
    expect(ids(await admin.listTasks("q", "archived", { page: 2 }))).toEqual([
      "a30",
      "a31",
      "a32",
      "a33",
      "a34",
    ]);
  });

  it.each([
    ["scheduled", true],
    ["retry", true],
    ["archived", false],
    ["completed", false],
  ] as const)(
    "lists %s tasks by ascending score (nextProcessAt from the score: %s)",
    async (state, timed) => {
      await put(redis, "q", "late", state, { score: NOW_S + 300 });
      await put(redis, "q", "early", state, { score: NOW_S + 100, result: "r" });
      await put(redis, "q", "mid", state, { score: NOW_S + 200 });
      const tasks = await admin.listTasks("q", state);
      expect(ids(tasks)).toEqual(["early", "mid", "late"]);
      expect(tasks.every((t) => t.state === state)).toBe(true);
      expect(tasks[0]!.nextProcessAt).toEqual(timed ? new Date((NOW_S + 100) * 1000) : null);
      expect(Buffer.from(tasks[0]!.result!).toString()).toBe("r");
      expect(tasks[1]!.result).toBeNull();
    },
  );

  it("lists active tasks longest-running first and reports the orphaned ones (lease run out or none)", async () => {
    await put(redis, "q", "oldest", "active", { score: NOW_S - 5 });
    await put(redis, "q", "middle", "active", { score: NOW_S + 30 });
    await put(redis, "q", "newest", "active", { score: null });
    const page = await admin.listTaskPage("q", "active");
    expect(ids(page.tasks)).toEqual(["oldest", "middle", "newest"]);
    expect(page.tasks.every((t) => t.nextProcessAt === null)).toBe(true);
    expect(page.orphaned).toEqual(["oldest", "newest"]);
    expect(page.corrupt).toEqual([]);
  });

  it("lists a group's aggregating tasks oldest first; other groups are apart", async () => {
    await put(redis, "q", "b", "aggregating", { group: "g1", score: 20 });
    await put(redis, "q", "a", "aggregating", { group: "g1", score: 10 });
    await put(redis, "q", "x", "aggregating", { group: "g2", score: 5 });
    const tasks = await admin.listAggregatingTasks("q", "g1");
    expect(ids(tasks)).toEqual(["a", "b"]);
    expect(tasks[0]).toMatchObject({ state: "aggregating", group: "g1", nextProcessAt: null });
    expect(ids(await admin.listTasks("q", "aggregating", { group: "g2" }))).toEqual(["x"]);
    expect(await admin.listAggregatingTasks("q", "nope")).toEqual([]);
  });

  it("skips corrupt records from the list and returns them apart, with the reason", async () => {
    await put(redis, "q", "ok1", "archived", { score: 1 });
    await put(redis, "q", "garbage", "archived", {
      score: 2,
      fields: { msg: Buffer.from([0xff, 0xff]), state: "archived" },
    });
    await put(redis, "q", "nomsg", "archived", { score: 3, fields: { state: "archived" } });
    await put(redis, "q", "weird", "archived", {
      score: 4,
      fields: { msg: Buffer.from("x"), state: "frozen" },
    });
    await put(redis, "q", "ok2", "archived", { score: 5 });
    expect(ids(await admin.listTasks("q", "archived"))).toEqual(["ok1", "ok2"]);
    const page = await admin.listTaskPage("q", "archived");
    expect(ids(page.tasks)).toEqual(["ok1", "ok2"]);
    expect(page.corrupt.map((e) => [e.taskId, e.message])).toEqual([
      ["garbage", expect.stringContaining("msg does not decode") as string],
      ["nomsg", expect.stringContaining("no msg field") as string],
      ["weird", expect.stringContaining('unknown state "frozen"') as string],
    ]);
    expect(page.corrupt.every((e) => e instanceof CorruptTaskError && e.queue === "q")).toBe(true);
  });

  it("leaves out IDs without a hash and tasks whose hash is in another state (they moved)", async () => {
    await put(redis, "q", "ok", "scheduled", { score: 1 });
    await redis.zadd(keys.scheduledKey("q"), 2, "dangling");
    await put(redis, "q", "moved", "scheduled", { score: 3 });
    await redis.hset(keys.taskKey("q", "moved"), "state", "pending");
    const page = await admin.listTaskPage("q", "scheduled");
    expect(ids(page.tasks)).toEqual(["ok"]);
    expect(page.corrupt).toEqual([]);
  });

  it("throws QueueNotFoundError for a queue not in asynq:queues", async () => {
    await redis.zadd(keys.archivedKey("ghost"), 1, "x");
    const error = await rejection(admin.listTasks("ghost", "archived"));
    expect(error).toBeInstanceOf(QueueNotFoundError);
    expect((error as QueueNotFoundError).queue).toBe("ghost");
  });

  it.each([
    ["a blank queue", () => admin.listTasks(" ", "pending"), "queue"],
    ["an unknown state", () => admin.listTasks("q", "bogus" as TaskState), "state"],
    ["aggregating without a group", () => admin.listTasks("q", "aggregating"), "group"],
    ["a group for another state", () => admin.listTasks("q", "pending", { group: "g" }), "group"],
    ["page 0", () => admin.listTasks("q", "pending", { page: 0 }), "page"],
    ["a fractional page", () => admin.listTasks("q", "pending", { page: 1.5 }), "page"],
    ["size 0 (asynq would list everything)", () => admin.listTasks("q", "pending", { size: 0 }), "size"],
    ["size above 10,000", () => admin.listTasks("q", "pending", { size: 10_001 }), "size"],
  ])("rejects %s with a ValidationError naming the field", async (_, call, field) => {
    await put(redis, "q", "x", "pending");
    const error = await rejection(call());
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
  });
});
