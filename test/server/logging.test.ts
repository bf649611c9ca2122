// Logs an operator can use (issue 12, item 5): every failed attempt is one warn line at the default
// level, saying which task, which attempt of how many, the error and what happens next, with the
// same facts as fields; a success write whose reply was lost to a dropped connection, but which
// did apply, is not reported as skipped.
import { afterEach, describe, expect, it } from "vitest";
import type { EnqueueOptions } from "../../src/client/options.js";
import { RevokeTask, SkipRetry } from "../../src/errors.js";
import { Inspector } from "../../src/inspector/inspector.js";
import type { Handler } from "../../src/server/mux.js";
import type { Task } from "../../src/task.js";
import * as keys from "../../src/wire/keys.js";
import { killAll, startProxy } from "../support/processes.js";
import { enqueueOnce, useRedisFixture } from "../support/fixture.js";
import { testDb, testRedisUrl } from "../support/redis.js";
import { deferred, startServer, stateOf, waitFor, type LogLine } from "../support/server.js";

const Q = "default";
const HOUR = 3_600_000;
const { redis } = useRedisFixture();
afterEach(async () => {
  await killAll();
});

const enqueue = async (task: Task, options: EnqueueOptions): Promise<string> =>
  (await enqueueOnce(redis, undefined, task, options)).id;

/** The lines about failed (or revoked) attempts of one task. */
function attemptLines(logs: LogLine[], id: string): LogLine[] {
  return logs.filter((l) => /^asynq: task (failed|revoked): /.test(l.message) && l.fields.taskId === id);
}

const failing: Handler = () => {
  throw new Error("mail service answered 503");
};

