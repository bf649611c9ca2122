// Inspector basics: reading one task back (getTaskInfo), counting a queue's tasks (queueSizes) and
// listing queues, against records written by the Client and by hand (wire-format §3, §4.28.1, §4.28.3).
import { describe, expect, it } from "vitest";
import {
  AsynqError,
  CorruptTaskError,
  QueueNotFoundError,
  TaskNotFoundError,
  ValidationError,
} from "../../src/errors.js";
import { encodeTaskMessage, newTaskMessage } from "../../src/wire/proto.js";
import { useRedisFixture } from "../support/fixture.js";
import { rejection } from "./task-fixtures.js";

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0) + 400;
const NOW_S = Math.floor(NOW / 1000);

const { redis, clock, client, inspector } = useRedisFixture({ clock: NOW, client: true, inspector: true });

/** Writes a task hash by hand, in a registered queue. */
async function writeRecord(
  queue: string,
  id: string,
  fields: Record<string, string | Buffer>,
): Promise<void> {
  await redis.sadd("asynq:queues", queue);
  await redis.hset(`asynq:{${queue}}:t:${id}`, fields);
}

function encoded(queue: string, id: string, extra: Parameters<typeof newTaskMessage>[0] = {}): Buffer {
  return Buffer.from(
    encodeTaskMessage(newTaskMessage({ type: "t", queue, id, retry: 25, timeout: 1800n, ...extra })),
  );
}

