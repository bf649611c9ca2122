// The Server end to end on a real Redis: Go's golden outcome dumps k-o replayed with our Client and
// Server, then RevokeTask, isFailure, non-Error throws, unique locks, the error handler and ServeMux's
// not-found error.
import { describe, expect, it } from "vitest";
import type { Client } from "../../src/client/client.js";
import type { EnqueueOptions } from "../../src/client/options.js";
import { RevokeTask, SkipRetry } from "../../src/errors.js";
import { ManualClock, unixSeconds } from "../../src/internal/clock.js";
import type { TaskContext } from "../../src/server/context.js";
import { HandlerNotFoundError, ServeMux, type HandlerTask } from "../../src/server/mux.js";
import * as keys from "../../src/wire/keys.js";
import { parseOption } from "../../src/wire/option-strings.js";
import {
  compareSnapshots,
  dumpDb,
  finalSnapshot,
  formatDifferences,
  loadGoldenScenario,
  substitute,
  type DumpedKey,
  type GoldenScenario,
  type Snapshot,
  type StoredValue,
} from "../support/redis-dump.js";
import { enqueueOnce, useRedisFixture, wholeSecondClock } from "../support/fixture.js";
import { testRedisUrl } from "../support/redis.js";
import {
  counters,
  errorHandlerRecorder,
  forwardToPending,
  readTask,
  startServer,
  stateOf,
  waitFor,
} from "../support/server.js";
import { join } from "node:path";
import { SNAPSHOTS_DIR } from "../support/golden.js";

const Q = "default";
const HOUR = 3_600_000;

const { redis } = useRedisFixture();

const enqueueWith = (clock: ManualClock | undefined, ...args: Parameters<Client["enqueue"]>) =>
  enqueueOnce(redis, clock, ...args);

// ---- Golden dumps k-o, replayed with the Server -------------------------------------------------

const DAILY_KEY = /^asynq:\{[^}]*\}:(?:processed|failed):(\d{4}-\d{2}-\d{2})$/;
const MSG_TIME_FIELDS = ["last_failed_at", "completed_at"] as const;

/** What a handler saw, in the shape of the golden `handler_invoked` events. */
interface Invocation {
  task_id: string;
  task_type: string;
  retry_count: number;
  max_retry: number;
  ctx_deadline_unix: number;
}

/**
 * One golden scenario replayed shifted in time to now. The shift is a whole number of seconds and
 * both our Client and Server read a ManualClock set to the shifted instants of Go's calls, so every
 * stored time is Go's plus the shift, exactly.
 */
class GoldenRun {
  readonly scenario: GoldenScenario;
  readonly shiftSeconds: number;
  readonly clock: ManualClock;
  readonly invocations: Invocation[] = [];

  constructor(file: string) {
    this.scenario = loadGoldenScenario(join(SNAPSHOTS_DIR, file));
    this.shiftSeconds = Math.ceil((Date.now() - this.scenario.ops[0]!.at_unix_ms) / 1000);
    this.clock = new ManualClock(this.at(this.scenario.ops[0]!.at_unix_ms));
  }

  at(goldenMs: number): number {
    return goldenMs + this.shiftSeconds * 1000;
  }

  get goldenInvocations(): Invocation[] {
    return this.scenario.events
      .filter((e) => e.event === "handler_invoked")
      .map((e) => ({
        task_id: e.task_id as string,
        task_type: e.task_type as string,
        retry_count: e.retry_count as number,
        max_retry: e.max_retry as number,
        ctx_deadline_unix: e.ctx_deadline_unix as number,
      }));
  }

  /** Sets the clock to the shifted time of Go's n-th handler call. */
  toHandlerCall(n: number): void {
    const event = this.scenario.events.filter((e) => e.event === "handler_invoked")[n];
    if (event === undefined) throw new Error(`${this.scenario.scenario} has no handler call ${n}`);
    this.clock.set(this.at(event.at_unix_ms as number));
  }

  /** Records a handler call in the golden event shape (the deadline shifted back to Go's time). */
  record(task: HandlerTask, ctx: TaskContext): void {
    this.invocations.push({
      task_id: ctx.id,
      task_type: task.type,
      retry_count: ctx.retryCount,
      max_retry: ctx.maxRetry,
      ctx_deadline_unix: unixSeconds(ctx.deadline.getTime()) - this.shiftSeconds,
    });
  }

