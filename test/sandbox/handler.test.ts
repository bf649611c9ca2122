// sandboxed() called directly, with a hand-made context, on real worker threads: what the thread's
// handler sees, how its errors come back, how a dying thread fails only its attempt, how an abort
// ends the thread, module load errors, close(), and option validation.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  AsynqError,
  RevokeTask,
  SandboxError,
  SandboxLoadError,
  SkipRetry,
  TaskAbortedError,
  ValidationError,
} from "../../src/errors.js";
import { sandboxed } from "../../src/sandbox/sandboxed.js";
import { waitFor } from "../support/server.js";
import { context, logDir, logFile, sandbox, task, text, ticksStop } from "./support.js";

describe("a sandboxed handler", () => {
  it("reports progress through the parent's context; a value with no JSON form is refused in the thread", async () => {
    const handler = sandbox();
    const { ctx, written, progressed } = context("t-progress");
    await handler(task("progress"), ctx);
    expect(progressed).toEqual([50, { done: 2, total: 2 }]);
    expect(text(written[0])).toBe("ERR_VALIDATION");
  });

  it("gets the task and the context's fields in its thread, and writes its result through the parent", async () => {
    const handler = sandbox();
    const { ctx, written } = context("t-ctx");
    await handler(task("context", "héllo", { tenant: "acme" }), ctx);
    const seen = JSON.parse(text(written[0])) as Record<string, unknown>;
    expect(seen).toMatchObject({
      type: "context",
      payload: "héllo",
      headers: { tenant: "acme" },
      id: "t-ctx",
      queue: "default",
      retryCount: 2,
      maxRetry: 5,
      deadline: ctx.deadline.getTime(),
      deadlineIsDate: true,
      aborted: false,
      ran: 1,
    });
    expect(seen.threadId).not.toBe(0); // not the main thread
  });

  it("reuses its thread from task to task (module state survives), one thread at a time", async () => {
    const handler = sandbox();
    const runs: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 3; i++) {
      const { ctx, written } = context(`t-${i}`);
      await handler(task("context"), ctx);
      runs.push(JSON.parse(text(written[0])) as Record<string, unknown>);
    }
    expect(runs.map((r) => r.ran)).toEqual([1, 2, 3]);
    expect(new Set(runs.map((r) => r.threadId)).size).toBe(1);
    expect(handler.threads).toBe(1);
  });

  it("keeps a thrown error's name, message, code and cause; SkipRetry and RevokeTask by their code", async () => {
    const handler = sandbox();
    const thrown = await handler(task("throw", "4242"), context().ctx).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).toMatchObject({
      name: "PaymentDeclined",
      message: "card declined for 4242",
      code: "E_DECLINED",
    });
    expect((thrown as Error).cause).toMatchObject({ name: "TypeError", message: "inner" });
    expect((thrown as Error).stack).toContain("behaviors.mjs");

    const skip = await handler(task("skip", "x.png"), context().ctx).catch((e: unknown) => e);
    expect(skip).toBeInstanceOf(SkipRetry);
    expect(skip).toMatchObject({ name: "SkipRetry", message: "no such image: x.png" });
    const deep = await handler(task("skip-cause"), context().ctx).catch((e: unknown) => e);
    expect((deep as Error).cause).toBeInstanceOf(SkipRetry);
    const revoke = await handler(task("revoke"), context().ctx).catch((e: unknown) => e);
    expect(revoke).toBeInstanceOf(RevokeTask);
  });

  it("turns a thrown non-Error into the Error an in-process handler's throw gives", async () => {
    const thrown = await sandbox()(task("non-error"), context().ctx).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).message).toBe('handler failed with a non-Error value: {"nope":42}');
  });

  it("rejects a result that cannot be encoded in the thread, with the in-process ValidationError", async () => {
    const thrown = await sandbox()(task("write-function"), context().ctx).catch((e: unknown) => e);
    expect(thrown).toMatchObject({ name: "ValidationError", code: "ERR_VALIDATION" });
    expect(thrown).toBeInstanceOf(AsynqError);
  });

  it.each([
    ["exit", "exit", /exited with code 7/],
    ["uncaught", "uncaught-exception", /uncaught exception: from a timer/],
  ] as const)(
    "fails only the attempt whose thread dies (%s), and replaces the thread",
    async (type, reason, message) => {
      const handler = sandbox();
      const thrown = await handler(task(type), context().ctx).catch((e: unknown) => e);
      expect(thrown).toBeInstanceOf(SandboxError);
      expect(thrown).toMatchObject({ reason, code: "ERR_SANDBOX" });
      expect((thrown as Error).message).toMatch(message);
      if (type === "exit") expect((thrown as SandboxError).exitCode).toBe(7);
      const { ctx, written } = context();
      await handler(task("context"), ctx);
      expect(JSON.parse(text(written[0]))).toMatchObject({ ran: 1 }); // a fresh thread
    },
  );

  it("fails with the signal's reason at once when aborted, and terminates a thread that ignores it after the grace", async () => {
    const handler = sandbox({ abortGrace: 50 });
    const log = logFile();
    const { ctx, controller } = context("spinning");
    const running = handler(task("never", "", { log: log.path }), ctx);
    await waitFor(() => log.lines().some((l) => l.startsWith("tick")), "the handler's ticks");
    const reason = new TaskAbortedError("timeout", "spinning");
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    await ticksStop(log);
  });

  it("passes the abort into the thread; a handler that returns within the grace keeps its thread", async () => {
    const handler = sandbox({ abortGrace: 5_000 });
    const log = logFile();
    const { ctx, controller } = context("polite");
    const running = handler(task("honors-signal", "", { log: log.path }), ctx);
    await waitFor(() => log.lines().length > 0, "the handler to start");
    controller.abort(new TaskAbortedError("canceled", "polite"));
    await expect(running).rejects.toBeInstanceOf(TaskAbortedError);
    await waitFor(() => log.lines().some((l) => l.startsWith("aborted")), "the thread's abort");
    expect(log.lines()).toContain("aborted polite TaskAbortedError canceled");
    const next = context();
    await handler(task("context"), next.ctx);
    expect(JSON.parse(text(next.written[0]))).toMatchObject({ ran: 2 }); // the same thread
  });

  it("refuses a result write in the thread once the attempt is aborted (ERR_RESULT_AFTER_DONE)", async () => {
    const handler = sandbox({ abortGrace: 5_000 });
    const log = logFile();
    const { ctx, controller, written } = context("late");
    const running = handler(task("late-write", "", { log: log.path }), ctx);
    await waitFor(() => log.lines().length > 0, "the handler to start");
    controller.abort(new TaskAbortedError("timeout", "late"));
    await expect(running).rejects.toBeInstanceOf(TaskAbortedError);
    await waitFor(() => log.lines().some((l) => l.startsWith("late write")), "the late write");
    expect(log.lines()).toContain("late write ERR_RESULT_AFTER_DONE");
    expect(written).toEqual([]);
  });

  it("terminates a busy loop (which never reads its messages) after the grace", async () => {
    // One thread at most: the next call gets one only once the looping thread has exited.
    const handler = sandbox({ abortGrace: 0, poolSize: 1 });
    const log = logFile();
    const { ctx, controller } = context();
    const running = handler(task("loop", "", { log: log.path }), ctx);
    await waitFor(() => log.lines().length > 0, "the loop to start");
    controller.abort(new TaskAbortedError("deadline", "task-1"));
    await expect(running).rejects.toBeInstanceOf(TaskAbortedError);
    const next = context();
    await handler(task("context"), next.ctx);
    expect(JSON.parse(text(next.written[0]))).toMatchObject({ ran: 1 });
    expect(handler.threads).toBe(1);
  });

  it("close() fails running attempts and later calls with SandboxError 'closed'", async () => {
    const handler = sandboxed(new URL("./fixtures/behaviors.mjs", import.meta.url));
    const log = logFile();
    const running = handler(task("never", "", { log: log.path }), context().ctx);
    await waitFor(() => log.lines().length > 0, "the handler to start");
    await handler.close();
    await expect(running).rejects.toMatchObject({ name: "SandboxError", reason: "closed" });
    expect(handler.threads).toBe(0);
    await expect(handler(task("ok"), context().ctx)).rejects.toMatchObject({ reason: "closed" });
  });
});