describe("getTaskInfo", () => {
  it("reads a pending task as the client wrote it; nextProcessAt = now (whole second)", async () => {
    const written = await client.enqueue(
      { type: "email:deliver", payload: { user_id: 42 }, headers: { trace: "abc" } },
      { queue: "critical", maxRetry: 5, timeout: 60_000, deadline: NOW + 3_600_000, retention: 120_000 },
    );
    clock.advance(5_000);
    const info = await inspector.getTaskInfo("critical", written.id);
    expect(info).toMatchObject({
      id: written.id,
      queue: "critical",
      type: "email:deliver",
      state: "pending",
      maxRetry: 5,
      retried: 0,
      lastError: "",
      lastFailedAt: null,
      timeout: 60_000,
      deadline: new Date(Math.floor((NOW + 3_600_000) / 1000) * 1000),
      group: "",
      retention: 120_000,
      completedAt: null,
      result: null,
      headers: { trace: "abc" },
    });
    expect(info.nextProcessAt).toEqual(new Date((NOW_S + 5) * 1000));
    expect(Buffer.from(info.payload).toString()).toBe('{"user_id":42}');
  });

  it("reads a scheduled task with nextProcessAt = its zset score", async () => {
    const written = await client.enqueue({ type: "t" }, { processIn: 90_000 });
    const info = await inspector.getTaskInfo("default", written.id);
    expect(info.state).toBe("scheduled");
    expect(info.nextProcessAt).toEqual(new Date(Math.floor((NOW + 90_000) / 1000) * 1000));
    expect(info.nextProcessAt).toEqual(written.nextProcessAt);

    // The score is what counts, not the message: move the task and read it again.
    await redis.zadd("asynq:{default}:scheduled", 2_000_000_123, written.id);
    expect((await inspector.getTaskInfo("default", written.id)).nextProcessAt).toEqual(
      new Date(2_000_000_123_000),
    );
  });

  it("reads an aggregating task with its group and no nextProcessAt", async () => {
    const written = await client.enqueue({ type: "t", payload: "x" }, { group: "daily" });
    const info = await inspector.getTaskInfo("default", written.id);
    expect(info).toMatchObject({ state: "aggregating", group: "daily", nextProcessAt: null });
    expect(Buffer.from(info.payload).toString()).toBe("x");
  });

  it("reads a retry task with nextProcessAt = its retry score, and its error details", async () => {
    await writeRecord("default", "r-1", {
      msg: encoded("default", "r-1", { retried: 2, errorMsg: "boom", lastFailedAt: 1_900_000_000n }),
      state: "retry",
    });
    await redis.zadd("asynq:{default}:retry", 1_900_000_060, "r-1");
    const info = await inspector.getTaskInfo("default", "r-1");
    expect(info).toMatchObject({
      state: "retry",
      retried: 2,
      lastError: "boom",
      lastFailedAt: new Date(1_900_000_000_000),
      nextProcessAt: new Date(1_900_000_060_000),
    });
  });

  it("reads a completed task with its result and completedAt, and no nextProcessAt", async () => {
    await writeRecord("default", "c-1", {
      msg: encoded("default", "c-1", { completedAt: 1_900_000_000n, retention: 3600n }),
      state: "completed",
      result: Buffer.from([1, 2, 255]),
    });
    await redis.zadd("asynq:{default}:completed", 1_900_003_600, "c-1");
    const info = await inspector.getTaskInfo("default", "c-1");
    expect(info.state).toBe("completed");
    expect(info.completedAt).toEqual(new Date(1_900_000_000_000));
    expect(info.retention).toBe(3_600_000);
    expect(info.nextProcessAt).toBeNull();
    expect(Buffer.from(info.result!)).toEqual(Buffer.from([1, 2, 255]));
  });

  it("reads active and archived tasks with no nextProcessAt", async () => {
    await writeRecord("default", "a-1", { msg: encoded("default", "a-1"), state: "active" });
    await writeRecord("default", "x-1", { msg: encoded("default", "x-1"), state: "archived" });
    expect(await inspector.getTaskInfo("default", "a-1")).toMatchObject({
      state: "active",
      nextProcessAt: null,
    });
    expect(await inspector.getTaskInfo("default", "x-1")).toMatchObject({
      state: "archived",
      nextProcessAt: null,
    });
  });

  it("throws QueueNotFoundError for a queue not in asynq:queues", async () => {
    const written = await client.enqueue({ type: "t" });
    await redis.srem("asynq:queues", "default");
    for (const queue of ["default", "nowhere"]) {
      const error = await rejection(inspector.getTaskInfo(queue, written.id));
      expect(error).toBeInstanceOf(QueueNotFoundError);
      expect(error).toBeInstanceOf(AsynqError);
      expect((error as QueueNotFoundError).code).toBe("ERR_QUEUE_NOT_FOUND");
      expect((error as QueueNotFoundError).queue).toBe(queue);
      expect((error as Error).message).toContain(queue);
    }
  });

  it("throws TaskNotFoundError for an unknown ID in a known queue", async () => {
    await client.enqueue({ type: "t" }, { taskId: "known" });
    const error = await rejection(inspector.getTaskInfo("default", "unknown"));
    expect(error).toBeInstanceOf(TaskNotFoundError);
    expect(error).toBeInstanceOf(AsynqError);
    const notFound = error as TaskNotFoundError;
    expect(notFound.code).toBe("ERR_TASK_NOT_FOUND");
    expect(notFound.queue).toBe("default");
    expect(notFound.taskId).toBe("unknown");
    expect(notFound.message).toContain("unknown");
    // The ID exists, but in another queue.
    await redis.sadd("asynq:queues", "other");
    await expect(inspector.getTaskInfo("other", "known")).rejects.toBeInstanceOf(TaskNotFoundError);
  });

  it("throws CorruptTaskError for a msg that is garbage bytes", async () => {
    await writeRecord("default", "bad", {
      msg: Buffer.from([0xff, 0xff, 0xff, 0x00, 0x13]),
      state: "pending",
    });
    const error = await rejection(inspector.getTaskInfo("default", "bad"));
    expect(error).toBeInstanceOf(CorruptTaskError);
    expect(error).toBeInstanceOf(AsynqError);
    const corrupt = error as CorruptTaskError;
    expect(corrupt.code).toBe("ERR_CORRUPT_TASK");
    expect(corrupt.queue).toBe("default");
    expect(corrupt.taskId).toBe("bad");
    expect(corrupt.cause).toBeInstanceOf(Error);
  });

  it("throws CorruptTaskError for a msg that is text, not a TaskMessage", async () => {
    await writeRecord("default", "text", { msg: "garbage bytes!", state: "pending" });
    await expect(inspector.getTaskInfo("default", "text")).rejects.toBeInstanceOf(CorruptTaskError);
  });

  it("throws CorruptTaskError for an unknown state, naming it", async () => {
    await writeRecord("default", "odd", { msg: encoded("default", "odd"), state: "sleeping" });
    const error = await rejection(inspector.getTaskInfo("default", "odd"));
    expect(error).toBeInstanceOf(CorruptTaskError);
    expect((error as Error).message).toContain("sleeping");
  });

  it("throws CorruptTaskError for a state in the wrong case (asynq's names are exact)", async () => {
    await writeRecord("default", "caps", { msg: encoded("default", "caps"), state: "Pending" });
    await expect(inspector.getTaskInfo("default", "caps")).rejects.toBeInstanceOf(CorruptTaskError);
  });

  it("throws CorruptTaskError for a hash without msg or without state", async () => {
    await writeRecord("default", "no-msg", { state: "pending" });
    await writeRecord("default", "no-state", { msg: encoded("default", "no-state") });
    await expect(inspector.getTaskInfo("default", "no-msg")).rejects.toBeInstanceOf(CorruptTaskError);
    await expect(inspector.getTaskInfo("default", "no-state")).rejects.toBeInstanceOf(CorruptTaskError);
  });

  it("rejects a blank queue or ID with a ValidationError", async () => {
    await expect(inspector.getTaskInfo("", "x")).rejects.toBeInstanceOf(ValidationError);
    await expect(inspector.getTaskInfo("default", "  ")).rejects.toBeInstanceOf(ValidationError);
    await expect(inspector.queueSizes(" ")).rejects.toBeInstanceOf(ValidationError);
  });

  it("still reads after SCRIPT FLUSH", async () => {
    const written = await client.enqueue({ type: "t" }, { processIn: 1000 });
    await redis.script("FLUSH");
    expect((await inspector.getTaskInfo("default", written.id)).state).toBe("scheduled");
    await redis.script("FLUSH");
    expect((await inspector.queueSizes("default")).scheduled).toBe(1);
  });
});

