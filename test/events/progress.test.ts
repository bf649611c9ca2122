// ctx.progress on a real Redis with a real Server: stored with the task (the Inspector shows it),
// heard by QueueEvents, refused once the attempt is over, and left out of Go's view of the task.
import { describe, expect, it } from "vitest";
import { AsynqError, ValidationError } from "../../src/errors.js";
import { QueueEvents, type QueueProgressEvent } from "../../src/events/queue-events.js";
import type { TaskContext } from "../../src/server/context.js";
import * as keys from "../../src/wire/keys.js";
import { useRedisFixture } from "../support/fixture.js";
import { deferred, startServer, waitFor } from "../support/server.js";

const { redis, url, client, inspector } = useRedisFixture({ client: true, inspector: true });

describe("ctx.progress", () => {
  it("is stored with the task, shown by the Inspector and heard by QueueEvents", async () => {
    const events = new QueueEvents(url, "default");
    const heard: QueueProgressEvent[] = [];
    events.on("progress", (e) => void heard.push(e));
    await events.ready();
    const reported = deferred();
    const finish = deferred();
    try {
      await startServer(url, async (_task, ctx) => {
        await ctx.progress(10);
        await ctx.progress({ done: 3, total: 4 });
        reported.resolve();
        await finish.promise;
      });
      await client.enqueue({ type: "t" }, { taskId: "p1", retention: 60_000 });
      await reported.promise;
      expect((await inspector.getTaskInfo("default", "p1")).progress).toEqual({ done: 3, total: 4 });
      const [listed] = await inspector.listTasks("default", "active");
      expect(listed!.progress).toEqual({ done: 3, total: 4 });
      finish.resolve();
      await waitFor(
        async () => (await inspector.getTaskInfo("default", "p1")).state === "completed",
        "completed",
      );
      // Kept with the retained task.
      expect((await inspector.getTaskInfo("default", "p1")).progress).toEqual({ done: 3, total: 4 });
      await waitFor(() => heard.length === 2, "two progress events");
      expect(heard.map((e) => e.progress)).toEqual([10, { done: 3, total: 4 }]);
      expect(heard[0]).toMatchObject({ id: "p1", queue: "default" });
    } finally {
      await events.close();
    }
  });

  it("refuses values with no JSON form, and any report once the attempt is over", async () => {
    let kept: TaskContext | undefined;
    const errors: unknown[] = [];
    const done = deferred();
    await startServer(url, async (_task, ctx) => {
      kept = ctx;
      errors.push(await ctx.progress(undefined).catch((e: unknown) => e));
      errors.push(await ctx.progress(10n).catch((e: unknown) => e));
      done.resolve();
    });
    await client.enqueue({ type: "t" }, { taskId: "p2" });
    await done.promise;
    expect(errors[0]).toBeInstanceOf(ValidationError);
    expect(errors[1]).toBeInstanceOf(ValidationError);
    await waitFor(async () => (await redis.exists(keys.taskKey("default", "p2"))) === 0, "done");
    const late = await kept!.progress(50).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(AsynqError);
    expect(late).toMatchObject({ code: "ERR_PROGRESS_AFTER_DONE" });
  });

  it("is not written for a task recovered elsewhere meanwhile (fenced)", async () => {
    const reported = deferred<unknown>();
    const go = deferred();
    await startServer(url, async (_task, ctx) => {
      await go.promise;
      reported.resolve(await ctx.progress(1).catch((e: unknown) => e));
    });
    await client.enqueue({ type: "t" }, { taskId: "p3", maxRetry: 3 });
    await waitFor(
      async () => (await redis.hget(keys.taskKey("default", "p3"), "state")) === "active",
      "active",
    );
    // Another worker's recoverer rewrote the message (as a retry does): this worker's reports must not land.
    const msg = await redis.hgetBuffer(keys.taskKey("default", "p3"), "msg");
    await redis.hset(keys.taskKey("default", "p3"), "msg", Buffer.concat([msg!, Buffer.from([0x50, 0x01])]));
    go.resolve();
    expect(await reported.promise).toMatchObject({ code: "ERR_PROGRESS_AFTER_DONE" });
    expect(await redis.hexists(keys.taskKey("default", "p3"), "progress")).toBe(0);
  });
});
