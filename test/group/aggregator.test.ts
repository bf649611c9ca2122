// The aggregator on a real Redis with a manual clock: the grace, max-delay and max-size rules, paging,
// the aggregated task's options, member locks, bad aggregators (nothing lost, errorHandler told),
// the warning without an aggregator, and the recoverer's share (stale and finished sets).
import { describe, expect, it } from "vitest";
import { AsynqError, TaskIdConflictError, ValidationError } from "../../src/errors.js";
import type { GroupAggregator } from "../../src/server/aggregator.js";
import * as keys from "../../src/wire/keys.js";
import { decodeTaskMessage } from "../../src/wire/proto.js";
import { useRedisFixture } from "../support/fixture.js";
import { waitFor } from "../support/server.js";
import { joinPayloads, payloads, testAggregator, testRecoverer } from "./support.js";

const Q = "default";
const SECOND = 1000;
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

const { redis, url, clock, client } = useRedisFixture({ clock: T0, client: true });

/**
 * Enqueues tasks with payloads `{"n":i}` into a group, at the clock's time, with IDs `<group>-<n>`
 * (zero-padded: tasks of equal score are ordered by ID, so these keep the order of `n`).
 */
async function grouped(group: string, ns: number[], options: { unique?: number } = {}): Promise<string[]> {
  const ids: string[] = [];
  for (const n of ns) {
    const taskId = `${group}-${String(n).padStart(3, "0")}`;
    ids.push((await client.enqueue({ type: "notify", payload: { n } }, { group, taskId, ...options })).id);
  }
  return ids;
}

/** The aggregated tasks in a queue's pending list, oldest first: ID, decoded msg, hash fields. */
async function aggregatedTasks(queue = Q) {
  const ids = (await redis.lrange(keys.pendingKey(queue), 0, -1)).reverse();
  return Promise.all(
    ids.map(async (id) => {
      const fields = await redis.hgetall(keys.taskKey(queue, id));
      const msg = decodeTaskMessage((await redis.hgetBuffer(keys.taskKey(queue, id), "msg"))!);
      return { id, msg, fields, payload: Buffer.from(msg.payload).toString("utf8") };
    }),
  );
}

/** Recording aggregator: joins payloads; `calls` has the payloads of each call. */
function recording(): { aggregate: GroupAggregator; calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    aggregate: (group, tasks) => {
      calls.push(payloads(tasks));
      return joinPayloads(group, tasks);
    },
  };
}

/** Nothing of the group's aggregation is left: no set, no registry, no member hash. */
async function expectNoAggregationLeft(memberIds: readonly string[]): Promise<void> {
  expect(await redis.exists(keys.allAggregationSetsKey(Q))).toBe(0);
  expect(await redis.keys("asynq:{default}:g:*")).toEqual([]);
  for (const id of memberIds) expect(await redis.exists(keys.taskKey(Q, id))).toBe(0);
}

