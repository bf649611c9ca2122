// Deadlines and timeouts, end to end on a real Redis: tasks that expire before they start, retries
// that would land after the deadline, attempts cut short by their timeout, and ctx.deadline.
import { describe, expect, it } from "vitest";
import type { Client } from "../../src/client/client.js";
import { unixSeconds, type ManualClock } from "../../src/internal/clock.js";
import { TaskAbortedError } from "../../src/server/context.js";
import { ServeMux } from "../../src/server/mux.js";
import { TaskExpiredError } from "../../src/server/outcomes.js";
import * as keys from "../../src/wire/keys.js";
import { enqueueOnce, useRedisFixture, wholeSecondClock } from "../support/fixture.js";
import {
  counters,
  errorHandlerRecorder,
  readTask,
  startServer,
  stateOf,
  waitFor,
} from "../support/server.js";

const Q = "default";
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

const { redis } = useRedisFixture();

const enqueueWith = (clock: ManualClock | undefined, ...args: Parameters<Client["enqueue"]>) =>
  enqueueOnce(redis, clock, ...args);

describe("a task whose deadline passed before it could start", () => {
  it("is archived unprocessed with `task expired: deadline <ISO> passed before processing`, never retried", async () => {
    const clock = wholeSecondClock();
    const t0 = clock.now();
    const deadline = new Date(t0 + 30 * MINUTE);
    await enqueueWith(
      clock,
      { type: "email:send", payload: "hi" },
      { taskId: "exp-1", deadline, maxRetry: 1 },
    );
    clock.advance(31 * MINUTE);
    let handled = 0;
    const { calls, errorHandler } = errorHandlerRecorder();
    const { server } = await startServer(
      redis,
      () => {
        handled++;
      },
      { clock, errorHandler, retryDelay: () => 0 },
    );
    await waitFor(async () => (await stateOf(redis, Q, "exp-1")) === "archived", "the archive");
    await waitFor(() => server.running === 0, "the slot to be free");
    expect(handled).toBe(0);
    const task = (await readTask(redis, Q, "exp-1"))!;
    expect(task.msg).toMatchObject({
      retried: 0,
      errorMsg: `task expired: deadline ${deadline.toISOString()} passed before processing`,
      lastFailedAt: BigInt(unixSeconds(clock.now())),
    });
    expect(await redis.zrange(keys.archivedKey(Q), 0, -1, "WITHSCORES")).toEqual([
      "exp-1",
      String(unixSeconds(clock.now())),
    ]);
    expect(
      await redis.exists(keys.retryKey(Q), keys.pendingKey(Q), keys.activeKey(Q), keys.leaseKey(Q)),
    ).toBe(0);
    expect(calls).toHaveLength(1);
    const error = calls[0]!.error;
    expect(error).toBeInstanceOf(TaskExpiredError);
    expect(error.message).toBe(task.msg!.errorMsg);
    expect((error as TaskExpiredError).deadline).toEqual(deadline);
    expect(calls[0]!.info).toEqual({ id: "exp-1", queue: Q, retried: 0, maxRetry: 1 });
    expect(await counters(redis, Q, clock.now())).toEqual({
      processed: "1",
      failed: "1",
      processedToday: "1",
      failedToday: "1",
    });
  });

  it('with onExpired: "delete" is deleted (and its lock released), counted as processed and failed', async () => {
    const clock = wholeSecondClock();
    const deadline = new Date(clock.now() + 30 * MINUTE);
    await enqueueWith(
      clock,
      { type: "email:send", payload: "hi" },
      { taskId: "exp-2", deadline, maxRetry: 1, unique: HOUR },
    );
    const lock = (await readTask(redis, Q, "exp-2"))!.msg!.uniqueKey;
    expect(await redis.get(lock)).toBe("exp-2");
    clock.advance(31 * MINUTE);
    let handled = 0;
    const { calls, errorHandler } = errorHandlerRecorder();
    const { server } = await startServer(
      redis,
      () => {
        handled++;
      },
      { clock, errorHandler, onExpired: "delete" },
    );
    await waitFor(async () => (await redis.get(keys.failedTotalKey(Q))) === "1", "the failed counter");
    await waitFor(() => server.running === 0, "the slot to be free");
    expect(handled).toBe(0);
    expect(await readTask(redis, Q, "exp-2")).toBeNull();
    expect(await redis.exists(lock)).toBe(0);
    expect(
      await redis.exists(keys.archivedKey(Q), keys.retryKey(Q), keys.pendingKey(Q), keys.activeKey(Q)),
    ).toBe(0);
    expect(await counters(redis, Q, clock.now())).toEqual({
      processed: "1",
      failed: "1",
      processedToday: "1",
      failedToday: "1",
    });
    expect(calls.map((c) => c.error)).toEqual([expect.any(TaskExpiredError)]);
  });
});