  /** Enqueues op 0 (the only enqueue of k-o) with its golden options at its shifted time. */
  async enqueue(): Promise<string> {
    const op = this.scenario.ops[0]!;
    expect(op.api).toBe("Client.Enqueue");
    this.clock.set(this.at(op.at_unix_ms));
    const info = await enqueueWith(
      this.clock,
      { type: op.args.task_type!, payload: op.args.payload ?? "" },
      toOptions(op.args.options ?? []),
    );
    return info.id;
  }

  /** Compares the DB with Go's final snapshot (taken after Server.Shutdown), shifted to our time. */
  async expectFinalSnapshot(): Promise<void> {
    const golden = this.scenario.snapshots[this.scenario.snapshots.length - 1]!;
    expect(finalSnapshot(this.scenario)).toBe(golden); // labelled "final": after Server.Shutdown
    const goldenDay = golden.keys.map((k) => DAILY_KEY.exec(k.key)?.[1]).find((d) => d !== undefined);
    const ourDay = keys.dayString(new Date(this.clock.now()));
    // Our clock runs ahead of Redis's by `lead` s now (the replay is faster than Go was): TTLs set
    // from our clock are that much longer than Go's were when its snapshot was taken.
    const lead = Math.round((this.at(golden.taken_at_unix_ms) - Date.now()) / 1000);
    const renamed = goldenDay === undefined ? golden : substitute(golden, new Map([[goldenDay, ourDay]]));
    const expected = shiftTimes(renamed, this.shiftSeconds, lead);
    const diffs = compareSnapshots(expected, await dumpDb(redis), { toleranceSeconds: 0 });
    expect(formatDifferences(diffs), `${this.scenario.scenario}: ${this.scenario.title}`).toBe("");
  }
}

/** Go option strings (`TaskID("k-1")`, `MaxRetry(3)`, `Retention(1h0m0s)`) as EnqueueOptions. */
function toOptions(options: readonly string[]): EnqueueOptions {
  const out: EnqueueOptions = {};
  for (const s of options) {
    const o = parseOption(s);
    if (o.kind === "TaskID") out.taskId = o.value;
    else if (o.kind === "MaxRetry") out.maxRetry = o.value;
    else if (o.kind === "Retention") out.retention = o.ms;
    else throw new Error(`option ${s} is not used by scenarios k-o`);
  }
  return out;
}

/** The snapshot moved `shift` s later: zset scores and msg times shifted, TTLs `ttlLead` s longer. */
function shiftTimes(s: Snapshot, shift: number, ttlLead: number): Snapshot {
  const shiftStored = (v: StoredValue): StoredValue => {
    if (typeof v === "string" || !("proto" in v)) return v;
    const decoded = { ...v.decoded };
    for (const f of MSG_TIME_FIELDS) {
      const t = decoded[f];
      if (typeof t === "string" && t !== "0") decoded[f] = String(Number(t) + shift);
    }
    return { ...v, decoded };
  };
  const keysOut = s.keys.map((original): DumpedKey => {
    const k =
      original.ttl_approx_seconds === undefined
        ? original
        : { ...original, ttl_approx_seconds: original.ttl_approx_seconds + ttlLead };
    if (k.type === "zset") {
      return { ...k, value: k.value.map(([m, score]): [StoredValue, number] => [m, score + shift]) };
    }
    if (k.type === "hash") {
      return {
        ...k,
        value: Object.fromEntries(Object.entries(k.value).map(([f, v]) => [f, shiftStored(v)])),
      };
    }
    return k;
  });
  return { keys: keysOut };
}

const idle = (run: GoldenRun, server: { running: number }, calls: number) => () =>
  run.invocations.length >= calls && server.running === 0;