describe("the check rules (wire-format §4.19)", () => {
  it("grace: a group is aggregated once no task joined it for the grace period", async () => {
    const { aggregator } = testAggregator(url, clock, recording().aggregate, { gracePeriod: 60 * SECOND });
    const ids = await grouped("g", [1, 2]);
    clock.advance(30 * SECOND);
    expect(await aggregator.runOnce()).toEqual({ aggregated: 0, failed: 0 });
    clock.advance(20 * SECOND);
    ids.push(...(await grouped("g", [3]))); // joins at +50 s: the grace restarts
    clock.advance(59 * SECOND);
    expect(await aggregator.runOnce()).toEqual({ aggregated: 0, failed: 0 });
    clock.advance(1 * SECOND); // +110 s: 60 s after the newest task
    expect(await aggregator.runOnce()).toEqual({ aggregated: 1, failed: 0 });
    const [task] = await aggregatedTasks();
    expect(task!.payload).toBe('{"n":1}\n{"n":2}\n{"n":3}');
    await expectNoAggregationLeft(ids);
    expect(await redis.exists(keys.allGroupsKey(Q))).toBe(0);
  });

  it("max delay: a group is aggregated once its oldest task waited that long, though tasks keep coming", async () => {
    const { aggregate, calls } = recording();
    const { aggregator } = testAggregator(url, clock, aggregate, {
      gracePeriod: 60 * SECOND,
      maxDelay: 90 * SECOND,
    });
    for (let i = 1; i <= 3; i++) {
      await grouped("g", [i]);
      clock.advance(30 * SECOND);
      // +30, +60: the grace never passes and the oldest has waited less than 90 s.
      if (i < 3) expect(await aggregator.runOnce()).toEqual({ aggregated: 0, failed: 0 });
    }
    // +90 s: the oldest (at +0) has waited 90 s.
    expect(await aggregator.runOnce()).toEqual({ aggregated: 1, failed: 0 });
    expect(calls).toEqual([['{"n":1}', '{"n":2}', '{"n":3}']]);
  });

  it("max size: a full group is aggregated at the next check, oldest first, the rest stays grouped", async () => {
    const { aggregate, calls } = recording();
    const { aggregator } = testAggregator(url, clock, aggregate, { gracePeriod: 60 * SECOND, maxSize: 3 });
    await grouped("g", [1, 2, 3, 4, 5, 6, 7]);
    expect(await aggregator.runOnce()).toEqual({ aggregated: 1, failed: 0 });
    expect(await aggregator.runOnce()).toEqual({ aggregated: 1, failed: 0 });
    // One left: under the max size, within the grace period.
    expect(await aggregator.runOnce()).toEqual({ aggregated: 0, failed: 0 });
    expect(await redis.smembers(keys.allGroupsKey(Q))).toEqual(["g"]);
    expect(await redis.zcard(keys.groupKey(Q, "g"))).toBe(1);
    clock.advance(60 * SECOND);
    expect(await aggregator.runOnce()).toEqual({ aggregated: 1, failed: 0 });
    expect(calls).toEqual([
      ['{"n":1}', '{"n":2}', '{"n":3}'],
      ['{"n":4}', '{"n":5}', '{"n":6}'],
      ['{"n":7}'],
    ]);
    expect((await aggregatedTasks()).map((t) => t.payload)).toEqual([
      '{"n":1}\n{"n":2}\n{"n":3}',
      '{"n":4}\n{"n":5}\n{"n":6}',
      '{"n":7}',
    ]);
    expect(await redis.exists(keys.allGroupsKey(Q))).toBe(0);
  });

  it("reads and deletes a set in pages, keeping the order", async () => {
    const { aggregate, calls } = recording();
    const { aggregator } = testAggregator(url, clock, aggregate, { gracePeriod: SECOND, pageSize: 2 });
    const ids = await grouped("g", [1, 2, 3, 4, 5]);
    clock.advance(SECOND);
    expect(await aggregator.runOnce()).toEqual({ aggregated: 1, failed: 0 });
    expect(calls).toEqual([['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}', '{"n":5}']]);
    await expectNoAggregationLeft(ids);
  });
});

describe("the aggregated task", () => {
  it("has asynq's defaults in the group's queue when the aggregator sets no option", async () => {
    const { aggregator } = testAggregator(url, clock, joinPayloads, { gracePeriod: SECOND });
    await grouped("g", [1]);
    clock.advance(SECOND);
    await aggregator.runOnce();
    const [task] = await aggregatedTasks();
    expect(task!.msg).toMatchObject({
      type: "notify:digest:batch",
      queue: Q,
      retry: 25,
      timeout: 1800n,
      deadline: 0n,
      retention: 0n,
      uniqueKey: "",
      groupKey: "",
    });
    expect(Object.keys(task!.fields).sort()).toEqual(["msg", "pending_since", "state"]);
    expect(task!.fields.state).toBe("pending");
  });

  it("takes the options the aggregator sets: queue, maxRetry, timeout, deadline, retention, taskId, headers", async () => {
    const deadline = T0 + 3600 * SECOND;
    const { aggregator } = testAggregator(
      url,
      clock,
      (group, tasks) => ({
        type: "digest",
        payload: { group, count: tasks.length },
        headers: { from: "aggregator" },
        options: {
          queue: "low",
          maxRetry: 3,
          timeout: 60 * SECOND,
          deadline,
          retention: 3600 * SECOND,
          taskId: `digest-${group}`,
        },
      }),
      { gracePeriod: SECOND },
    );
    await grouped("g", [1, 2]);
    clock.advance(SECOND);
    expect(await aggregator.runOnce()).toEqual({ aggregated: 1, failed: 0 });
    expect(await redis.llen(keys.pendingKey(Q))).toBe(0);
    const [task] = await aggregatedTasks("low");
    expect(task!.id).toBe("digest-g");
    expect(task!.msg).toMatchObject({
      queue: "low",
      retry: 3,
      timeout: 60n,
      deadline: BigInt(deadline / 1000),
      retention: 3600n,
      headers: { from: "aggregator" },
    });
    expect(JSON.parse(task!.payload)).toEqual({ group: "g", count: 2 });
    expect(await redis.sismember(keys.ALL_QUEUES, "low")).toBe(1);
  });

  it("releases the members' unique locks that they still hold (asynq keeps them until their TTL)", async () => {
    const { aggregator } = testAggregator(url, clock, joinPayloads, { gracePeriod: SECOND });
    const [mine] = await grouped("g", [1], { unique: 3600 * SECOND });
    const [other] = await grouped("g", [2], { unique: 3600 * SECOND });
    const lockOf = async (id: string): Promise<string> =>
      decodeTaskMessage((await redis.hgetBuffer(keys.taskKey(Q, id), "msg"))!).uniqueKey;
    const mineLock = await lockOf(mine!);
    const otherLock = await lockOf(other!);
    await redis.set(otherLock, "someone-else"); // taken over meanwhile: not ours to release
    clock.advance(SECOND);
    await aggregator.runOnce();
    expect(await redis.exists(mineLock)).toBe(0);
    expect(await redis.get(otherLock)).toBe("someone-else");
  });
});