describe("a failed attempt, at the default log level", () => {
  it("is one warn line: type, ID, queue, attempt n of max, when it is retried, and the error; the same in fields", async () => {
    const id = await enqueue(
      { type: "email:welcome", payload: { userId: 42 } },
      { maxRetry: 3, taskId: "r-1" },
    );
    const { logs } = await startServer(redis, failing, { logLevel: "info", retryDelay: () => 40_000 });

    await waitFor(async () => (await stateOf(redis, Q, id)) === "retry", "the task in retry");
    const lines = attemptLines(logs, id);
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line!.level).toBe("warn");
    expect(line!.message).toBe(
      'asynq: task failed: email:welcome "r-1" in queue "default", attempt 1 of 4; will retry in 40 s: ' +
        "mail service answered 503",
    );
    expect(line!.fields).toMatchObject({
      component: "processor",
      queue: Q,
      taskId: "r-1",
      type: "email:welcome",
      attempt: 1,
      maxAttempts: 4,
      outcome: "retry",
      retryInMs: 40_000,
      error: "mail service answered 503",
    });
    const retryAt = Date.parse(String(line!.fields.retryAt));
    const score = Number(await redis.zscore(keys.retryKey(Q), id)) * 1000;
    expect(Math.abs(retryAt - score)).toBeLessThan(1000); // the ISO time is the retry's time
    expect(line!.fields).not.toHaveProperty("counted");
  });

  it("counts the attempts up to the last one, which says the task was archived because its retries ran out", async () => {
    const id = await enqueue({ type: "report:build" }, { maxRetry: 2, taskId: "x-1" });
    const { logs } = await startServer(redis, failing, { logLevel: "info", retryDelay: () => 0 });

    await waitFor(async () => (await stateOf(redis, Q, id)) === "archived", "the task archived", {
      timeoutMs: 10_000,
    });
    await waitFor(() => attemptLines(logs, id).length === 3, "three failure lines");
    const lines = attemptLines(logs, id);
    expect(lines.map((l) => l.level)).toEqual(["warn", "warn", "warn"]);
    expect(lines.map((l) => [l.fields.attempt, l.fields.maxAttempts, l.fields.outcome])).toEqual([
      [1, 3, "retry"],
      [2, 3, "retry"],
      [3, 3, "archived"],
    ]);
    expect(lines[2]!.message).toContain(
      "attempt 3 of 3; archived (retries exhausted): mail service answered 503",
    );
    expect(lines[2]!.fields).toMatchObject({
      reason: "retries-exhausted",
      error: "mail service answered 503",
    });
  });

  it("says SkipRetry archives the task at once", async () => {
    const id = await enqueue({ type: "email:welcome" }, { maxRetry: 5, taskId: "s-1" });
    const { logs } = await startServer(
      redis,
      () => {
        throw new SkipRetry("no such user");
      },
      { logLevel: "info" },
    );

    await waitFor(async () => (await stateOf(redis, Q, id)) === "archived", "the task archived");
    const [line, ...more] = attemptLines(logs, id);
    expect(more).toEqual([]);
    expect(line!.level).toBe("warn");
    expect(line!.message).toContain("attempt 1 of 6; archived (SkipRetry): no such user");
    expect(line!.fields).toMatchObject({
      outcome: "archived",
      reason: "skip-retry",
      attempt: 1,
      maxAttempts: 6,
    });
  });

  it("says a task whose next retry would come after its deadline expired, and names the deadline", async () => {
    const deadline = new Date(Date.now() + 60_000);
    const id = await enqueue({ type: "sync:pull" }, { maxRetry: 5, deadline, taskId: "e-1" });
    const { logs } = await startServer(redis, failing, { logLevel: "info", retryDelay: () => HOUR });

    await waitFor(async () => (await stateOf(redis, Q, id)) === "archived", "the task archived");
    const [line, ...more] = attemptLines(logs, id);
    expect(more).toEqual([]);
    expect(line!.level).toBe("warn");
    const stored = new Date(Math.floor(deadline.getTime() / 1000) * 1000).toISOString();
    expect(line!.message).toContain(
      `expired: its deadline ${stored} passes before the next retry (in 1 h); archived`,
    );
    expect(line!.fields).toMatchObject({
      outcome: "expired",
      reason: "deadline",
      deadline: stored,
      attempt: 1,
    });
  });

  it("says a task that could not start before its deadline expired (no handler call)", async () => {
    const id = await enqueue({ type: "sync:pull" }, { deadline: new Date(Date.now() + 5000), taskId: "e-2" });
    let calls = 0;
    const { logs } = await startServer(
      redis,
      () => {
        calls++;
      },
      // The server's clock is an hour ahead: the deadline has passed when it dequeues the task.
      { logLevel: "info", clock: { now: () => Date.now() + HOUR } },
    );

    await waitFor(async () => (await stateOf(redis, Q, id)) === "archived", "the task archived");
    expect(calls).toBe(0);
    const lines = logs.filter((l) => l.fields.taskId === id && l.level === "warn");
    expect(lines).toHaveLength(1);
    expect(lines[0]!.message).toMatch(
      /^asynq: task expired: sync:pull "e-2" in queue "default" could not start/,
    );
    expect(lines[0]!.fields).toMatchObject({ outcome: "expired", reason: "deadline", type: "sync:pull" });
  });

  it("says an attempt was canceled or timed out, and what happens next", async () => {
    const started = new Set<string>();
    const waitForAbort: Handler = async (_task, ctx) => {
      started.add(ctx.id);
      await new Promise((_, reject) =>
        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason as Error)),
      );
    };
    const canceled = await enqueue({ type: "video:encode" }, { maxRetry: 3, taskId: "c-1" });
    const timedOut = await enqueue({ type: "video:encode" }, { maxRetry: 3, taskId: "t-1", timeout: 1000 });
    const { logs } = await startServer(redis, waitForAbort, {
      logLevel: "info",
      concurrency: 2,
      retryDelay: () => HOUR,
    });
    await waitFor(() => started.has(canceled), "the task to start");
    // The server subscribes to the cancelation channel while its first tasks start; a cancel published
    // before its SUBSCRIBE is done is not heard (as in asynq), so wait for the subscription.
    await waitFor(
      async () =>
        String(await redis.call("CLIENT", "LIST"))
          .split("\n")
          .some(
            (c) =>
              c.includes("name=asynq-ts:subscriber") &&
              c.includes(` db=${testDb()} `) &&
              / sub=[1-9]/.test(c),
          ),
      "the server's cancelation subscription",
    );
    const inspector = new Inspector(redis);
    await inspector.cancelProcessing(canceled);
    await inspector.close();

    await waitFor(
      async () =>
        (await stateOf(redis, Q, canceled)) === "retry" && (await stateOf(redis, Q, timedOut)) === "retry",
      "both tasks in retry",
    );
    const [c] = attemptLines(logs, canceled);
    expect(c!.level).toBe("warn");
    expect(c!.message).toContain("attempt 1 of 4 (canceled); will retry in 1 h: context canceled");
    expect(c!.fields).toMatchObject({ aborted: "canceled", outcome: "retry", error: "context canceled" });
    const [t] = attemptLines(logs, timedOut);
    expect(t!.message).toContain("attempt 1 of 4 (timed out); will retry in 1 h: context deadline exceeded");
    expect(t!.fields).toMatchObject({ aborted: "timeout", outcome: "retry" });
  });

  it("logs a revoke, and an error isFailure does not count, at info", async () => {
    const revoked = await enqueue({ type: "revoke" }, { taskId: "v-1" });
    const limited = await enqueue({ type: "limited" }, { taskId: "l-1" });
    class RateLimited extends Error {}
    const { logs } = await startServer(
      redis,
      (task) => {
        if (task.type === "revoke") throw new RevokeTask("not wanted any more");
        throw new RateLimited("slow down");
      },
      {
        logLevel: "info",
        concurrency: 2,
        retryDelay: () => HOUR,
        isFailure: (e) => !(e instanceof RateLimited),
      },
    );

    await waitFor(
      async () =>
        (await stateOf(redis, Q, revoked)) === null && (await stateOf(redis, Q, limited)) === "retry",
      "both outcomes written",
    );
    const [v] = attemptLines(logs, revoked);
    expect(v!.level).toBe("info");
    expect(v!.message).toContain('task revoked: revoke "v-1"');
    expect(v!.fields).toMatchObject({ outcome: "revoked", error: "not wanted any more" });
    const [l] = attemptLines(logs, limited);
    expect(l!.level).toBe("info");
    expect(l!.message).toContain("will retry in 1 h (not counted as a failure: isFailure): slow down");
    expect(l!.fields).toMatchObject({ outcome: "retry", counted: false });
  });
});