describe("a handler module that cannot be used", () => {
  it.each([
    ["broken.mjs", /cannot be loaded: cannot start: missing configuration/],
    ["no-handler.mjs", /exports no handler/],
    ["exits-on-load.mjs", /thread ended while loading it: .*exited with code 3/],
    ["missing.mjs", /cannot be loaded: Cannot find module/],
  ])("%s: ready() and the attempts fail with SandboxLoadError", async (file, message) => {
    const handler = sandbox(undefined, new URL(`./fixtures/${file}`, import.meta.url));
    const loading = await handler.ready().catch((e: unknown) => e);
    expect(loading).toBeInstanceOf(SandboxLoadError);
    expect((loading as Error).message).toMatch(message);
    expect((loading as SandboxLoadError).moduleUrl).toContain(file);
    await expect(handler(task("ok"), context().ctx)).rejects.toBeInstanceOf(SandboxLoadError);
    await waitFor(() => handler.threads === 0, "the failed threads to end");
  });

  it("a thread that cannot start (execArgv Node refuses in threads) fails with SandboxLoadError", async () => {
    const handler = sandbox({ execArgv: ["--title=nope"] });
    const thrown = await handler.ready().catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(SandboxLoadError);
    expect((thrown as Error).message).toMatch(/its thread cannot start/);
    await expect(handler(task("ok"), context().ctx)).rejects.toBeInstanceOf(SandboxLoadError);
    expect(handler.threads).toBe(0);
  });

  it("a CommonJS module's named handler export, or the export chosen by exportName", async () => {
    const file = join(logDir(), "named-export.cjs");
    writeFileSync(
      file,
      "exports.handler = async (task, ctx) => { await ctx.result.write(`cjs ${task.type}`); };\n",
    );
    const cjs = sandbox(undefined, file);
    const { ctx, written } = context();
    await cjs(task("cjs-task"), ctx);
    expect(text(written[0])).toBe("cjs cjs-task");
    const wrong = sandbox(
      { exportName: "notAHandler" },
      new URL("./fixtures/no-handler.mjs", import.meta.url),
    );
    await expect(wrong.ready()).rejects.toThrow(/export "notAHandler" is not a function/);
  });
});