describe("a bad aggregator loses nothing: the set is left for reclaim and errorHandler hears of it", () => {
  /** Runs a check with `bad`, then the reclaim after the deadline and a check with a good aggregator. */
  async function expectReclaimedAndAggregatedOnce(
    bad: GroupAggregator,
    check: (error: Error) => void,
    params: { setDeadline?: number } = {},
  ): Promise<void> {
    const first = testAggregator(url, clock, bad, { gracePeriod: SECOND, ...params });
    const ids = await grouped("g", [1, 2, 3]);
    clock.advance(SECOND);
    expect(await first.aggregator.runOnce()).toEqual({ aggregated: 0, failed: 1 });
    expect(first.errors).toHaveLength(1);
    const call = first.errors[0]!;
    check(call.error);
    expect(call.info).toMatchObject({ id: ids[0], queue: Q });
    expect(Buffer.from(call.task.payload).toString()).toBe('{"n":1}');
    expect(first.logs.some((l) => l.level === "error" && l.fields.group === "g")).toBe(true);
    // Nothing written; the members wait in the set, which is still registered.
    expect(await redis.llen(keys.pendingKey(Q))).toBe(0);
    const [setKey] = await redis.zrange(keys.allAggregationSetsKey(Q), 0, -1);
    expect(await redis.zrange(setKey!, 0, -1)).toEqual(ids);
    for (const id of ids) expect(await redis.hget(keys.taskKey(Q, id), "state")).toBe("aggregating");

    // After the deadline the recoverer puts them back, and the group into `groups` (unlike asynq).
    clock.advance(params.setDeadline ?? 120 * SECOND);
    await testRecoverer(first.broker, clock).runOnce();
    expect(await redis.zrange(keys.groupKey(Q, "g"), 0, -1)).toEqual(ids);
    expect(await redis.smembers(keys.allGroupsKey(Q))).toEqual(["g"]);
    const { aggregate, calls } = recording();
    const good = testAggregator(url, clock, aggregate, { gracePeriod: SECOND });
    expect(await good.aggregator.runOnce()).toEqual({ aggregated: 1, failed: 0 });
    expect(calls).toEqual([['{"n":1}', '{"n":2}', '{"n":3}']]);
    await expectNoAggregationLeft(ids);
  }

  it("throws", async () => {
    await expectReclaimedAndAggregatedOnce(
      () => {
        throw new Error("boom");
      },
      (error) => {
        expect(error).toBeInstanceOf(AsynqError);
        expect((error as AsynqError).code).toBe("ERR_AGGREGATION");
        expect(error.message).toContain("boom");
      },
    );
  });

  it("rejects", async () => {
    await expectReclaimedAndAggregatedOnce(
      () => Promise.reject(new Error("async boom")),
      (error) => expect(error.message).toContain("async boom"),
    );
  });

  it.each([
    ["a number", 42],
    ["null", null],
    ["a task without a type", { payload: "x" }],
    ["a task with an unknown field", { type: "t", priority: 1 }],
    ["a unique task", { type: "t", options: { unique: 60_000 } }],
    ["a scheduled task", { type: "t", options: { processIn: 60_000 } }],
    ["a grouped task", { type: "t", options: { group: "again" } }],
  ])("returns %s", async (_what, returned) => {
    await expectReclaimedAndAggregatedOnce(
      () => returned as never,
      (error) => expect(error).toBeInstanceOf(ValidationError),
    );
  });

  it("returns a task whose ID is taken", async () => {
    await client.enqueue({ type: "t" }, { taskId: "taken", queue: "other" });
    await expectReclaimedAndAggregatedOnce(
      () => ({ type: "digest", options: { taskId: "taken", queue: "other" } }),
      (error) => expect(error).toBeInstanceOf(TaskIdConflictError),
    );
  });

  it("never settles: given up at the set's deadline", async () => {
    await expectReclaimedAndAggregatedOnce(
      () => new Promise(() => {}),
      (error) => expect(error.message).toContain("did not settle"),
      { setDeadline: SECOND },
    );
  });

  it("settles after the set was reclaimed: nothing is written, the tasks stay in their group", async () => {
    let release: (task: { type: string }) => void = () => {};
    let called = false;
    const slow = testAggregator(
      url,
      clock,
      () =>
        new Promise((resolve) => {
          called = true;
          release = resolve;
        }),
      { gracePeriod: SECOND },
    );
    const ids = await grouped("g", [1, 2]);
    clock.advance(SECOND);
    const run = slow.aggregator.runOnce();
    await waitFor(() => called, "the aggregator call");
    clock.advance(121 * SECOND);
    await testRecoverer(slow.broker, clock).runOnce();
    release({ type: "late" });
    expect(await run).toEqual({ aggregated: 0, failed: 1 });
    expect(slow.errors[0]!.error.message).toContain("reclaimed");
    expect(await redis.llen(keys.pendingKey(Q))).toBe(0);
    expect(await redis.zrange(keys.groupKey(Q, "g"), 0, -1)).toEqual(ids);
  });
});

