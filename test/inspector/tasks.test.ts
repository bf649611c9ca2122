// Inspector task writes against Go's golden dump (scenario s: delete, archive, run) and updateTaskPayload (wire-format §4.28.8).
import { describe, expect, it } from "vitest";
import { replaceTaskMessage } from "../../src/broker/admin/mutate.js";
import { Client } from "../../src/client/client.js";
import {
  CorruptTaskError,
  QueueNotFoundError,
  TaskNotFoundError,
  TaskStateError,
  ValidationError,
} from "../../src/errors.js";
import * as keys from "../../src/wire/keys.js";
import { decodeTaskMessage } from "../../src/wire/proto.js";
import { useRedisFixture } from "../support/fixture.js";
import { compareSnapshots, dumpDb, formatDifferences, loadGoldenScenario } from "../support/redis-dump.js";
import { NOW, NOW_S, encodedMsg, put, rejection, taskAdmin } from "./task-fixtures.js";
import { snapshotPath } from "../support/golden.js";

const GOLDEN = snapshotPath("s_inspector_ops");

const { redis, clock } = useRedisFixture({ clock: NOW });
const admin = taskAdmin(redis, clock);

describe("golden scenario s (Go asynq: delete, archive, run)", () => {
  it("leaves Redis as Go does after each operation", async () => {
    const scenario = loadGoldenScenario(GOLDEN);
    const client = new Client(redis, { clock });
    const checked: string[] = [];
    for (const op of scenario.ops) {
      clock.set(op.at_unix_ms);
      const id = typeof op.args.id === "string" ? op.args.id : "";
      if (op.api === "Client.Enqueue") {
        const taskId = /^TaskID\("(.*)"\)$/.exec(op.args.options?.[0] ?? "")?.[1];
        await client.enqueue({ type: op.args.task_type!, payload: op.args.payload ?? undefined }, { taskId });
      } else if (op.api === "Inspector.DeleteTask") await admin.deleteTask("default", id);
      else if (op.api === "Inspector.ArchiveTask") await admin.archiveTask("default", id);
      else if (op.api === "Inspector.RunTask") await admin.runTask("default", id);
      else throw new Error(`unexpected op ${op.api}`);
      for (const snapshot of scenario.snapshots.filter((s) => s.taken_after_op === op.index)) {
        const diffs = compareSnapshots(snapshot, await dumpDb(redis));
        expect(formatDifferences(diffs), snapshot.label).toBe("");
        checked.push(snapshot.label);
      }
    }
    expect(checked).toEqual(["after_enqueue", "after_delete_s-1", "after_archive_s-2", "final"]);
  });

  it("sets pending_since to now on run (asynq keeps a stale one), so queue latency is right", async () => {
    await put(redis, "default", "s-2", "archived", { extra: { pending_since: "1000" } });
    await admin.runTask("default", "s-2");
    expect(await redis.hget(keys.taskKey("default", "s-2"), "pending_since")).toBe(
      `${BigInt(NOW) * 1_000_000n}`,
    );
  });
});

