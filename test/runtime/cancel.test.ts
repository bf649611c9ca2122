// Cancelation end to end (wire-format §4.26): Inspector.cancelProcessing publishes the ID on asynq:cancel,
// the server running the task aborts its signal (TaskAbortedError, reason "canceled"), and the attempt
// goes down the normal failure path: retried with error_msg "context canceled", as Go's golden dump u.
// Unknown IDs are ignored, the return value counts the servers that heard the request, and the
// subscription survives the loss of its connection.
import type { Redis } from "ioredis";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import { Inspector } from "../../src/inspector/inspector.js";
import { TaskAbortedError } from "../../src/server/context.js";
import type { Handler } from "../../src/server/mux.js";
import * as keys from "../../src/wire/keys.js";
import { decodeTaskMessage, encodeTaskMessage } from "../../src/wire/proto.js";
import {
  compareSnapshots,
  dumpDb,
  finalSnapshot,
  formatDifferences,
  loadGoldenScenario,
  substitute,
  type DumpedKey,
  type Snapshot,
  type StoredValue,
} from "../support/redis-dump.js";
import { freshRedis, testDb, testRedisUrl } from "../support/redis.js";
import { sleep } from "../support/server-helpers.js";
import { counters, deferred, readTask, startServer, stateOf, waitFor } from "../support/server.js";
import { snapshotPath } from "../support/golden.js";

const GOLDEN_U = snapshotPath("u_cancel_processing");
const Q = "default";
const HOUR = 3_600_000;

let redis: Redis;
beforeAll(async () => {
  redis = await freshRedis();
});
beforeEach(async () => {
  await redis.flushdb();
});

const inspectors = new Set<Inspector>();
function inspector(): Inspector {
  const i = new Inspector(testRedisUrl());
  inspectors.add(i);
  return i;
}
afterEach(async () => {
  const all = [...inspectors];
  inspectors.clear();
  await Promise.all(all.map((i) => i.close()));
});

async function enqueue(...args: Parameters<Client["enqueue"]>) {
  const client = new Client(redis);
  try {
    return await client.enqueue(...args);
  } finally {
    await client.close();
  }
}

/** One line of CLIENT LIST as fields. */
type ClientLine = Record<string, string>;

/** The subscriber connections of servers on this worker's DB (other test files share the Redis). */
async function ourSubscribers(): Promise<ClientLine[]> {
  const list = String(await redis.client("LIST"));
  return list
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) =>
      Object.fromEntries(
        line
          .trim()
          .split(" ")
          .map((kv) => kv.split("=", 2) as [string, string]),
      ),
    )
    .filter((c) => c.name === "asynq-ts:subscriber" && c.db === String(testDb()));
}

/** Our subscribers that are subscribed to a channel now (`sub` counts their channels). */
async function subscribedIds(): Promise<string[]> {
  return (await ourSubscribers()).filter((c) => Number(c.sub) >= 1).map((c) => c.id!);
}

/** PUBSUB NUMSUB asynq:cancel: subscribers on the whole Redis (every DB shares pub/sub). */
async function numsub(): Promise<number> {
  const reply = (await redis.call("PUBSUB", "NUMSUB", keys.CANCEL_CHANNEL)) as [string, number];
  return Number(reply[1]);
}

/** What a handler saw: its start, and how its signal was aborted. */
interface Seen {
  startedAt: number;
  retryCount: number;
  maxRetry: number;
  deadline: Date;
  abortedAt?: number;
  reason?: unknown;
}

/**
 * A handler that holds each task until its signal is aborted (then fails with the signal's reason,
 * as a Go handler returns ctx.Err()) or until `release(id)` is called (then succeeds).
 */
function holdingHandler(): {
  handler: Handler;
  seen: Map<string, Seen>;
  started: (id: string) => Promise<void>;
  release: (id: string) => void;
} {
  const seen = new Map<string, Seen>();
  const startedBy = new Map<string, ReturnType<typeof deferred<void>>>();
  const releases = new Map<string, () => void>();
  const startedOf = (id: string) => {
    let d = startedBy.get(id);
    if (d === undefined) startedBy.set(id, (d = deferred<void>()));
    return d;
  };
  const handler: Handler = async (_task, ctx) => {
    const s: Seen = {
      startedAt: Date.now(),
      retryCount: ctx.retryCount,
      maxRetry: ctx.maxRetry,
      deadline: ctx.deadline,
    };
    seen.set(ctx.id, s);
    startedOf(ctx.id).resolve();
    await new Promise<void>((resolve, reject) => {
      releases.set(ctx.id, resolve);
      ctx.signal.addEventListener(
        "abort",
        () => {
          s.abortedAt = Date.now();
          s.reason = ctx.signal.reason;
          reject(ctx.signal.reason as Error);
        },
        { once: true },
      );
    });
  };
  return {
    handler,
    seen,
    started: (id) => startedOf(id).promise,
    release: (id) => releases.get(id)?.(),
  };
}