describe("a failure whose retry would land at or after the deadline", () => {
  it("is archived as expired with the last error; a retry before the deadline is scheduled normally", async () => {
    const clock = wholeSecondClock();
    const t0 = clock.now();
    const soon = new Date(t0 + 10 * SECOND);
    const exact = new Date(t0 + 60 * SECOND);
    const later = new Date(t0 + 10 * MINUTE);
    await enqueueWith(
      clock,
      { type: "smtp", payload: "a" },
      { taskId: "d-soon", deadline: soon, maxRetry: 5 },
    );
    await enqueueWith(
      clock,
      { type: "smtp", payload: "b" },
      { taskId: "d-exact", deadline: exact, maxRetry: 5 },
    );
    await enqueueWith(
      clock,
      { type: "smtp", payload: "c" },
      { taskId: "d-later", deadline: later, maxRetry: 5 },
    );
    const thrown = new Map<string, Error>();
    const { calls, errorHandler } = errorHandlerRecorder();
    const { server } = await startServer(
      redis,
      (_task, ctx) => {
        const error = new Error(`smtp down for ${ctx.id}`);
        thrown.set(ctx.id, error);
        throw error;
      },
      { clock, concurrency: 3, retryDelay: () => 60 * SECOND, errorHandler },
    );
    await waitFor(
      async () =>
        (await stateOf(redis, Q, "d-soon")) === "archived" &&
        (await stateOf(redis, Q, "d-exact")) === "archived" &&
        (await stateOf(redis, Q, "d-later")) === "retry" &&
        server.running === 0,
      "two archives and one retry",
    );
    for (const [id, deadline] of [
      ["d-soon", soon],
      ["d-exact", exact],
    ] as const) {
      const msg = (await readTask(redis, Q, id))!.msg!;
      expect(msg.errorMsg, id).toMatch(/^task expired: deadline /);
      expect(msg.errorMsg, id).toContain(deadline.toISOString());
      expect(msg.errorMsg, id).toContain(`smtp down for ${id}`);
      expect(msg.retried, id).toBe(0);
      // One call for the one failed attempt: the expiry it ends in, caused by the handler's error.
      const mine = calls.filter((c) => c.info.id === id).map((c) => c.error);
      expect(mine, id).toEqual([expect.any(TaskExpiredError)]);
      expect(mine[0]!.cause, id).toBe(thrown.get(id));
    }
    const later_ = (await readTask(redis, Q, "d-later"))!.msg!;
    expect(later_).toMatchObject({ retried: 1, errorMsg: "smtp down for d-later" });
    expect(await redis.zrange(keys.retryKey(Q), 0, -1, "WITHSCORES")).toEqual([
      "d-later",
      String(unixSeconds(t0 + 60 * SECOND)),
    ]);
    expect(calls.filter((c) => c.info.id === "d-later").map((c) => c.error)).toEqual([thrown.get("d-later")]);
    expect(await counters(redis, Q, t0)).toEqual({
      processed: "3",
      failed: "3",
      processedToday: "3",
      failedToday: "3",
    });
  });
});

