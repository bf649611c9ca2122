// runHandler / runTask / FakeContext: handlers run inline, with what a server would do next.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { AsynqError, RevokeTask, SkipRetry, TaskAbortedError, ValidationError } from "../../src/errors.js";
import { ServeMux } from "../../src/server/mux.js";
import { jsonCodec } from "../../src/tasks/codec.js";
import { defineTask } from "../../src/tasks/define.js";
import { FakeContext, ManualClock, runHandler, runTask } from "../../src/testing/index.js";

const resize = defineTask("image:resize", {
  schema: z.object({ width: z.number().int().positive() }),
  options: { queue: "images", maxRetry: 2 },
  // With a schema, the result type comes from the result codec.
  resultCodec: jsonCodec<{ width: number }>(),
});

describe("runHandler", () => {
  it("runs a handler with the task's bytes, headers and a context from its options", async () => {
    const seen: unknown[] = [];
    const run = await runHandler(
      (task, ctx) => {
        seen.push(
          task.type,
          Buffer.from(task.payload).toString(),
          task.headers,
          ctx.queue,
          ctx.maxRetry,
          ctx.id,
        );
        return "ok";
      },
      {
        type: "t",
        payload: { a: 1 },
        headers: { h: "v" },
        options: { queue: "q", maxRetry: 4, taskId: "id-1" },
      },
    );
    expect(seen).toEqual(["t", '{"a":1}', { h: "v" }, "q", 4, "id-1"]);
    expect(run).toMatchObject({ outcome: "completed", returned: "ok", error: undefined });
  });

  it("says what the server would do after a failure", async () => {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a handler may reject with anything
    const fail = (error: unknown) => () => Promise.reject(error);
    expect((await runHandler(fail(new Error("boom")), { type: "t" })).outcome).toBe("retry");
    expect((await runHandler(fail(new Error("boom")), { type: "t" }, { retryCount: 25 })).outcome).toBe(
      "archived",
    );
    expect((await runHandler(fail(new SkipRetry("no")), { type: "t" })).outcome).toBe("archived");
    expect(
      (await runHandler(fail(new Error("wrapped", { cause: new SkipRetry() })), { type: "t" })).outcome,
    ).toBe("archived");
    expect((await runHandler(fail(new RevokeTask()), { type: "t" })).outcome).toBe("revoked");
    const thrown = await runHandler(fail("a string"), { type: "t" });
    expect(thrown.error?.message).toBe("handler failed with a non-Error value: a string");
  });

  it("routes through a ServeMux, not-found included", async () => {
    const mux = new ServeMux().handle("a", () => "from a");
    expect((await runHandler(mux, { type: "a" })).returned).toBe("from a");
    const missing = await runHandler(mux, { type: "b" });
    expect(missing.outcome).toBe("retry");
    expect(missing.error?.message).toBe('handler not found for task "b"');
  });

  it("records result writes, and refuses writes once the attempt is over", async () => {
    let late: Promise<number> | undefined;
    const run = await runHandler(
      async (_task, ctx) => {
        await ctx.result.write({ n: 1 });
        await ctx.result.write("text");
        late = new Promise((resolve) => setTimeout(resolve, 1)).then(() => ctx.result.write("late"));
      },
      { type: "t" },
    );
    expect(run.context.results.map((r) => Buffer.from(r).toString())).toEqual(['{"n":1}', "text"]);
    await expect(late).rejects.toMatchObject({ code: "ERR_RESULT_AFTER_DONE" });
    expect(run.context.results).toHaveLength(2);
  });

  it("ends the attempt at once when the test aborts the context; a shutdown requeues", async () => {
    const ctx = new FakeContext();
    let sawAbort: unknown;
    const running = runHandler(
      (_task, c) =>
        new Promise((_resolve, reject) => {
          c.signal.addEventListener("abort", () => {
            sawAbort = c.signal.reason;
          });
          void reject; // a handler that ignores its signal never settles
        }),
      { type: "t" },
      ctx,
    );
    ctx.abort("canceled");
    const run = await running;
    expect(run.outcome).toBe("retry");
    expect(run.error).toBeInstanceOf(TaskAbortedError);
    expect(sawAbort).toBe(run.error);

    const shutdown = new FakeContext();
    shutdown.abort("shutdown");
    expect((await runHandler(() => "never", { type: "t" }, shutdown)).outcome).toBe("requeued");
  });

  it("cuts the attempt at its deadline, with the reason the server would give", async () => {
    const clock = new ManualClock();
    const ctx = new FakeContext({ clock, deadline: clock.now() + 20 });
    expect(ctx.deadline.getTime()).toBe(clock.now() + 20);
    expect(ctx.deadlineReason).toBe("deadline");
    const run = await runHandler(() => new Promise(() => {}), { type: "t" }, ctx);
    expect((run.error as TaskAbortedError).reason).toBe("deadline");
    const byTimeout = new FakeContext({ clock, timeout: 10 });
    expect(byTimeout.deadlineReason).toBe("timeout");
    expect(byTimeout.deadline.getTime()).toBe(clock.now() + 10);
  });

  it("refuses an invalid task as client.enqueue does", async () => {
    await expect(runHandler(() => {}, { type: " " })).rejects.toThrow(ValidationError);
    expect(() => new FakeContext({ retryCount: -1 })).toThrow(ValidationError);
  });
});

describe("runTask", () => {
  it("decodes and validates the payload, and records the return value as the result", async () => {
    const run = await runTask(
      resize,
      async ({ width }, _task, ctx) => {
        expect(ctx.queue).toBe("images");
        return Promise.resolve({ width: width * 2 });
      },
      { width: 100 },
    );
    expect(run.outcome).toBe("completed");
    expect(run.returned).toEqual({ width: 200 });
    expect(Buffer.from(run.context.lastResult!).toString()).toBe('{"width":200}');
    expect(run.context.maxRetry).toBe(2);
  });

  it("rejects an invalid payload at enqueue, as the client does", async () => {
    await expect(runTask(resize, () => ({ width: 0 }), { width: 0 })).rejects.toThrow(ValidationError);
  });

  it("archives a payload the schema rejects at processing (here: a task written without the schema)", async () => {
    let called = false;
    const run = await runHandler(
      resize.handler(() => {
        called = true;
        return { width: 0 };
      }),
      { type: "image:resize", payload: { width: "wide" } },
    );
    expect(called).toBe(false);
    expect(run.outcome).toBe("archived");
    expect(run.error).toBeInstanceOf(SkipRetry);
    expect(run.error?.message).toMatch(/^invalid payload \(an object\): width: /);
  });

  it("passes an AsynqError of a result write on as the handler's failure", async () => {
    const write = defineTask<void, { big: bigint }>("w");
    const run = await runTask(write, () => ({ big: 1n }));
    expect(run.outcome).toBe("archived"); // a result that cannot be encoded is not worth a retry
    expect(run.error).toBeInstanceOf(AsynqError);
    expect(run.error?.message).toMatch(/invalid result \(an object\): the codec cannot encode it: .*BigInt/);
  });
});