describe("the recoverer's share", () => {
  it("finishes deleting a set whose task was written by a worker that died before deleting it", async () => {
    const { broker } = testAggregator(url, clock, undefined);
    const ids = await grouped("g", [1, 2, 3]);
    clock.advance(SECOND);
    const set = await broker.checkGroup({
      queue: Q,
      group: "g",
      maxSize: 0,
      maxDelaySeconds: 0,
      graceSeconds: 1,
      nowMs: clock.now(),
      deadlineSeconds: Math.floor(clock.now() / 1000) + 120,
    });
    const members = await broker.readAggregationSet(Q, set!.setKey, 0, 10);
    const msg = decodeTaskMessage(members[0]!.msg!);
    expect(await broker.finishAggregation(set!, { ...msg, id: "agg", groupKey: "" }, clock.now())).toBe(
      "enqueued",
    );
    // A second write of the same set (a late retry) is refused.
    expect(await broker.finishAggregation(set!, { ...msg, id: "agg2", groupKey: "" }, clock.now())).toBe(
      "lost",
    );
    expect(await redis.zscore(keys.allAggregationSetsKey(Q), set!.setKey)).toBe("inf");
    // Past every deadline: a finished set is never reclaimed, its members are deleted.
    clock.advance(3600 * SECOND);
    await testRecoverer(broker, clock, 2).runOnce();
    await expectNoAggregationLeft(ids);
    expect(await redis.lrange(keys.pendingKey(Q), 0, -1)).toEqual(["agg"]);
    expect(await redis.exists(keys.allGroupsKey(Q))).toBe(0);
  });
});

describe("without an aggregator", () => {
  it("warns once per queue and group, with the queue and group as fields", async () => {
    const { aggregator, logs } = testAggregator(url, clock, undefined, { queues: [Q, "other"] });
    await grouped("g1", [1]);
    await grouped("g2", [2]);
    await client.enqueue({ type: "t" }, { group: "g1", queue: "other" });
    await aggregator.runOnce();
    await grouped("g1", [3]);
    await aggregator.runOnce();
    const warnings = logs.filter((l) => l.level === "warn");
    expect(warnings.map((l) => `${String(l.fields.queue)}/${String(l.fields.group)}`).sort()).toEqual([
      "default/g1",
      "default/g2",
      "other/g1",
    ]);
    expect(warnings[0]!.message).toContain("no groupAggregator");
    expect(warnings[0]!.fields.component).toBe("aggregator");
    expect(await redis.zcard(keys.groupKey(Q, "g1"))).toBe(2);
  });
});