describe("timeouts", () => {
  it("abort the signal with a TaskAbortedError (timeout); the attempt fails with `context deadline exceeded` and is retried", async () => {
    await enqueueWith(
      undefined,
      { type: "slow", payload: "x" },
      { taskId: "to-1", timeout: SECOND, maxRetry: 3 },
    );
    const reasons: unknown[] = [];
    const { server } = await startServer(
      redis,
      async (_task, ctx) => {
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
        reasons.push(ctx.signal.reason);
        throw ctx.signal.reason;
      },
      { retryDelay: () => HOUR },
    );
    await waitFor(async () => (await stateOf(redis, Q, "to-1")) === "retry", "the retry", {
      timeoutMs: 10_000,
    });
    await waitFor(() => server.running === 0, "the slot to be free");
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(TaskAbortedError);
    expect(reasons[0]).toMatchObject({
      reason: "timeout",
      taskId: "to-1",
      message: "context deadline exceeded",
    });
    expect((await readTask(redis, Q, "to-1"))!.msg).toMatchObject({
      retried: 1,
      errorMsg: "context deadline exceeded",
    });
  });

  it("a deadline reached while running aborts with reason deadline; a retry after it archives the task", async () => {
    const deadline = new Date(Math.ceil(Date.now() / 1000) * 1000 + SECOND);
    await enqueueWith(undefined, { type: "slow", payload: "x" }, { taskId: "dl-1", deadline, maxRetry: 3 });
    const reasons: unknown[] = [];
    const { server } = await startServer(
      redis,
      async (_task, ctx) => {
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
        reasons.push(ctx.signal.reason);
      },
      { retryDelay: () => HOUR },
    );
    await waitFor(async () => (await stateOf(redis, Q, "dl-1")) === "archived", "the archive", {
      timeoutMs: 10_000,
    });
    await waitFor(() => server.running === 0, "the slot to be free");
    expect(reasons).toEqual([expect.any(TaskAbortedError)]);
    expect(reasons[0]).toMatchObject({ reason: "deadline", message: "context deadline exceeded" });
    const msg = (await readTask(redis, Q, "dl-1"))!.msg!;
    expect(msg.errorMsg).toMatch(/^task expired: deadline /);
    expect(msg.errorMsg).toContain(deadline.toISOString());
    expect(msg.errorMsg).toContain("context deadline exceeded");
    expect(msg.retried).toBe(0);
  });

  it("a handler that ignores the signal and never settles still frees its slot for the next task", async () => {
    await enqueueWith(
      undefined,
      { type: "hang", payload: "x" },
      { taskId: "hang-1", timeout: SECOND, maxRetry: 3 },
    );
    await enqueueWith(undefined, { type: "quick", payload: "y" }, { taskId: "quick-1" });
    const order: string[] = [];
    const mux = new ServeMux()
      .handle("hang", () => {
        order.push("hang started");
        return new Promise(() => {});
      })
      .handle("quick", () => {
        order.push("quick started");
      });
    const { server } = await startServer(redis, mux, { concurrency: 1, retryDelay: () => HOUR });
    await waitFor(async () => (await redis.get(keys.processedTotalKey(Q))) === "2", "both attempts to end", {
      timeoutMs: 10_000,
    });
    await waitFor(() => server.running === 0, "the slots to be free");
    expect(order).toEqual(["hang started", "quick started"]);
    expect(await readTask(redis, Q, "quick-1")).toBeNull();
    expect((await readTask(redis, Q, "hang-1"))!.msg).toMatchObject({
      retried: 1,
      errorMsg: "context deadline exceeded",
    });
    expect(await stateOf(redis, Q, "hang-1")).toBe("retry");
  });
});

describe("ctx.deadline", () => {
  it("is min(start + timeout, deadline), start + timeout, the deadline, or start + 30 min by default (wire-format §5.4)", async () => {
    const clock = wholeSecondClock();
    const t0 = clock.now();
    const cases: Array<[string, { timeout?: number; deadline?: Date }, number]> = [
      ["deadline-first", { timeout: 60 * SECOND, deadline: new Date(t0 + 30 * SECOND) }, t0 + 30 * SECOND],
      ["timeout-first", { timeout: 10 * SECOND, deadline: new Date(t0 + HOUR) }, t0 + 10 * SECOND],
      ["timeout-only", { timeout: 45 * SECOND }, t0 + 45 * SECOND],
      ["deadline-only", { deadline: new Date(t0 + 2 * HOUR) }, t0 + 2 * HOUR],
      ["neither", {}, t0 + 30 * MINUTE],
    ];
    for (const [id, options] of cases) {
      await enqueueWith(clock, { type: "probe", payload: id }, { taskId: id, ...options });
    }
    const seen = new Map<string, number>();
    const { server } = await startServer(
      redis,
      (_task, ctx) => {
        seen.set(ctx.id, ctx.deadline.getTime());
      },
      { clock, concurrency: 2 },
    );
    await waitFor(() => seen.size === cases.length && server.running === 0, "every probe");
    expect(Object.fromEntries(seen)).toEqual(Object.fromEntries(cases.map(([id, , at]) => [id, at])));
  });

  it("with both a timeout and a deadline is in whole seconds, as Go's min(now_unix_s + T, D) (wire-format §5.4)", async () => {
    const clock = wholeSecondClock();
    const t0 = clock.now();
    await enqueueWith(
      clock,
      { type: "probe", payload: "x" },
      { taskId: "both", timeout: 10 * SECOND, deadline: new Date(t0 + HOUR) },
    );
    clock.advance(600); // the attempt starts 0.6 s past a whole second
    const seen: number[] = [];
    const { server } = await startServer(
      redis,
      (_task, ctx) => {
        seen.push(ctx.deadline.getTime());
      },
      { clock },
    );
    await waitFor(() => seen.length === 1 && server.running === 0, "the probe");
    expect(seen).toEqual([t0 + 10 * SECOND]);
  });
});