/** A copy of `s` with retry scores and msg `last_failed_at` moved `shift` seconds later. */
function shiftTimes(s: Snapshot, shift: number): Snapshot {
  const shiftStored = (v: StoredValue): StoredValue => {
    if (typeof v === "string" || !("proto" in v)) return v;
    const t = v.decoded.last_failed_at;
    if (typeof t !== "string" || t === "0") return v;
    return { ...v, decoded: { ...v.decoded, last_failed_at: String(Number(t) + shift) } };
  };
  return {
    keys: s.keys.map((k): DumpedKey => {
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
    }),
  };
}

describe("Inspector.cancelProcessing and the server's subscriber (wire-format §4.26)", () => {
  it("aborts the running task's signal (reason canceled); the attempt fails with 'context canceled' and is retried, as Go's dump u", async () => {
    const scenario = loadGoldenScenario(GOLDEN_U);
    const enqueueOp = scenario.ops[0]!;
    expect(enqueueOp.args.options).toEqual(['TaskID("u-1")']);
    await enqueue(
      { type: enqueueOp.args.task_type!, payload: JSON.parse(enqueueOp.args.payload!) as object },
      { taskId: "u-1" },
    );
    const h = holdingHandler();
    const { server, logs } = await startServer(redis, h.handler, { concurrency: 1, retryDelay: () => HOUR });
    await h.started("u-1");
    await waitFor(async () => (await subscribedIds()).length === 1, "the server's subscription");
    expect(await stateOf(redis, Q, "u-1")).toBe("active");

    const before = Date.now();
    const heard = await inspector().cancelProcessing("u-1");
    expect(heard).toBeGreaterThanOrEqual(1); // our server, plus those of test files running alongside
    await waitFor(async () => (await stateOf(redis, Q, "u-1")) === "retry", "u-1 to be retried");
    const seen = h.seen.get("u-1")!;
    // The handler saw what Go's did (handler_invoked / handler_ctx_done events).
    const invoked = scenario.events.find((e) => e.event === "handler_invoked")!;
    expect({ retry_count: seen.retryCount, max_retry: seen.maxRetry }).toEqual({
      retry_count: invoked.retry_count,
      max_retry: invoked.max_retry,
    });
    expect(seen.deadline.getTime() - seen.startedAt).toBeCloseTo(1800_000, -2);
    expect(seen.reason).toBeInstanceOf(TaskAbortedError);
    expect(seen.reason).toMatchObject({ reason: "canceled", taskId: "u-1" });
    const ctxDone = scenario.events.find((e) => e.event === "handler_ctx_done")!;
    expect((seen.reason as Error).message).toBe(ctxDone.ctx_err);
    expect(seen.abortedAt! - before).toBeLessThan(2000);
    expect(logs).toContainEqual(
      expect.objectContaining({ level: "info", message: 'asynq: task "u-1" canceled' }),
    );

    const task = (await readTask(redis, Q, "u-1"))!;
    expect(task.msg).toMatchObject({ retried: 1, errorMsg: "context canceled" });
    expect(await counters(redis, Q, Date.now())).toMatchObject({
      processed: "1",
      failed: "1",
      processedToday: "1",
      failedToday: "1",
    });
    const retryScore = Number(await redis.zscore(keys.retryKey(Q), "u-1"));
    expect(retryScore - Number(task.msg!.lastFailedAt)).toBe(3600);

    await server.shutdown();
    // Go's final snapshot (after Server.Shutdown), moved to our day and our failure time.
    const golden = finalSnapshot(scenario);
    const goldenMsg = golden.keys.find((k) => k.key === "asynq:{default}:t:u-1");
    if (
      goldenMsg?.type !== "hash" ||
      typeof goldenMsg.value.msg !== "object" ||
      !("proto" in goldenMsg.value.msg)
    )
      throw new Error("dump u has no task hash with a msg");
    const goldenFailedAt = Number(goldenMsg.value.msg.decoded.last_failed_at);
    const ourFailedAt = Number(task.msg!.lastFailedAt);
    const goldenDay = keys.dayString(new Date(goldenFailedAt * 1000));
    const ourDay = keys.dayString(new Date(ourFailedAt * 1000));
    const expected = shiftTimes(
      substitute(golden, new Map([[goldenDay, ourDay]])),
      ourFailedAt - goldenFailedAt,
    );
    const diffs = compareSnapshots(expected, await dumpDb(redis));
    expect(formatDifferences(diffs)).toBe("");
    // The message bytes are Go's with only last_failed_at changed.
    const goldenBytes = decodeTaskMessage(Buffer.from(goldenMsg.value.msg.hex, "hex"));
    const want = encodeTaskMessage({ ...goldenBytes, lastFailedAt: BigInt(ourFailedAt) });
    const got = (await redis.hgetBuffer(keys.taskKey(Q, "u-1"), "msg"))!;
    expect(got.toString("hex")).toBe(Buffer.from(want).toString("hex"));
  });

  it("ignores unknown IDs and other servers' tasks, and returns the number of servers that heard the request", async () => {
    const h = holdingHandler();
    await startServer(redis, h.handler, { concurrency: 1 });
    await startServer(redis, h.handler, { concurrency: 1 });
    await enqueue({ type: "hold", payload: "a" }, { taskId: "a-1" });
    await enqueue({ type: "hold", payload: "b" }, { taskId: "b-1" });
    await Promise.all([h.started("a-1"), h.started("b-1")]);
    await waitFor(async () => (await subscribedIds()).length === 2, "both servers' subscriptions");

    // The count covers every subscriber of the Redis (pub/sub ignores DBs): compare it with NUMSUB
    // read around the call, retried until no other test file's server came or went in between.
    const ins = inspector();
    let counted: { heard: number; subscribers: number } | undefined;
    for (let i = 0; i < 50 && counted === undefined; i++) {
      const subscribers = await numsub();
      const heard = await ins.cancelProcessing(`unknown-${i}`);
      if ((await numsub()) === subscribers) counted = { heard, subscribers };
    }
    expect(counted).toBeDefined();
    expect(counted!.heard).toBe(counted!.subscribers);
    expect(counted!.heard).toBeGreaterThanOrEqual(2);

    await sleep(300); // let the messages arrive: nothing happens
    for (const id of ["a-1", "b-1"]) {
      expect(h.seen.get(id)!.reason).toBeUndefined();
      expect(await stateOf(redis, Q, id)).toBe("active");
    }

    // Canceling a-1 reaches both servers; only the one running it aborts it.
    expect(await ins.cancelProcessing("a-1")).toBeGreaterThanOrEqual(2);
    await waitFor(async () => (await stateOf(redis, Q, "a-1")) === "retry", "a-1 to be retried");
    expect(h.seen.get("a-1")!.reason).toMatchObject({ reason: "canceled" });
    expect(h.seen.get("b-1")!.reason).toBeUndefined();
    expect(await stateOf(redis, Q, "b-1")).toBe("active");
    h.release("b-1");
    await waitFor(async () => (await redis.exists(keys.taskKey(Q, "b-1"))) === 0, "b-1 to succeed");
    expect(await counters(redis, Q, Date.now())).toMatchObject({ processed: "2", failed: "1" });
  });

  it("is subscribed once start() resolves: a cancelation sent at once is heard", async () => {
    for (let round = 0; round < 3; round++) {
      const { server } = await startServer(testRedisUrl(), () => Promise.resolve());
      // No wait: start() resolved after Redis acknowledged the SUBSCRIBE.
      expect(await subscribedIds()).toHaveLength(1);
      await server.shutdown();
      await waitFor(async () => (await subscribedIds()).length === 0, "the subscription closed");
    }
  });

  it("re-subscribes after its connection is killed: a later cancel still aborts the task", async () => {
    const h = holdingHandler();
    const { logs } = await startServer(redis, h.handler, { concurrency: 1 });
    await waitFor(async () => (await subscribedIds()).length === 1, "the server's subscription");
    const [first] = await subscribedIds();

    // Kill only our server's subscriber connection (other test files share this Redis).
    expect(await redis.client("KILL", "ID", first!)).toBe(1);
    await waitFor(async () => {
      const ids = await subscribedIds();
      return ids.length === 1 && ids[0] !== first;
    }, "a new subscription on a new connection");
    const subscribers = await numsub();
    expect(subscribers).toBeGreaterThanOrEqual(1);

    await enqueue({ type: "hold", payload: "c" }, { taskId: "c-1" });
    await h.started("c-1");
    expect(await inspector().cancelProcessing("c-1")).toBeGreaterThanOrEqual(1);
    await waitFor(
      async () => (await stateOf(redis, Q, "c-1")) === "retry",
      "c-1 to be retried after the reconnect",
    );
    expect(h.seen.get("c-1")!.reason).toBeInstanceOf(TaskAbortedError);
    expect(h.seen.get("c-1")!.reason).toMatchObject({ reason: "canceled" });
    expect((await readTask(redis, Q, "c-1"))!.msg).toMatchObject({
      retried: 1,
      errorMsg: "context canceled",
    });
    expect(logs).toContainEqual(
      expect.objectContaining({ level: "info", message: 'asynq: task "c-1" canceled' }),
    );
  });
});