describe("a TypeScript handler module", () => {
  it("loads through a require hook given in execArgv, and only with one", async () => {
    const module = new URL("./fixtures/typed.ts", import.meta.url);
    const hooked = sandbox({ execArgv: ["--require", "tsx/cjs"] }, module);
    const { ctx, written } = context();
    await hooked(task("ts-task"), ctx);
    expect(text(written[0])).toBe("typed ts-task");
    const plain = sandbox({ execArgv: [] }, module);
    await expect(plain.ready()).rejects.toThrow(/Unknown file extension ".ts"/);
  });
});

describe("sandboxed() options", () => {
  it.each([
    ["a relative path", "./handler.mjs", {}, "module"],
    ["an http URL", new URL("https://example.com/h.mjs"), {}, "module"],
    ["a pool size of 0", "/abs/h.mjs", { poolSize: 0 }, "options.poolSize"],
    ["a negative grace", "/abs/h.mjs", { abortGrace: -1 }, "options.abortGrace"],
    [
      "an unknown limit",
      "/abs/h.mjs",
      { resourceLimits: { maxHeapMb: 10 } },
      "options.resourceLimits.maxHeapMb",
    ],
    [
      "a zero limit",
      "/abs/h.mjs",
      { resourceLimits: { maxOldGenerationSizeMb: 0 } },
      "options.resourceLimits.maxOldGenerationSizeMb",
    ],
    ["a blank export", "/abs/h.mjs", { exportName: " " }, "options.exportName"],
  ])(
    "refuse %s with a ValidationError naming the field, starting nothing",
    (_what, module, options, field) => {
      let thrown: unknown;
      try {
        sandboxed(module, options as never);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ValidationError);
      expect((thrown as ValidationError).field).toBe(field);
    },
  );
});
