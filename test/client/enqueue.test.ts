// Client.enqueue against a real Redis: routing (pending / scheduled / group), defaults, uniqueness
// locks, ID conflicts and payload encodings, checked key by key (wire-format §1, §3, §4.1-§4.7, §5.13).
import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { REGISTRATION_REFRESH_MS } from "../../src/broker/enqueue/enqueue.js";
import { Client } from "../../src/client/client.js";
import { AsynqError, BrokerError, DuplicateTaskError, TaskIdConflictError } from "../../src/errors.js";
import { ManualClock, unixNanos } from "../../src/internal/clock.js";
import type { Task, TaskInfo } from "../../src/task.js";
import type { TaskMessage } from "../../src/wire/messages.js";
import { decodeTaskMessage } from "../../src/wire/proto.js";
import { freshRedis, testRedisUrl } from "../support/redis.js";

/** A fixed "now" with a sub-second part (and a sub-millisecond one) to catch rounding mistakes. */
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0) + 250.5;
const NOW_S = Math.floor(NOW / 1000);
const MD5_EMPTY = "d41d8cd98f00b204e9800998ecf8427e";
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let redis: Redis;
let clock: ManualClock;
let client: Client;

beforeAll(async () => {
  redis = await freshRedis();
  clock = new ManualClock(NOW);
  client = new Client(testRedisUrl(), { clock });
});

afterAll(async () => {
  await client.close();
  redis.disconnect();
});

beforeEach(async () => {
  await redis.flushdb();
  clock.set(NOW);
});

const md5 = (bytes: Uint8Array | string): string => createHash("md5").update(bytes).digest("hex");

interface StoredTask {
  /** Field names of the hash, sorted. */
  fields: string[];
  state: string;
  msg: TaskMessage;
  raw: Record<string, Buffer>;
}

async function stored(queue: string, id: string): Promise<StoredTask> {
  const raw = await redis.hgetallBuffer(`asynq:{${queue}}:t:${id}`);
  expect(raw.msg, `task hash asynq:{${queue}}:t:${id} should exist`).toBeDefined();
  return {
    fields: Object.keys(raw).sort(),
    state: raw.state!.toString("utf8"),
    msg: decodeTaskMessage(raw.msg!),
    raw,
  };
}

async function allKeys(): Promise<string[]> {
  return (await redis.keys("*")).sort();
}