describe("queueSizes", () => {
  it("counts every state, aggregating across groups, and the paused flag", async () => {
    await client.enqueueBatch([
      { type: "p", payload: 1 },
      { type: "p", payload: 2 },
      { type: "p", payload: 3 },
      { type: "s", options: { processIn: 60_000 } },
      { type: "s", options: { processIn: 120_000 } },
      { type: "g", payload: 1, options: { group: "a" } },
      { type: "g", payload: 2, options: { group: "a" } },
      { type: "g", payload: 3, options: { group: "b" } },
      { type: "g", payload: 4, options: { group: "c" } },
      { type: "other", options: { queue: "other" } },
    ]);
    // States the client does not write, by hand.
    await redis.lpush("asynq:{default}:active", "act-1");
    await redis.zadd("asynq:{default}:lease", NOW_S + 30, "act-1");
    await redis.zadd("asynq:{default}:retry", NOW_S + 10, "r-1", NOW_S + 20, "r-2");
    await redis.zadd("asynq:{default}:archived", NOW_S, "x-1", NOW_S, "x-2", NOW_S, "x-3");
    await redis.zadd("asynq:{default}:completed", NOW_S + 100, "c-1");

    const sizes = await inspector.queueSizes("default");
    expect(sizes).toEqual({
      pending: 3,
      active: 1,
      scheduled: 2,
      retry: 2,
      archived: 3,
      completed: 1,
      aggregating: 4,
      size: 16,
      paused: false,
    });

    await redis.set("asynq:{default}:paused", String(NOW_S));
    expect((await inspector.queueSizes("default")).paused).toBe(true);
    expect(await inspector.queueSizes("other")).toMatchObject({ pending: 1, size: 1, paused: false });
  });

  it("counts an empty group member of `groups` as zero", async () => {
    await client.enqueue({ type: "t" }, { group: "g" });
    await redis.sadd("asynq:{default}:groups", "gone");
    expect((await inspector.queueSizes("default")).aggregating).toBe(1);
  });

  it("returns zeros for a registered queue with no tasks", async () => {
    await redis.sadd("asynq:queues", "empty");
    expect(await inspector.queueSizes("empty")).toEqual({
      pending: 0,
      active: 0,
      scheduled: 0,
      retry: 0,
      archived: 0,
      completed: 0,
      aggregating: 0,
      size: 0,
      paused: false,
    });
  });

  it("throws QueueNotFoundError for an unknown queue, even when it has keys", async () => {
    await redis.lpush("asynq:{ghost}:pending", "x");
    const error = await rejection(inspector.queueSizes("ghost"));
    expect(error).toBeInstanceOf(QueueNotFoundError);
    expect((error as QueueNotFoundError).queue).toBe("ghost");
  });
});

describe("queues", () => {
  it("lists the registered queues, sorted", async () => {
    expect(await inspector.queues()).toEqual([]);
    await client.enqueue({ type: "t" }, { queue: "low" });
    await client.enqueue({ type: "t" }, { queue: "critical", processIn: 1000 });
    await client.enqueue({ type: "t" }, { queue: "default", group: "g" });
    await client.enqueue({ type: "t" }, { queue: "low" });
    expect(await inspector.queues()).toEqual(["critical", "default", "low"]);
  });

  it("lists only what asynq:queues holds (a queue with keys but not registered is not listed)", async () => {
    await redis.lpush("asynq:{unregistered}:pending", "x");
    await redis.sadd("asynq:queues", "registered-only");
    expect(await inspector.queues()).toEqual(["registered-only"]);
  });
});