describe("golden outcome dumps of Go asynq v0.25.1 (k-o), replayed with Client and Server", () => {
  it("k: success without retention deletes the task and counts it as processed", async () => {
    const run = new GoldenRun("k_processed_plain.json");
    await run.enqueue();
    run.toHandlerCall(0);
    const { server, logs } = await startServer(
      redis,
      (task, ctx) => {
        run.record(task, ctx);
      },
      { clock: run.clock },
    );
    await waitFor(idle(run, server, 1), "k-1 to be processed");
    await server.shutdown();
    expect(run.invocations).toEqual(run.goldenInvocations);
    await run.expectFinalSnapshot();
    expect(logs.filter((l) => l.level === "warn" || l.level === "error")).toEqual([]);
  });

  it("l: a result written with ctx.result.write, then success with Retention(1h)", async () => {
    const run = new GoldenRun("l_processed_retention_result.json");
    await run.enqueue();
    run.toHandlerCall(0);
    const written: number[] = [];
    const { server } = await startServer(
      redis,
      async (task, ctx) => {
        run.record(task, ctx);
        written.push(await ctx.result.write({ status: "ok", sent: 1 }));
      },
      { clock: run.clock },
    );
    await waitFor(idle(run, server, 1), "l-1 to be completed");
    await server.shutdown();
    expect(run.invocations).toEqual(run.goldenInvocations);
    const event = run.scenario.events.find((e) => e.event === "result_written");
    expect(written).toEqual([event?.bytes]);
    await run.expectFinalSnapshot();
  });

  it("m: one failure with a 1 h retry delay puts the task in retry", async () => {
    const run = new GoldenRun("m_failed_once_retry.json");
    const id = await run.enqueue();
    run.toHandlerCall(0);
    const { server } = await startServer(
      redis,
      (task, ctx) => {
        run.record(task, ctx);
        throw new Error("smtp: connection refused");
      },
      { clock: run.clock, retryDelay: () => HOUR },
    );
    await waitFor(idle(run, server, 1), "m-1 to fail once");
    await server.shutdown();
    expect(run.invocations).toEqual(run.goldenInvocations);
    expect(await stateOf(redis, Q, id)).toBe("retry");
    await run.expectFinalSnapshot();
  });

  it("n: MaxRetry(1) and two failures archive the task", async () => {
    const run = new GoldenRun("n_retries_exhausted_archived.json");
    const id = await run.enqueue();
    run.toHandlerCall(0);
    const { server } = await startServer(
      redis,
      (task, ctx) => {
        run.record(task, ctx);
        throw new Error(`smtp: connection refused (attempt ${ctx.retryCount + 1})`);
      },
      { clock: run.clock, retryDelay: () => 0 },
    );
    await waitFor(async () => (await stateOf(redis, Q, id)) === "retry" && server.running === 0, "retry");
    expect(run.invocations).toHaveLength(1);
    // asynq-ts has no forwarder yet: with Go's retry delay of 0 s, Go's forwarder moved the task back
    // to pending within a second. We make the same move by hand (ZREM retry, LPUSH pending, HSET state
    // and pending_since; wire-format §4.16) at the time of Go's second attempt; the running server's wait on
    // the pending list picks it up.
    run.toHandlerCall(1);
    await forwardToPending(redis, Q, id, run.clock.now());
    await waitFor(idle(run, server, 2), "n-1 to fail a second time");
    await server.shutdown();
    expect(run.invocations).toEqual(run.goldenInvocations);
    expect(await stateOf(redis, Q, id)).toBe("archived");
    await run.expectFinalSnapshot();
  });

  it("o: an error wrapping SkipRetry archives on the first attempt", async () => {
    const run = new GoldenRun("o_skip_retry.json");
    const id = await run.enqueue();
    run.toHandlerCall(0);
    const { server } = await startServer(
      redis,
      (task, ctx) => {
        run.record(task, ctx);
        // Go: fmt.Errorf("invalid payload: %w", asynq.SkipRetry)
        const skip = new SkipRetry();
        throw new Error(`invalid payload: ${skip.message}`, { cause: skip });
      },
      { clock: run.clock },
    );
    await waitFor(idle(run, server, 1), "o-1 to be archived");
    await server.shutdown();
    expect(run.invocations).toEqual(run.goldenInvocations);
    expect(await stateOf(redis, Q, id)).toBe("archived");
    await run.expectFinalSnapshot();
  });
});

// ---- Other outcomes -----------------------------------------------------------------------------