/** Every key with its serialized value and whether it has a TTL: equal snapshots = nothing written. */
async function snapshot(): Promise<Array<[string, string, boolean]>> {
  const out: Array<[string, string, boolean]> = [];
  for (const key of await allKeys()) {
    const dump = await redis.dumpBuffer(key);
    out.push([key, dump === null ? "" : dump.toString("hex"), (await redis.pttl(key)) > 0]);
  }
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe("defaults and the pending route", () => {
  it("writes a plain task to pending with asynq's defaults", async () => {
    const info = await client.enqueue({ type: "email:deliver", payload: { user_id: 42 } });

    expect(info.id).toMatch(UUID_V4);
    expect(info).toMatchObject({
      queue: "default",
      type: "email:deliver",
      state: "pending",
      maxRetry: 25,
      retried: 0,
      timeout: 1_800_000,
      deadline: null,
      group: "",
      retention: 0,
      lastError: "",
      lastFailedAt: null,
      completedAt: null,
      result: null,
      headers: {},
    });
    expect(info.nextProcessAt).toEqual(new Date(NOW_S * 1000));
    expect(Buffer.from(info.payload).toString()).toBe('{"user_id":42}');

    const t = await stored("default", info.id);
    expect(t.fields).toEqual(["msg", "pending_since", "state"]);
    expect(t.state).toBe("pending");
    expect(t.raw.pending_since!.toString()).toBe(unixNanos(NOW));
    expect(t.raw.pending_since!.toString()).toBe("1893499200250500000");
    expect(t.msg).toMatchObject({
      type: "email:deliver",
      id: info.id,
      queue: "default",
      retry: 25,
      retried: 0,
      errorMsg: "",
      timeout: 1800n,
      deadline: 0n,
      uniqueKey: "",
      retention: 0n,
      groupKey: "",
      headers: {},
    });
    expect(Buffer.from(t.msg.payload).toString()).toBe('{"user_id":42}');

    expect(await redis.lrange("asynq:{default}:pending", 0, -1)).toEqual([info.id]);
    expect(await redis.smembers("asynq:queues")).toEqual(["default"]);
    expect(await allKeys()).toEqual([
      "asynq:queues",
      "asynq:{default}:pending",
      `asynq:{default}:t:${info.id}`,
    ]);
  });

  it("pushes new tasks at the head of the pending list (FIFO from the tail)", async () => {
    const a = await client.enqueue({ type: "t" }, { taskId: "a" });
    const b = await client.enqueue({ type: "t" }, { taskId: "b" });
    expect(await redis.lrange("asynq:{default}:pending", 0, -1)).toEqual([b.id, a.id]);
  });

  it("stores a deadline without the default timeout (timeout 0)", async () => {
    const deadline = new Date(NOW + 90_500);
    const info = await client.enqueue({ type: "t" }, { deadline });
    const { msg } = await stored("default", info.id);
    expect(msg.timeout).toBe(0n);
    expect(msg.deadline).toBe(BigInt(Math.floor((NOW + 90_500) / 1000)));
    expect(info.timeout).toBe(0);
    expect(info.deadline).toEqual(new Date(Math.floor((NOW + 90_500) / 1000) * 1000));
  });

  it("accepts a deadline given as ms since the epoch", async () => {
    const info = await client.enqueue({ type: "t" }, { deadline: NOW + 10_000 });
    expect((await stored("default", info.id)).msg.deadline).toBe(BigInt(Math.floor((NOW + 10_000) / 1000)));
  });

  it("truncates the timeout to whole seconds (1500 ms -> 1 s)", async () => {
    const info = await client.enqueue({ type: "t" }, { timeout: 1500 });
    expect((await stored("default", info.id)).msg.timeout).toBe(1n);
    expect(info.timeout).toBe(1000);
  });

  it("keeps both timeout and deadline when both are given", async () => {
    const info = await client.enqueue({ type: "t" }, { timeout: 60_000, deadline: NOW + 3_600_000 });
    const { msg } = await stored("default", info.id);
    expect(msg.timeout).toBe(60n);
    expect(msg.deadline).toBe(BigInt(Math.floor((NOW + 3_600_000) / 1000)));
  });

  it("stores maxRetry, retention (whole seconds) and the queue", async () => {
    const info = await client.enqueue({ type: "t" }, { queue: "critical", maxRetry: 0, retention: 60_900 });
    const t = await stored("critical", info.id);
    expect(t.msg.retry).toBe(0);
    expect(t.msg.retention).toBe(60n);
    expect(t.msg.queue).toBe("critical");
    expect(info.retention).toBe(60_000);
    expect(await redis.lrange("asynq:{critical}:pending", 0, -1)).toEqual([info.id]);
    expect(await redis.exists("asynq:{default}:pending")).toBe(0);
  });

  it("uses the given taskId", async () => {
    const info = await client.enqueue({ type: "t" }, { taskId: "order:42{x}" });
    expect(info.id).toBe("order:42{x}");
    expect((await stored("default", "order:42{x}")).msg.id).toBe("order:42{x}");
  });

  it("registers every queue it writes to in asynq:queues, at once on the first enqueue into it", async () => {
    await client.enqueue({ type: "t" }, { queue: "critical" });
    await client.enqueue({ type: "t" }, { queue: "low", processIn: 60_000 });
    await client.enqueue({ type: "t" }, { queue: "batchy", group: "g" });
    await client.enqueue({ type: "t" });
    expect((await redis.smembers("asynq:queues")).sort()).toEqual(["batchy", "critical", "default", "low"]);
  });
});

describe("enqueues made in the same tick", () => {
  it("are written in call order, each with its own pending_since, and each settles on its own", async () => {
    await redis.set("asynq:{broken}:pending", "not a list");
    await client.enqueue({ type: "seed" }, { taskId: "taken" });
    const calls = [
      client.enqueue({ type: "t" }, { taskId: "first" }),
      client.enqueue({ type: "t", payload: "u" }, { unique: 60_000, taskId: "u-1" }),
    ];
    clock.advance(1.25);
    calls.push(
      client.enqueue({ type: "t", payload: "u" }, { unique: 60_000, taskId: "u-2" }), // duplicate
      client.enqueue({ type: "t" }, { taskId: "taken" }), // conflict
      client.enqueue({ type: "t" }, { queue: "broken" }), // WRONGTYPE
      client.enqueue({ type: "t" }, { queue: "other", taskId: "elsewhere" }),
      client.enqueue({ type: "t" }, { taskId: "last" }),
    );
    const settled = await Promise.allSettled(calls);
    expect(settled.map((r) => r.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "rejected",
      "rejected",
      "rejected",
      "fulfilled",
      "fulfilled",
    ]);
    const reason = (i: number): unknown => (settled[i] as PromiseRejectedResult).reason;
    expect(reason(2)).toBeInstanceOf(DuplicateTaskError);
    expect(reason(3)).toBeInstanceOf(TaskIdConflictError);
    expect(reason(4)).toBeInstanceOf(BrokerError);
    expect((reason(4) as Error).message).toMatch(/WRONGTYPE/);

    expect(await redis.lrange("asynq:{default}:pending", 0, -1)).toEqual(["last", "u-1", "first", "taken"]);
    expect(await redis.hget("asynq:{default}:t:first", "pending_since")).toBe(unixNanos(NOW));
    expect(await redis.hget("asynq:{default}:t:u-1", "pending_since")).toBe(unixNanos(NOW));
    expect(await redis.hget("asynq:{default}:t:last", "pending_since")).toBe(unixNanos(NOW + 1.25));
    expect(await redis.lrange("asynq:{other}:pending", 0, -1)).toEqual(["elsewhere"]);
    expect(await redis.exists("asynq:{default}:t:u-2")).toBe(0);
  });
});

// Registration (docs/compatibility.md E3): SADD before the first enqueue into a queue, then at most
// every REGISTRATION_REFRESH_MS of the client's clock, after a reconnection, and whenever an enqueue
// creates the queue's list or zset. Each test uses a client of its own (the cache is per client).
describe("queue registration", () => {
  let own: Client | undefined;
  afterEach(async () => {
    await own?.close();
    own = undefined;
  });

  it("is not repeated on every enqueue, but again after REGISTRATION_REFRESH_MS of the client's clock", async () => {
    own = new Client(testRedisUrl(), { clock });
    // The first enqueue created the list: the second registers again (it may have been emptied).
    await own.enqueue({ type: "t" }, { queue: "critical" });
    await own.enqueue({ type: "t" }, { queue: "critical" });
    await redis.srem("asynq:queues", "critical");
    // The queue's list exists: the registration is trusted for now.
    await own.enqueue({ type: "t" }, { queue: "critical" });
    clock.advance(REGISTRATION_REFRESH_MS - 1);
    await own.enqueueBatch([{ type: "t", options: { queue: "critical" } }]);
    expect(await redis.sismember("asynq:queues", "critical")).toBe(0);

    clock.advance(1);
    await own.enqueue({ type: "t" }, { queue: "critical" });
    expect(await redis.sismember("asynq:queues", "critical")).toBe(1);
    // Batches too.
    await redis.srem("asynq:queues", "critical");
    clock.advance(REGISTRATION_REFRESH_MS);
    await own.enqueueBatch([{ type: "t", options: { queue: "critical" } }]);
    expect(await redis.sismember("asynq:queues", "critical")).toBe(1);
    // A clock that went back is not trusted either.
    await redis.srem("asynq:queues", "critical");
    clock.set(NOW);
    await own.enqueue({ type: "t" }, { queue: "critical" });
    expect(await redis.sismember("asynq:queues", "critical")).toBe(1);
    expect(await redis.llen("asynq:{critical}:pending")).toBe(7);
  });

  it("is sent again at once when an enqueue creates the queue's list or zset (flushed or removed queue)", async () => {
    own = new Client(testRedisUrl(), { clock });
    for (const options of [
      { queue: "q" },
      { queue: "q", processIn: 60_000 },
      { queue: "q", group: "g" },
      { queue: "q", unique: 60_000 },
    ]) {
      await own.enqueue({ type: "t" }, options);
      expect(await redis.smembers("asynq:queues"), JSON.stringify(options)).toEqual(["q"]);
      await redis.flushdb();
      await own.enqueue({ type: "t" }, options);
      expect(await redis.smembers("asynq:queues"), JSON.stringify(options)).toEqual(["q"]);
      await redis.flushdb();
      const [result] = await own.enqueueBatch([{ type: "t", options }]);
      expect(result?.ok).toBe(true);
      expect(await redis.smembers("asynq:queues"), JSON.stringify(options)).toEqual(["q"]);
      await redis.flushdb();
    }
  });

  it("is sent again after the connection was re-established", async () => {
    const connection = new Redis(testRedisUrl());
    try {
      own = new Client(connection, { clock });
      await own.enqueue({ type: "t" }, { queue: "q" });
      await own.enqueue({ type: "t" }, { queue: "q" });
      await redis.srem("asynq:queues", "q");
      await own.enqueue({ type: "t" }, { queue: "q" });
      expect(await redis.sismember("asynq:queues", "q")).toBe(0);

      const ready = new Promise((resolve) => connection.once("ready", resolve));
      connection.disconnect(true);
      await ready;
      await own.enqueue({ type: "t" }, { queue: "q" });
      expect(await redis.sismember("asynq:queues", "q")).toBe(1);
    } finally {
      await own?.close();
      own = undefined;
      connection.disconnect();
    }
  });

  it("is sent with the first enqueue into a queue even when that enqueue is refused as a duplicate", async () => {
    await client.enqueue({ type: "t" }, { queue: "q1", unique: 60_000 });
    await redis.srem("asynq:queues", "q1");
    own = new Client(testRedisUrl(), { clock });
    await expect(own.enqueue({ type: "t" }, { queue: "q1", unique: 60_000 })).rejects.toBeInstanceOf(
      DuplicateTaskError,
    );
    expect(await redis.sismember("asynq:queues", "q1")).toBe(1);
  });
});

describe("the scheduled route", () => {
  it("schedules a task for processIn later, scored by its process-at second", async () => {
    const info = await client.enqueue({ type: "t" }, { processIn: 60_000 });
    const score = Math.floor((NOW + 60_000) / 1000);
    expect(info.state).toBe("scheduled");
    expect(info.nextProcessAt).toEqual(new Date(score * 1000));

    const t = await stored("default", info.id);
    expect(t.fields).toEqual(["msg", "state"]);
    expect(t.state).toBe("scheduled");
    expect(await redis.zrange("asynq:{default}:scheduled", 0, -1, "WITHSCORES")).toEqual([
      info.id,
      String(score),
    ]);
    expect(await redis.exists("asynq:{default}:pending")).toBe(0);
    expect(await redis.smembers("asynq:queues")).toEqual(["default"]);
  });

  it("schedules a task for a future processAt (Date or ms), truncating the score to seconds", async () => {
    const at = NOW + 3_600_999;
    const a = await client.enqueue({ type: "t" }, { processAt: new Date(at) });
    const b = await client.enqueue({ type: "t" }, { processAt: at });
    expect(await redis.zscore("asynq:{default}:scheduled", a.id)).toBe(String(Math.floor(at / 1000)));
    expect(await redis.zscore("asynq:{default}:scheduled", b.id)).toBe(String(Math.floor(at / 1000)));
  });

  it("sends a past processAt, a processAt equal to now and processIn 0 to pending", async () => {
    const past = await client.enqueue({ type: "t" }, { processAt: new Date(NOW - 3_600_000) });
    const equal = await client.enqueue({ type: "t" }, { processAt: NOW });
    const zero = await client.enqueue({ type: "t" }, { processIn: 0 });
    for (const info of [past, equal, zero]) {
      expect(info.state).toBe("pending");
      expect((await stored("default", info.id)).state).toBe("pending");
    }
    expect(await redis.llen("asynq:{default}:pending")).toBe(3);
    expect(await redis.exists("asynq:{default}:scheduled")).toBe(0);
  });

  it("schedules even a sub-second processIn (strictly after now)", async () => {
    const info = await client.enqueue({ type: "t" }, { processIn: 1 });
    expect(info.state).toBe("scheduled");
    expect(await redis.zscore("asynq:{default}:scheduled", info.id)).toBe(
      String(Math.floor((NOW + 1) / 1000)),
    );
  });
});

describe("the group route", () => {
  it("adds a grouped task to g:<group> and the groups set, with a group hash field", async () => {
    const info = await client.enqueue({ type: "t" }, { queue: "q", group: "daily" });
    expect(info.state).toBe("aggregating");
    expect(info.group).toBe("daily");
    expect(info.nextProcessAt).toBeNull();

    const t = await stored("q", info.id);
    expect(t.fields).toEqual(["group", "msg", "state"]);
    expect(t.state).toBe("aggregating");
    expect(t.raw.group!.toString()).toBe("daily");
    expect(t.msg.groupKey).toBe("daily");
    expect(await redis.zrange("asynq:{q}:g:daily", 0, -1, "WITHSCORES")).toEqual([info.id, String(NOW_S)]);
    expect(await redis.smembers("asynq:{q}:groups")).toEqual(["daily"]);
    expect(await redis.exists("asynq:{q}:pending")).toBe(0);
  });

  it("keeps the groups set to one entry per group", async () => {
    await client.enqueue({ type: "t" }, { group: "a" });
    await client.enqueue({ type: "t" }, { group: "a" });
    await client.enqueue({ type: "t" }, { group: "b" });
    expect((await redis.smembers("asynq:{default}:groups")).sort()).toEqual(["a", "b"]);
    expect(await redis.zcard("asynq:{default}:g:a")).toBe(2);
  });

  it("schedules a grouped task with processIn, without the group hash field (asynq quirk §9.1)", async () => {
    const info = await client.enqueue({ type: "t" }, { group: "daily", processIn: 30_000 });
    expect(info.state).toBe("scheduled");
    const t = await stored("default", info.id);
    expect(t.fields).toEqual(["msg", "state"]);
    expect(t.state).toBe("scheduled");
    expect(t.msg.groupKey).toBe("daily");
    expect(await redis.zscore("asynq:{default}:scheduled", info.id)).toBe(
      String(Math.floor((NOW + 30_000) / 1000)),
    );
    expect(await redis.exists("asynq:{default}:g:daily")).toBe(0);
    expect(await redis.exists("asynq:{default}:groups")).toBe(0);
  });

  it("adds a grouped task with a past processAt to its group", async () => {
    const info = await client.enqueue({ type: "t" }, { group: "g", processAt: NOW - 1000 });
    expect(info.state).toBe("aggregating");
    expect(await redis.zscore("asynq:{default}:g:g", info.id)).toBe(String(NOW_S));
  });
});

describe("uniqueness", () => {
  it("takes the lock asynq:{q}:unique:<type>:<md5> holding the task ID, with the unique TTL", async () => {
    const info = await client.enqueue(
      { type: "email:deliver", payload: { user_id: 42 } },
      { queue: "critical", unique: 3_600_000 },
    );
    // The example of wire-format §1.5.
    const lock = "asynq:{critical}:unique:email:deliver:1181f89307fa271072c095747d5813cc";
    expect(await redis.get(lock)).toBe(info.id);
    const ttl = await redis.ttl(lock);
    expect(ttl).toBeGreaterThanOrEqual(3599);
    expect(ttl).toBeLessThanOrEqual(3600);

    const t = await stored("critical", info.id);
    expect(t.fields).toEqual(["msg", "pending_since", "state", "unique_key"]);
    expect(t.raw.unique_key!.toString()).toBe(lock);
    expect(t.msg.uniqueKey).toBe(lock);
    expect(await redis.lrange("asynq:{critical}:pending", 0, -1)).toEqual([info.id]);
  });

  it("truncates the lock TTL to whole seconds (1999 ms -> 1 s)", async () => {
    await client.enqueue({ type: "t", payload: "p" }, { unique: 1999 });
    expect(await redis.ttl(`asynq:{default}:unique:t:${md5("p")}`)).toBe(1);
  });

  it("refuses a duplicate with DuplicateTaskError and writes nothing", async () => {
    const first = await client.enqueue(
      { type: "email:deliver", payload: { user_id: 42 } },
      { unique: 60_000 },
    );
    const before = await snapshot();

    const error = await rejection(
      client.enqueue(
        { type: "email:deliver", payload: { user_id: 42 } },
        { unique: 120_000, taskId: "other", maxRetry: 1 },
      ),
    );
    expect(error).toBeInstanceOf(DuplicateTaskError);
    expect(error).toBeInstanceOf(AsynqError);
    const dup = error as DuplicateTaskError;
    expect(dup.code).toBe("ERR_DUPLICATE_TASK");
    expect(dup.message).toBe("task already exists");
    expect(dup.queue).toBe("default");
    expect(dup.uniqueKey).toBe(`asynq:{default}:unique:email:deliver:${md5('{"user_id":42}')}`);
    expect(dup.op).toBe("client.enqueue");

    expect(await snapshot()).toEqual(before);
    expect(await redis.get(dup.uniqueKey)).toBe(first.id);
    expect(await redis.exists("asynq:{default}:t:other")).toBe(0);
  });

  it("refuses a duplicate whatever route it would take (scheduled, group)", async () => {
    await client.enqueue({ type: "t", payload: "x" }, { unique: 60_000 });
    const before = await snapshot();
    await expect(
      client.enqueue({ type: "t", payload: "x" }, { unique: 60_000, processIn: 5000 }),
    ).rejects.toThrow(DuplicateTaskError);
    await expect(client.enqueue({ type: "t", payload: "x" }, { unique: 60_000, group: "g" })).rejects.toThrow(
      DuplicateTaskError,
    );
    expect(await snapshot()).toEqual(before);
  });

  it("scopes uniqueness to (queue, type, payload)", async () => {
    await client.enqueue({ type: "t", payload: "x" }, { unique: 60_000 });
    await client.enqueue({ type: "t", payload: "y" }, { unique: 60_000 });
    await client.enqueue({ type: "u", payload: "x" }, { unique: 60_000 });
    await client.enqueue({ type: "t", payload: "x" }, { unique: 60_000, queue: "other" });
    // Without `unique` no lock is checked at all.
    await client.enqueue({ type: "t", payload: "x" });
    expect(await redis.llen("asynq:{default}:pending")).toBe(4);
    expect(await redis.llen("asynq:{other}:pending")).toBe(1);
  });

  it("locks a scheduled unique task for process-at + unique - now", async () => {
    const info = await client.enqueue({ type: "t", payload: "s" }, { processIn: 60_000, unique: 3_600_000 });
    const lock = `asynq:{default}:unique:t:${md5("s")}`;
    expect(await redis.get(lock)).toBe(info.id);
    const ttl = await redis.ttl(lock);
    expect(ttl).toBeGreaterThanOrEqual(3659);
    expect(ttl).toBeLessThanOrEqual(3660);

    const t = await stored("default", info.id);
    expect(t.fields).toEqual(["msg", "state", "unique_key"]);
    expect(t.state).toBe("scheduled");
    expect(t.raw.unique_key!.toString()).toBe(lock);
  });

  it("computes the scheduled lock TTL from exact instants, truncated once (Go: int(ttl.Seconds()))", async () => {
    // now = …00.2505, process-at = now + 10.7 s, unique 5 s -> 15.7 s -> 15
    await client.enqueue({ type: "t", payload: "f" }, { processAt: NOW + 10_700, unique: 5_000 });
    expect(await redis.ttl(`asynq:{default}:unique:t:${md5("f")}`)).toBe(15);
  });

  it("adds a unique grouped task with the lock and a unique_key hash field (our deliberate difference)", async () => {
    const info = await client.enqueue({ type: "t", payload: "g" }, { group: "grp", unique: 60_000 });
    const lock = `asynq:{default}:unique:t:${md5("g")}`;
    expect(await redis.get(lock)).toBe(info.id);
    const ttl = await redis.ttl(lock);
    expect(ttl).toBeGreaterThanOrEqual(59);
    expect(ttl).toBeLessThanOrEqual(60);

    const t = await stored("default", info.id);
    expect(t.fields).toEqual(["group", "msg", "state", "unique_key"]);
    expect(t.raw.unique_key!.toString()).toBe(lock);
    expect(t.msg.uniqueKey).toBe(lock);
    expect(await redis.zscore("asynq:{default}:g:grp", info.id)).toBe(String(NOW_S));
    expect(await redis.smembers("asynq:{default}:groups")).toEqual(["grp"]);
  });
});

describe("task ID conflicts", () => {
  it("refuses an existing task ID with TaskIdConflictError and writes nothing", async () => {
    await client.enqueue({ type: "first", payload: "1" }, { taskId: "t-1" });
    const before = await snapshot();

    const error = await rejection(client.enqueue({ type: "second", payload: "2" }, { taskId: "t-1" }));
    expect(error).toBeInstanceOf(TaskIdConflictError);
    expect(error).toBeInstanceOf(AsynqError);
    const conflict = error as TaskIdConflictError;
    expect(conflict.code).toBe("ERR_TASK_ID_CONFLICT");
    expect(conflict.message).toBe("task ID conflicts with another task");
    expect(conflict.queue).toBe("default");
    expect(conflict.taskId).toBe("t-1");

    expect(await snapshot()).toEqual(before);
    expect((await stored("default", "t-1")).msg.type).toBe("first");
  });

  it("refuses an existing task ID on the scheduled and group routes too", async () => {
    await client.enqueue({ type: "t" }, { taskId: "t-1" });
    const before = await snapshot();
    await expect(client.enqueue({ type: "t" }, { taskId: "t-1", processIn: 10_000 })).rejects.toThrow(
      TaskIdConflictError,
    );
    await expect(client.enqueue({ type: "t" }, { taskId: "t-1", group: "g" })).rejects.toThrow(
      TaskIdConflictError,
    );
    expect(await snapshot()).toEqual(before);
  });

  it("conflicts with any existing hash, whatever its state (e.g. a completed task)", async () => {
    await redis.hset("asynq:{default}:t:done", "msg", "x", "state", "completed");
    await expect(client.enqueue({ type: "t" }, { taskId: "done" })).rejects.toThrow(TaskIdConflictError);
  });

  it("allows the same task ID in another queue", async () => {
    await client.enqueue({ type: "t" }, { taskId: "t-1", queue: "a" });
    const info = await client.enqueue({ type: "t" }, { taskId: "t-1", queue: "b" });
    expect(info.queue).toBe("b");
    expect(await redis.exists("asynq:{a}:t:t-1", "asynq:{b}:t:t-1")).toBe(2);
  });

  // Deliberate difference from Go (§4.3 step 2, §9.3): asynq leaks the lock until its TTL runs out.
  it.each([
    { route: "pending", options: {} },
    { route: "scheduled", options: { processIn: 60_000 } },
    { route: "group", options: { group: "g" } },
  ])(
    "releases the lock it just took when a unique $route enqueue meets an ID conflict",
    async ({ options }) => {
      await client.enqueue({ type: "other" }, { taskId: "t-1" });
      const before = await snapshot();
      await expect(
        client.enqueue({ type: "t", payload: "u" }, { ...options, taskId: "t-1", unique: 60_000 }),
      ).rejects.toThrow(TaskIdConflictError);
      expect(await redis.exists(`asynq:{default}:unique:t:${md5("u")}`)).toBe(0);
      expect(await snapshot()).toEqual(before);
    },
  );

  it("leaves a lock held by another task untouched when a unique enqueue with a taken ID is refused", async () => {
    const holder = await client.enqueue({ type: "t", payload: "u" }, { unique: 60_000, taskId: "holder" });
    await client.enqueue({ type: "other" }, { taskId: "t-1" });
    const lock = `asynq:{default}:unique:t:${md5("u")}`;
    const before = await snapshot();
    // The lock is checked first: the answer is "duplicate", and the lock still belongs to its holder.
    await expect(
      client.enqueue({ type: "t", payload: "u" }, { unique: 60_000, taskId: "t-1" }),
    ).rejects.toThrow(DuplicateTaskError);
    expect(await redis.get(lock)).toBe(holder.id);
    expect(await redis.ttl(lock)).toBeGreaterThan(0);
    expect(await snapshot()).toEqual(before);
  });

  it("lets a unique task be enqueued again right after its lock was released by a conflict", async () => {
    await client.enqueue({ type: "other" }, { taskId: "t-1" });
    await expect(
      client.enqueue({ type: "t", payload: "u" }, { unique: 60_000, taskId: "t-1" }),
    ).rejects.toThrow(TaskIdConflictError);
    const info = await client.enqueue({ type: "t", payload: "u" }, { unique: 60_000, taskId: "t-2" });
    expect(await redis.get(`asynq:{default}:unique:t:${md5("u")}`)).toBe(info.id);
  });
});

describe("Redis errors", () => {
  it("turns an error raised inside the script into a BrokerError", async () => {
    await redis.set("asynq:{broken}:pending", "not a list");
    const error = await rejection(client.enqueue({ type: "t" }, { queue: "broken" }));
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toBeInstanceOf(AsynqError);
    const b = error as BrokerError;
    expect(b.code).toBe("ERR_BROKER");
    expect(b.message).toMatch(/WRONGTYPE/);
    expect(b.cause).toBeInstanceOf(Error);
    // The same client keeps working for other queues.
    await expect(client.enqueue({ type: "t" })).resolves.toMatchObject({ state: "pending" });
  });
});

describe("payloads", () => {
  const lockOf = (type: string, checksum: string): string => `asynq:{default}:unique:${type}:${checksum}`;

  async function payloadOf(info: TaskInfo): Promise<Buffer> {
    return Buffer.from((await stored(info.queue, info.id)).msg.payload);
  }

  it("stores a Uint8Array as it is (any bytes)", async () => {
    const bytes = Uint8Array.from([0, 255, 1, 128, 0xc3, 0x28]);
    const info = await client.enqueue({ type: "bin", payload: bytes }, { unique: 60_000 });
    expect(await payloadOf(info)).toEqual(Buffer.from(bytes));
    expect(Buffer.from(info.payload)).toEqual(Buffer.from(bytes));
    expect(await redis.get(lockOf("bin", md5(bytes)))).toBe(info.id);
  });

  it("stores only the viewed bytes of a Uint8Array that is a view into a larger buffer", async () => {
    const view = Uint8Array.from([9, 9, 1, 2, 3, 9]).subarray(2, 5);
    const info = await client.enqueue({ type: "view", payload: view }, { unique: 60_000 });
    expect(await payloadOf(info)).toEqual(Buffer.from([1, 2, 3]));
    expect(await redis.get(lockOf("view", md5(Uint8Array.from([1, 2, 3]))))).toBe(info.id);
  });

  it("stores a Buffer and an ArrayBuffer as their bytes", async () => {
    const a = await client.enqueue({ type: "t", payload: Buffer.from([1, 2, 3]) });
    const b = await client.enqueue({ type: "t", payload: Uint8Array.from([4, 5]).buffer });
    expect(await payloadOf(a)).toEqual(Buffer.from([1, 2, 3]));
    expect(await payloadOf(b)).toEqual(Buffer.from([4, 5]));
  });

  it("stores a string as UTF-8", async () => {
    const text = "héllo ✓ 🎉";
    const info = await client.enqueue({ type: "s", payload: text }, { unique: 60_000 });
    expect(await payloadOf(info)).toEqual(Buffer.from(text, "utf8"));
    expect(await redis.get(lockOf("s", md5(Buffer.from(text, "utf8"))))).toBe(info.id);
  });

  it("stores objects, arrays, numbers, booleans and null as JSON bytes", async () => {
    const cases: Array<[unknown, string]> = [
      [
        { user_id: 42, tags: ["a"], nested: { ok: true } },
        '{"user_id":42,"tags":["a"],"nested":{"ok":true}}',
      ],
      [[1, "two", null], '[1,"two",null]'],
      [42, "42"],
      [true, "true"],
      [null, "null"],
      [{ when: new Date(Date.UTC(2030, 0, 1)) }, '{"when":"2030-01-01T00:00:00.000Z"}'],
    ];
    for (const [payload, json] of cases) {
      const info = await client.enqueue({ type: "j", payload } as Task);
      expect((await payloadOf(info)).toString("utf8"), json).toBe(json);
    }
  });

  it("stores no payload as an empty msg payload, with a unique key ending in ':'", async () => {
    const info = await client.enqueue({ type: "none" }, { unique: 60_000 });
    expect(info.payload).toHaveLength(0);
    expect(await payloadOf(info)).toHaveLength(0);
    const { msg } = await stored("default", info.id);
    expect(msg.uniqueKey).toBe("asynq:{default}:unique:none:");
    expect(await redis.get("asynq:{default}:unique:none:")).toBe(info.id);
  });

  it("hashes an empty string payload as MD5 of '' (d41d8…)", async () => {
    const info = await client.enqueue({ type: "empty", payload: "" }, { unique: 60_000 });
    expect(md5("")).toBe(MD5_EMPTY);
    expect((await stored("default", info.id)).msg.uniqueKey).toBe(lockOf("empty", MD5_EMPTY));
    expect(await redis.get(lockOf("empty", MD5_EMPTY))).toBe(info.id);
    // A zero-length byte array is the same payload; no payload at all is a different one.
    await expect(
      client.enqueue({ type: "empty", payload: new Uint8Array(0) }, { unique: 60_000 }),
    ).rejects.toThrow(DuplicateTaskError);
    await expect(client.enqueue({ type: "empty" }, { unique: 60_000 })).resolves.toMatchObject({
      state: "pending",
    });
  });
});

describe("headers and task-embedded options", () => {
  it("stores the task's headers merged with the call's headers, the call winning", async () => {
    const info = await client.enqueue(
      { type: "t", headers: { a: "1", b: "2" } },
      { headers: { b: "3", c: "✓", "": "empty key" } },
    );
    const expected = { a: "1", b: "3", c: "✓", "": "empty key" };
    expect((await stored("default", info.id)).msg.headers).toEqual(expected);
    expect(info.headers).toEqual(expected);
  });

  it("keeps a header whose name is __proto__", async () => {
    const headers = JSON.parse('{"__proto__":"p","a":"1"}') as Record<string, string>;
    expect(Object.keys(headers)).toEqual(["__proto__", "a"]);
    const info = await client.enqueue({ type: "t" }, { headers });
    const written = (await stored("default", info.id)).msg.headers;
    expect(Object.keys(written).sort()).toEqual(["__proto__", "a"]);
    expect(Object.getOwnPropertyDescriptor(written, "__proto__")?.value).toBe("p");
  });

  it("stores headers of a scheduled and of a grouped task", async () => {
    const s = await client.enqueue({ type: "t", headers: { k: "s" } }, { processIn: 5000 });
    const g = await client.enqueue({ type: "t" }, { group: "g", headers: { k: "g" } });
    expect((await stored("default", s.id)).msg.headers).toEqual({ k: "s" });
    expect((await stored("default", g.id)).msg.headers).toEqual({ k: "g" });
  });

  it("applies the task's own options, each overridden by the call's option of the same name", async () => {
    const task: Task = {
      type: "t",
      options: { queue: "low", maxRetry: 3, timeout: 5_000, taskId: "embedded", retention: 10_000 },
    };
    const info = await client.enqueue(task, { queue: "high", taskId: "from-call" });
    expect(info).toMatchObject({
      queue: "high",
      id: "from-call",
      maxRetry: 3,
      timeout: 5_000,
      retention: 10_000,
    });
    const { msg } = await stored("high", "from-call");
    expect(msg).toMatchObject({ queue: "high", id: "from-call", retry: 3, timeout: 5n, retention: 10n });
    expect(await redis.smembers("asynq:queues")).toEqual(["high"]);
    expect(await redis.exists("asynq:{low}:t:embedded", "asynq:{low}:pending")).toBe(0);
  });

  it("applies the task's own options alone when the call gives none", async () => {
    const info = await client.enqueue({ type: "t", options: { queue: "low", group: "g", unique: 60_000 } });
    expect(info.state).toBe("aggregating");
    expect(await redis.zcard("asynq:{low}:g:g")).toBe(1);
    expect(await redis.exists("asynq:{low}:unique:t:")).toBe(1);
  });

  it("ignores call options explicitly set to undefined", async () => {
    const info = await client.enqueue(
      { type: "t", options: { queue: "low", maxRetry: 2 } },
      { queue: undefined },
    );
    expect(info.queue).toBe("low");
    expect((await stored("low", info.id)).msg.retry).toBe(2);
  });

  it("lets a call's processIn replace a task's processIn (no processAt/processIn clash)", async () => {
    const info = await client.enqueue({ type: "t", options: { processIn: 60_000 } }, { processIn: 0 });
    expect(info.state).toBe("pending");
  });

  it("returns a TaskInfo that matches what was stored", async () => {
    const info = await client.enqueue(
      { type: "t", payload: [1], headers: { h: "v" } },
      {
        queue: "q",
        maxRetry: 7,
        timeout: 9_000,
        deadline: NOW + 100_000,
        retention: 3_000,
        processIn: 2_000,
      },
    );
    const t = await stored("q", info.id);
    expect(info).toMatchObject({
      id: t.msg.id,
      queue: t.msg.queue,
      type: t.msg.type,
      state: t.state,
      maxRetry: t.msg.retry,
      timeout: Number(t.msg.timeout) * 1000,
      deadline: new Date(Number(t.msg.deadline) * 1000),
      retention: Number(t.msg.retention) * 1000,
      headers: t.msg.headers,
    });
    expect(Buffer.from(info.payload)).toEqual(Buffer.from(t.msg.payload));
    const score = await redis.zscore("asynq:{q}:scheduled", info.id);
    expect(info.nextProcessAt).toEqual(new Date(Number(score) * 1000));
  });
});