describe("a success write whose reply is lost to a dropped connection", () => {
  it("had applied, and is not reported as skipped", async () => {
    const url = new URL(testRedisUrl());
    const proxy = await startProxy(Number(url.port || 6379));
    const release = deferred();
    const running = deferred();
    const id = await enqueue({ type: "email:welcome" }, { taskId: "d-1" });
    const { logs } = await startServer(
      `redis://127.0.0.1:${proxy.port}/${testDb()}`,
      async () => {
        running.resolve();
        await release.promise;
      },
      // No heartbeat while the task runs: the next command naming the task is its success write.
      { heartbeatInterval: 60_000 },
    );
    await running.promise;
    proxy.dropReplyTo(id); // the write runs in Redis; its connection breaks before the reply
    release.resolve();

    await waitFor(async () => (await stateOf(redis, Q, id)) === null, "the task deleted");
    const settled = await waitFor(
      () =>
        logs.find((l) => l.fields.taskId === id && ["applied", "skipped"].includes(String(l.fields.outcome))),
      "the lost reply to be settled",
    );
    expect(settled).toMatchObject({ level: "debug", fields: { outcome: "applied", operation: "done" } });
    expect(
      logs.filter((l) => l.level === "warn" || l.level === "error").map((l) => l.message),
    ).not.toContainEqual(expect.stringContaining(`"${id}"`));
    expect(await redis.get(keys.processedTotalKey(Q))).toBe("1"); // written once
  });
});