describe("outcomes beyond the golden dumps", () => {
  it("RevokeTask deletes the task (even with retention), counts it as processed only, releases its lock", async () => {
    const clock = wholeSecondClock();
    await enqueueWith(
      clock,
      { type: "report:build", payload: "q3" },
      { taskId: "rev-1", unique: HOUR, retention: HOUR, maxRetry: 5 },
    );
    const lock = (await readTask(redis, Q, "rev-1"))!.msg!.uniqueKey;
    expect(await redis.get(lock)).toBe("rev-1");
    const { calls, errorHandler } = errorHandlerRecorder();
    const revoke = new RevokeTask();
    const { server } = await startServer(
      redis,
      () => {
        throw revoke;
      },
      { clock, errorHandler },
    );
    await waitFor(async () => (await redis.exists(keys.processedTotalKey(Q))) === 1, "the revoke");
    await waitFor(() => server.running === 0, "the slot to be free");
    expect(await readTask(redis, Q, "rev-1")).toBeNull();
    expect(await counters(redis, Q, clock.now())).toEqual({
      processed: "1",
      failed: null,
      processedToday: "1",
      failedToday: null,
    });
    expect(await redis.exists(lock)).toBe(0);
    expect(
      await redis.exists(
        keys.activeKey(Q),
        keys.leaseKey(Q),
        keys.completedKey(Q),
        keys.retryKey(Q),
        keys.archivedKey(Q),
      ),
    ).toBe(0);
    // As Go's handleFailedMessage, the error handler hears of the revoke too.
    expect(calls.map((c) => c.error)).toEqual([revoke]);
  });

  it("isFailure returning false retries without counting a retry or any counter", async () => {
    const clock = wholeSecondClock();
    await enqueueWith(clock, { type: "sync:pull", payload: "x" }, { taskId: "nf-1", maxRetry: 3 });
    const thrown = new Error("upstream busy, try later");
    const judged: Error[] = [];
    const { server } = await startServer(
      redis,
      () => {
        throw thrown;
      },
      {
        clock,
        retryDelay: () => HOUR,
        isFailure: (error) => {
          judged.push(error);
          return false;
        },
      },
    );
    await waitFor(async () => (await stateOf(redis, Q, "nf-1")) === "retry", "the retry");
    await waitFor(() => server.running === 0, "the slot to be free");
    expect(judged).toEqual([thrown]);
    const task = (await readTask(redis, Q, "nf-1"))!;
    expect(task.msg).toMatchObject({
      retried: 0,
      errorMsg: "upstream busy, try later",
      lastFailedAt: BigInt(unixSeconds(clock.now())),
    });
    expect(await redis.zscore(keys.retryKey(Q), "nf-1")).toBe(String(unixSeconds(clock.now() + HOUR)));
    expect(await counters(redis, Q, clock.now())).toEqual({
      processed: null,
      failed: null,
      processedToday: null,
      failedToday: null,
    });
  });

  it("an isFailure that throws is logged and the attempt counts as a failure; the task does not stay active", async () => {
    await enqueueWith(undefined, { type: "sync:pull", payload: "x" }, { taskId: "if-throw", maxRetry: 3 });
    const { server, logs } = await startServer(
      redis,
      () => {
        throw new Error("upstream down");
      },
      {
        retryDelay: () => HOUR,
        isFailure: () => {
          throw new Error("isFailure is broken");
        },
      },
    );
    await waitFor(() => server.running === 0 && logs.some((l) => l.level === "error"), "the attempt to end");
    expect(
      logs
        .filter((l) => l.level === "error")
        .map((l) => l.message)
        .join("\n"),
    ).toContain("isFailure is broken");
    // Defined end state: retried as a failure (the default of isFailure), not left in active.
    await waitFor(
      async () => (await stateOf(redis, Q, "if-throw")) !== "active",
      "the task to leave active",
      {
        timeoutMs: 1000,
      },
    );
    expect(await stateOf(redis, Q, "if-throw")).toBe("retry");
    expect((await readTask(redis, Q, "if-throw"))!.msg).toMatchObject({
      retried: 1,
      errorMsg: "upstream down",
    });
    expect(await redis.exists(keys.activeKey(Q), keys.leaseKey(Q))).toBe(0);
  });

  it("an errorHandler that throws or rejects is logged and the outcome is still written", async () => {
    await enqueueWith(undefined, { type: "a", payload: "x" }, { taskId: "eh-throw", maxRetry: 3 });
    await enqueueWith(undefined, { type: "b", payload: "x" }, { taskId: "eh-reject", maxRetry: 0 });
    const { server, logs } = await startServer(
      redis,
      () => {
        throw new Error("handler failed");
      },
      {
        retryDelay: () => HOUR,
        errorHandler: (_error, task) => {
          if (task.type === "a") throw new Error("errorHandler threw");
          return Promise.reject(new Error("errorHandler rejected"));
        },
      },
    );
    await waitFor(
      async () =>
        (await stateOf(redis, Q, "eh-throw")) === "retry" &&
        (await stateOf(redis, Q, "eh-reject")) === "archived" &&
        server.running === 0,
      "both outcomes",
    );
    const errors = logs.filter((l) => l.level === "error").map((l) => l.message);
    expect(errors.some((m) => m.includes("errorHandler threw"))).toBe(true);
    expect(errors.some((m) => m.includes("errorHandler rejected"))).toBe(true);
    expect((await readTask(redis, Q, "eh-throw"))!.msg?.errorMsg).toBe("handler failed");
    expect((await readTask(redis, Q, "eh-reject"))!.msg?.errorMsg).toBe("handler failed");
  });

  it("a handler throwing or rejecting with a non-Error is retried with a readable error_msg; the server goes on", async () => {
    const mux = new ServeMux()
      .handle("throw:string", () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point of the test
        throw "boom";
      })
      .handle("throw:undefined", () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point of the test
        throw undefined;
      })
      .handle("throw:object", () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point of the test
        throw { code: 42, reason: "quota" };
      })
      .handle("throw:circular", () => {
        const o: Record<string, unknown> = {};
        o.self = o;
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point of the test
        throw o;
      })
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the point of the test
      .handle("reject:undefined", () => Promise.reject(undefined))
      .handle("ok", () => {});
    const types = ["throw:string", "throw:undefined", "throw:object", "throw:circular", "reject:undefined"];
    for (const type of types) await enqueueWith(undefined, { type }, { taskId: type, maxRetry: 3 });
    const { calls, errorHandler } = errorHandlerRecorder();
    const { server, logs } = await startServer(redis, mux, { retryDelay: () => HOUR, errorHandler });
    await waitFor(
      async () => (await redis.zcard(keys.retryKey(Q))) === types.length && server.running === 0,
      "every failing task to be in retry",
    );
    const errorMsg: Record<string, string> = {};
    for (const type of types) {
      const task = (await readTask(redis, Q, type))!;
      expect(task.state, type).toBe("retry");
      expect(task.msg?.retried, type).toBe(1);
      errorMsg[type] = task.msg!.errorMsg;
    }
    expect(errorMsg["throw:string"]).toContain("boom");
    expect(errorMsg["throw:undefined"]).toContain("undefined");
    // The rendering of the object is the library's choice; its content must be there.
    expect(errorMsg["throw:object"]).toMatch(/code.*42.*reason.*quota/);
    expect(errorMsg["throw:circular"]).not.toBe("");
    expect(errorMsg["reject:undefined"]).toContain("undefined");
    for (const type of types) expect(errorMsg[type], type).not.toMatch(/^\s*$/);
    expect(calls).toHaveLength(types.length);
    for (const call of calls) expect(call.error).toBeInstanceOf(Error);
    // The server keeps running: a task enqueued afterwards is processed.
    await enqueueWith(undefined, { type: "ok" }, { taskId: "ok-1" });
    await waitFor(async () => (await redis.get(keys.processedTotalKey(Q))) === "6", "ok-1 to be processed");
    expect(await readTask(redis, Q, "ok-1")).toBeNull();
    expect(logs.filter((l) => l.level === "error")).toEqual([]);
  });

  it("a handler throwing null gets an error_msg that names null", async () => {
    await enqueueWith(undefined, { type: "throw:null" }, { taskId: "null-1", maxRetry: 3 });
    const { server } = await startServer(
      redis,
      () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point of the test
        throw null;
      },
      { retryDelay: () => HOUR },
    );
    await waitFor(async () => (await stateOf(redis, Q, "null-1")) === "retry", "the retry");
    await waitFor(() => server.running === 0, "the slot to be free");
    const msg = (await readTask(redis, Q, "null-1"))!.msg!;
    expect(msg.retried).toBe(1);
    expect(msg.errorMsg).toContain("null");
    expect(msg.errorMsg).not.toContain("undefined");
  });

  it("the unique lock is released on success and on archive, and kept on retry", async () => {
    const options = { unique: HOUR } satisfies EnqueueOptions;
    await enqueueWith(undefined, { type: "lock:ok", payload: "1" }, { ...options, taskId: "u-ok" });
    await enqueueWith(
      undefined,
      { type: "lock:archive", payload: "1" },
      { ...options, taskId: "u-arch", maxRetry: 0 },
    );
    await enqueueWith(
      undefined,
      { type: "lock:retry", payload: "1" },
      { ...options, taskId: "u-retry", maxRetry: 3 },
    );
    const lockOf = async (id: string) => (await readTask(redis, Q, id))!.msg!.uniqueKey;
    const locks = {
      ok: await lockOf("u-ok"),
      archive: await lockOf("u-arch"),
      retry: await lockOf("u-retry"),
    };
    expect(new Set(Object.values(locks)).size).toBe(3);
    expect(await redis.mget(locks.ok, locks.archive, locks.retry)).toEqual(["u-ok", "u-arch", "u-retry"]);
    const mux = new ServeMux()
      .handle("lock:ok", () => {})
      .handle("lock:", () => Promise.reject(new Error("nope")));
    const { server } = await startServer(redis, mux, { retryDelay: () => HOUR });
    await waitFor(
      async () =>
        (await stateOf(redis, Q, "u-arch")) === "archived" &&
        (await stateOf(redis, Q, "u-retry")) === "retry" &&
        (await stateOf(redis, Q, "u-ok")) === null &&
        server.running === 0,
      "the three outcomes",
    );
    expect(await redis.exists(locks.ok)).toBe(0);
    // Our deliberate difference from asynq, which keeps the lock of an archived task.
    expect(await redis.exists(locks.archive)).toBe(0);
    expect(await redis.get(locks.retry)).toBe("u-retry");
    expect(await redis.ttl(locks.retry)).toBeGreaterThan(0);
  });

  it("the error handler is called for each failure with the error, the task and {id, queue, retried, maxRetry}", async () => {
    const clock = wholeSecondClock();
    await enqueueWith(
      clock,
      { type: "flaky", payload: { n: 1 }, headers: { trace: "t-1" } },
      { taskId: "eh-1", queue: "critical", maxRetry: 1 },
    );
    const thrown: Error[] = [];
    const { calls, errorHandler } = errorHandlerRecorder();
    const { server } = await startServer(
      redis,
      (_task, ctx) => {
        const error = new Error(`attempt ${ctx.retryCount + 1} failed`);
        thrown.push(error);
        throw error;
      },
      { clock, queues: { critical: 1 }, retryDelay: () => 0, errorHandler },
    );
    await waitFor(async () => (await stateOf(redis, "critical", "eh-1")) === "retry", "the retry");
    await waitFor(() => server.running === 0, "the slot to be free");
    // No forwarder yet: move the task back to pending as Go's forwarder would (wire-format §4.16).
    await forwardToPending(redis, "critical", "eh-1", clock.now());
    await waitFor(async () => (await stateOf(redis, "critical", "eh-1")) === "archived", "the archive");
    await waitFor(() => server.running === 0, "the slot to be free");
    expect(thrown).toHaveLength(2);
    const task: HandlerTask = {
      type: "flaky",
      payload: new Uint8Array(Buffer.from('{"n":1}')),
      headers: { trace: "t-1" },
    };
    expect(calls).toHaveLength(2);
    expect(calls[0]!.error).toBe(thrown[0]);
    expect(calls[1]!.error).toBe(thrown[1]);
    expect(calls.map((c) => ({ ...c.task, payload: new Uint8Array(c.task.payload) }))).toEqual([task, task]);
    expect(calls.map((c) => c.info)).toEqual([
      { id: "eh-1", queue: "critical", retried: 0, maxRetry: 1 },
      { id: "eh-1", queue: "critical", retried: 1, maxRetry: 1 },
    ]);
    expect((await readTask(redis, "critical", "eh-1"))!.msg?.errorMsg).toBe("attempt 2 failed");
  });

  it('a type the ServeMux does not know fails with `handler not found for task "x"` in error_msg', async () => {
    await enqueueWith(undefined, { type: "x" }, { taskId: "nf-x", maxRetry: 2 });
    const { calls, errorHandler } = errorHandlerRecorder();
    const mux = new ServeMux().handle("email:", () => {});
    const { server } = await startServer(redis, mux, { retryDelay: () => HOUR, errorHandler });
    await waitFor(async () => (await stateOf(redis, Q, "nf-x")) === "retry", "the retry");
    await waitFor(() => server.running === 0, "the slot to be free");
    const task = (await readTask(redis, Q, "nf-x"))!;
    expect(task.msg?.errorMsg).toBe('handler not found for task "x"');
    expect(task.msg?.retried).toBe(1);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.error).toBeInstanceOf(HandlerNotFoundError);
  });

  it("a Server on a URL serves tasks enqueued by a Client on another connection", async () => {
    const { server } = await startServer(testRedisUrl(), (task) => {
      expect(Buffer.from(task.payload).toString()).toBe("hello");
    });
    await enqueueWith(undefined, { type: "greet", payload: "hello" }, { taskId: "url-1" });
    await waitFor(async () => (await redis.get(keys.processedTotalKey(Q))) === "1", "url-1 to be processed");
    await waitFor(() => server.running === 0, "the slot to be free");
    expect(await readTask(redis, Q, "url-1")).toBeNull();
    expect(await redis.get(keys.failedTotalKey(Q))).toBeNull();
  });
});