describe("updateTaskPayload", () => {
  it("replaces the payload of a scheduled task, keeping every other field and the unique key", async () => {
    const lock = "asynq:{q}:unique:t:abc";
    await put(redis, "q", "s1", "scheduled", { score: NOW_S + 60, unique: lock, result: "r" });
    const before = decodeTaskMessage((await redis.hgetBuffer(keys.taskKey("q", "s1"), "msg"))!);
    const info = await admin.updateTaskPayload("q", "s1", { user: 7 });
    const after = decodeTaskMessage((await redis.hgetBuffer(keys.taskKey("q", "s1"), "msg"))!);
    expect(Buffer.from(after.payload).toString()).toBe('{"user":7}');
    expect({ ...after, payload: null }).toEqual({ ...before, payload: null });
    expect(after.uniqueKey).toBe(lock);
    expect(await redis.hgetall(keys.taskKey("q", "s1"))).toMatchObject({
      state: "scheduled",
      unique_key: lock,
      result: "r",
    });
    expect(await redis.get(lock)).toBe("s1");
    expect(await redis.zscore(keys.scheduledKey("q"), "s1")).toBe(String(NOW_S + 60));
    expect(info).toMatchObject({
      id: "s1",
      state: "scheduled",
      nextProcessAt: new Date((NOW_S + 60) * 1000),
    });
    expect(Buffer.from(info.payload).toString()).toBe('{"user":7}');
    expect(Buffer.from(info.result!).toString()).toBe("r");
  });

  it("updates a pending task too (asynq: scheduled only); strings as UTF-8, bytes as they are", async () => {
    await put(redis, "q", "p1", "pending");
    const info = await admin.updateTaskPayload("q", "p1", "héllo");
    expect(info).toMatchObject({ state: "pending", nextProcessAt: new Date(NOW_S * 1000) });
    await admin.updateTaskPayload("q", "p1", new Uint8Array([1, 2, 3]));
    const msg = decodeTaskMessage((await redis.hgetBuffer(keys.taskKey("q", "p1"), "msg"))!);
    expect([...msg.payload]).toEqual([1, 2, 3]);
  });

  it.each(["active", "retry", "archived", "completed", "aggregating"] as const)(
    "refuses a %s task with a TaskStateError and writes nothing",
    async (state) => {
      await put(redis, "q", "x", state, { group: "g" });
      const msg = await redis.hgetBuffer(keys.taskKey("q", "x"), "msg");
      const error = await rejection(admin.updateTaskPayload("q", "x", "new"));
      expect(error).toBeInstanceOf(TaskStateError);
      expect((error as TaskStateError).state).toBe(state);
      expect((error as Error).message).toBe("cannot update task that is not in pending or scheduled state.");
      expect(await redis.hgetBuffer(keys.taskKey("q", "x"), "msg")).toEqual(msg);
    },
  );

  it("throws TaskNotFoundError, QueueNotFoundError, CorruptTaskError and ValidationError", async () => {
    await put(redis, "q", "bad", "scheduled", { fields: { msg: Buffer.from([0xff]), state: "scheduled" } });
    expect(await rejection(admin.updateTaskPayload("q", "nope", "x"))).toBeInstanceOf(TaskNotFoundError);
    expect(await rejection(admin.updateTaskPayload("other", "bad", "x"))).toBeInstanceOf(QueueNotFoundError);
    expect(await rejection(admin.updateTaskPayload("q", "bad", "x"))).toBeInstanceOf(CorruptTaskError);
    expect(await rejection(admin.updateTaskPayload("q", "", "x"))).toBeInstanceOf(ValidationError);
    expect(await rejection(admin.updateTaskPayload("q", "bad", "\ud800"))).toBeInstanceOf(ValidationError);
  });

  it("writes nothing when the msg changed since it was read, or the state is not allowed (atomic check)", async () => {
    await put(redis, "q", "s1", "scheduled");
    const stale = encodedMsg("q", "s1", { payload: "old" });
    const next = encodedMsg("q", "s1", { payload: "new" });
    const current = (await redis.hgetBuffer(keys.taskKey("q", "s1"), "msg"))!;
    expect(await replaceTaskMessage(redis, "q", "s1", stale, next, ["scheduled"])).toEqual({
      outcome: "changed",
      state: "scheduled",
    });
    expect(await replaceTaskMessage(redis, "q", "s1", current, next, ["pending"])).toEqual({
      outcome: "refused",
      state: "scheduled",
    });
    expect(await redis.hgetBuffer(keys.taskKey("q", "s1"), "msg")).toEqual(current);
    expect(await replaceTaskMessage(redis, "q", "gone", current, next, ["scheduled"])).toEqual({
      outcome: "not-found",
      state: null,
    });
    expect(await replaceTaskMessage(redis, "q", "s1", current, next, ["scheduled"])).toEqual({
      outcome: "ok",
      state: "scheduled",
    });
    expect(await redis.hgetBuffer(keys.taskKey("q", "s1"), "msg")).toEqual(next);
  });
});
