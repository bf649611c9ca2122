// Go's group aggregation scenarios (v_, w_, x_) replayed by our aggregator and recoverer on the
// state Go's client wrote: the same aggregation sets, scores, deletions and aggregated task messages,
// with the clock set to Go's times; and v_'s grouped tasks written by our Client as Go's client wrote
// them (what a Go aggregator reads). Our documented differences (docs/compatibility.md G1 to G4): a
// member's unique lock is released with its set, and a reclaimed group goes back into `groups`.
import { describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import { ManualClock, unixNanos } from "../../src/internal/clock.js";
import type { Broker } from "../../src/broker/ports.js";
import * as keys from "../../src/wire/keys.js";
import { decodeTaskMessage } from "../../src/wire/proto.js";
import { useRedisFixture } from "../support/fixture.js";
import { snapshotPath } from "../support/golden.js";
import {
  compareSnapshots,
  dumpDb,
  formatDifferences,
  loadGoldenScenario,
  substitute,
  type DumpedKey,
  type GoldenScenario,
  type Snapshot,
  type StoredValue,
} from "../support/redis-dump.js";
import { restoreSnapshot } from "../support/redis-restore.js";

import { joinPayloads, payloads, testAggregator, testRecoverer } from "./support.js";

const Q = "default";
/** The unique lock of v_'s member v-u. */
const V_LOCK = "asynq:{default}:unique:notify:digest:3d9f815a89c4671767a1b78eca5ade8b";
const { redis, url } = useRedisFixture();

function scenario(name: string): GoldenScenario {
  return loadGoldenScenario(snapshotPath(name));
}

function snapshot(s: GoldenScenario, label: string): Snapshot & { taken_at_unix_ms: number } {
  const found = s.snapshots.find((x) => x.label === label);
  if (found === undefined) throw new Error(`${s.scenario}: no snapshot "${label}"`);
  return found;
}

/** Go's server and workers keys: written by Go's heartbeat, not by what is replayed here. */
const isServerKey = (k: DumpedKey): boolean => /^asynq:(servers|workers)\b/.test(k.key);

/** The snapshot without Go's server keys, with `extra` keys added and `drop` keys removed. */
function withoutServers(s: Snapshot, change: { extra?: DumpedKey[]; drop?: string[] } = {}): Snapshot {
  const kept = s.keys.filter((k) => !isServerKey(k) && !(change.drop ?? []).includes(k.key));
  kept.push(...(change.extra ?? []));
  kept.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  return { keys: kept };
}

function expectMatch(expected: Snapshot, actual: Snapshot): void {
  expect(formatDifferences(compareSnapshots(expected, actual))).toBe("");
}

/** Our aggregation set keys, by group. */
async function ourSets(): Promise<Map<string, string>> {
  const members = await redis.zrange(keys.allAggregationSetsKey(Q), 0, -1);
  return new Map(members.map((k) => [k.split(":").at(-2)!, k]));
}

/** Go's aggregation set keys (from a snapshot), by group. */
function goSets(s: Snapshot): Map<string, string> {
  const registry = s.keys.find((k) => k.key === keys.allAggregationSetsKey(Q));
  if (registry?.type !== "zset") return new Map();
  const text = (m: StoredValue): string => (typeof m === "string" ? m : m.hex);
  return new Map(registry.value.map(([m]) => [text(m).split(":").at(-2)!, text(m)]));
}

/** Replacements of Go's set keys by ours, group by group. */
async function setReplacements(s: Snapshot): Promise<Map<string, string>> {
  const ours = await ourSets();
  return new Map([...goSets(s)].map(([g, key]) => [key, ours.get(g)!]));
}

/** The IDs in our pending list, by the payload of their task. */
async function pendingByPayload(): Promise<Map<string, string>> {
  const ids = await redis.lrange(keys.pendingKey(Q), 0, -1);
  const out = new Map<string, string>();
  for (const id of ids) {
    const msg = await redis.hgetBuffer(keys.taskKey(Q, id), "msg");
    out.set(Buffer.from(decodeTaskMessage(msg!).payload).toString("utf8"), id);
  }
  return out;
}

/** Replacements of Go's aggregated task IDs (in `s`) by ours, matched by payload. */
async function taskReplacements(s: Snapshot): Promise<Map<string, string>> {
  const ours = await pendingByPayload();
  const out = new Map<string, string>();
  for (const k of s.keys) {
    if (k.type !== "hash" || !k.key.startsWith(keys.taskKeyPrefix(Q))) continue;
    const msg = k.value.msg;
    if (msg === undefined || typeof msg === "string" || !("decoded" in msg)) continue;
    if (msg.decoded.group_key !== "") continue; // a member, not an aggregated task
    const { payload: hex, id } = msg.decoded;
    if (typeof hex !== "string" || typeof id !== "string") continue;
    const payload = Buffer.from(hex, "hex").toString("utf8");
    const ourId = ours.get(payload);
    if (ourId !== undefined) out.set(id, ourId);
  }
  return out;
}

/**
 * Gives our daily counters Go's TTL: done sets their expiry from the (manual) clock, 90 days after
 * Go's time, while Redis counts down on the real clock. Their values and names are compared as they are.
 */
async function alignDayCounterTtls(expected: Snapshot): Promise<void> {
  for (const k of expected.keys) {
    if (k.ttl === "positive" && /:(processed|failed):\d{4}-\d\d-\d\d$/.test(k.key)) {
      await redis.expire(k.key, k.ttl_approx_seconds ?? 1);
    }
  }
}

/** Processes one pending task as a worker does (dequeue, then done): counters as Go's. */
async function processOne(broker: Broker, nowMs: number): Promise<void> {
  const { tasks } = await broker.dequeue({ queue: Q, max: 1, leaseExpiresAtMs: nowMs + 30_000, nowMs });
  const task = tasks[0]!;
  expect(await broker.done({ queue: Q, id: task.id, nowMs, uniqueKey: "" })).toBe("ok");
}

describe("v_group_aggregation: two groups, a unique member, an aggregator that blocks", () => {
  const v = scenario("v_group_aggregation");

  it("writes the same aggregated tasks and deletes the members and their sets", async () => {
    await restoreSnapshot(redis, snapshot(v, "enqueued"));
    // When Go's aggregator returned for g1: both groups are due (grace 1 s), neither by max delay.
    const clock = new ManualClock(1796629348467);
    const calls: Array<{ group: string; payloads: string[] }> = [];
    const { aggregator } = testAggregator(
      url,
      clock,
      (group, tasks) => {
        calls.push({ group, payloads: payloads(tasks) });
        return joinPayloads(group, tasks);
      },
      { gracePeriod: 1000, maxSize: 10, maxDelay: 10_000 },
    );
    expect(await aggregator.runOnce()).toEqual({ aggregated: 2, failed: 0 });
    expect(calls.map((c) => c.group).sort()).toEqual(["g1", "g2"]);
    expect(calls.find((c) => c.group === "g1")!.payloads).toEqual([
      '{"user":1,"msg":"a"}',
      '{"user":1,"msg":"b"}',
      '{"user":1,"msg":"c"}',
    ]);
    expect(calls.find((c) => c.group === "g2")!.payloads).toEqual(['{"user":9,"msg":"u"}']);

    // Go's 'aggregated_task_pending_or_active' with both aggregated tasks pending (Go's worker had
    // taken one), and the member's unique lock released (ours, G2).
    const after = snapshot(v, "aggregated_task_pending_or_active");
    const ids = await taskReplacements(after);
    expect(ids.size).toBe(2);
    const actual = await dumpDb(redis);
    const ourPending = actual.keys.find((k) => k.key === keys.pendingKey(Q))!;
    expect(ourPending.type === "list" ? ourPending.value.length : 0).toBe(2);
    const expected = substitute(
      withoutServers(after, {
        drop: [keys.activeKey(Q), keys.leaseKey(Q), keys.pendingKey(Q), V_LOCK],
        extra: [ourPending],
      }),
      ids,
    );
    // Go's active task hash says `active`; ours is still pending, with pending_since.
    const pendingKeys = expected.keys.map((k) =>
      k.type === "hash" && k.value.state === "active"
        ? { ...k, value: { ...k.value, state: "pending", pending_since: unixNanos(clock.now()) } }
        : k,
    );
    expectMatch({ keys: pendingKeys }, actual);
  });

  it("keeps Go's member lock semantics apart from the release (G2)", async () => {
    await restoreSnapshot(redis, snapshot(v, "enqueued"));
    expect(await redis.get(V_LOCK)).toBe("v-u");
    const clock = new ManualClock(1796629348467);
    const { aggregator } = testAggregator(url, clock, joinPayloads, { gracePeriod: 1000 });
    await aggregator.runOnce();
    expect(await redis.exists(V_LOCK)).toBe(0);
  });

  it("while the aggregator blocks, the set, its registry entry and the emptied groups match Go's", async () => {
    await restoreSnapshot(redis, snapshot(v, "enqueued"));
    const open = snapshot(v, "aggregation_set_open");
    const clock = new ManualClock(1796629345466);
    const { broker } = testAggregator(url, clock, joinPayloads);
    // g1's set by the first check (1 s after Start), g2's by the second (1 s later), as Go's.
    const g1 = await broker.checkGroup({
      queue: Q,
      group: "g1",
      maxSize: 10,
      maxDelaySeconds: 10,
      graceSeconds: 1,
      nowMs: 1796629345466,
      deadlineSeconds: 1796629345 + 120,
    });
    const g2 = await broker.checkGroup({
      queue: Q,
      group: "g2",
      maxSize: 10,
      maxDelaySeconds: 10,
      graceSeconds: 1,
      nowMs: 1796629346465,
      deadlineSeconds: 1796629346 + 120,
    });
    expect(g1 && g2).toBeTruthy();
    expectMatch(substitute(withoutServers(open), await setReplacements(open)), await dumpDb(redis));
  });
});

describe("v_group_aggregation, the other way: our Client groups tasks as Go's client does", () => {
  const v = scenario("v_group_aggregation");

  it("writes Go's 'enqueued' state: group zsets, groups, task hashes, the member lock (E2 aside)", async () => {
    const clock = new ManualClock(0);
    const ours = new Client(redis, { clock });
    try {
      for (const op of v.ops.filter((o) => o.api === "Client.Enqueue")) {
        clock.set(op.at_unix_ms);
        const info = op.result as { id: string; group: string };
        const unique = (op.args.options ?? []).some((o) => o.startsWith("Unique("));
        await ours.enqueue(
          { type: op.args.task_type!, payload: Buffer.from(op.args.payload!) },
          { group: info.group, taskId: info.id, ...(unique ? { unique: 3_600_000 } : {}) },
        );
      }
    } finally {
      await ours.close();
    }
    // E2: our AddToGroupUnique also writes the hash's unique_key field (Go writes it in the msg only).
    const expected = snapshot(v, "enqueued").keys.map((k) =>
      k.type === "hash" && k.key === keys.taskKey(Q, "v-u")
        ? { ...k, value: { ...k.value, unique_key: V_LOCK } }
        : k,
    );
    expectMatch({ keys: expected }, await dumpDb(redis));
  });
});

describe("w_group_max_size: max size 2, five tasks, grace 30 s", () => {
  const w = scenario("w_group_max_size");

  it("aggregates two tasks per check, leaves the fifth, and every step matches Go's", async () => {
    await restoreSnapshot(redis, snapshot(w, "enqueued"));
    const clock = new ManualClock(0);
    const { aggregator, broker } = testAggregator(url, clock, joinPayloads, {
      gracePeriod: 30_000,
      maxSize: 2,
      maxDelay: 0,
    });
    const ticks = w.events.filter((e) => e.event === "aggregator_invoked").map((e) => e.at_unix_ms as number);
    const handled = w.events.filter((e) => e.event === "handler_invoked").map((e) => e.at_unix_ms as number);

    clock.set(ticks[0]!);
    expect(await aggregator.runOnce()).toEqual({ aggregated: 1, failed: 0 });
    const first = withoutServers(snapshot(w, "after_first_set"));
    expectMatch(substitute(first, await taskReplacements(first)), await dumpDb(redis));

    // Go's worker processed the first batch before the second check.
    clock.set(handled[0]!);
    await processOne(broker, clock.now());
    clock.set(ticks[1]!);
    expect(await aggregator.runOnce()).toEqual({ aggregated: 1, failed: 0 });
    const second = withoutServers(snapshot(w, "after_second_set"));
    await alignDayCounterTtls(second);
    expectMatch(substitute(second, await taskReplacements(second)), await dumpDb(redis));

    clock.set(handled[1]!);
    await processOne(broker, clock.now());
    // Third check (+21 s): one task < max size, grace not reached: nothing.
    clock.set(ticks[1]! + 7000);
    expect(await aggregator.runOnce()).toEqual({ aggregated: 0, failed: 0 });
    const final = withoutServers(snapshot(w, "final"));
    await alignDayCounterTtls(final);
    expectMatch(final, await dumpDb(redis));
  });
});

describe("x_reclaim_stale_set: a set left by a killed server, reclaimed after its deadline", () => {
  const x = scenario("x_reclaim_stale_set");

  it("the set, the reclaim (with the group back in groups: G3) and the next aggregation", async () => {
    await restoreSnapshot(redis, snapshot(x, "enqueued"));
    const clock = new ManualClock(1796629380605);
    const { aggregator, broker } = testAggregator(url, clock, joinPayloads, {
      gracePeriod: 1000,
      maxSize: 10,
      maxDelay: 10_000,
    });
    // The killed child's check: the set stays behind.
    const set = await broker.checkGroup({
      queue: Q,
      group: "g1",
      maxSize: 10,
      maxDelaySeconds: 10,
      graceSeconds: 1,
      nowMs: clock.now(),
      deadlineSeconds: 1796629380 + 120,
    });
    expect(set).not.toBeNull();
    const afterKill = snapshot(x, "after_kill");
    expectMatch(substitute(withoutServers(afterKill), await setReplacements(afterKill)), await dumpDb(redis));

    // The next server's recoverer, at its start past the deadline.
    clock.set(snapshot(x, "reclaimed").taken_at_unix_ms);
    await testRecoverer(broker, clock).runOnce();
    const groups: DumpedKey = { key: keys.allGroupsKey(Q), type: "set", ttl: -1, value: ["g1"] };
    expectMatch(withoutServers(snapshot(x, "reclaimed"), { extra: [groups] }), await dumpDb(redis));

    // Go's aggregator ignored g1 until x-3 joined it; ours aggregates x-1 and x-2 at its next check.
    clock.advance(1000);
    expect(await aggregator.runOnce()).toEqual({ aggregated: 1, failed: 0 });
    const ids = await redis.lrange(keys.pendingKey(Q), 0, -1);
    expect(ids).toHaveLength(1);
    const msg = decodeTaskMessage((await redis.hgetBuffer(keys.taskKey(Q, ids[0]!), "msg"))!);
    expect(Buffer.from(msg.payload).toString()).toBe('{"n":1}\n{"n":2}');
    expect(await redis.exists(keys.taskKey(Q, "x-1"), keys.taskKey(Q, "x-2"), keys.groupKey(Q, "g1"))).toBe(
      0,
    );
    expect(await redis.exists(keys.allAggregationSetsKey(Q), keys.allGroupsKey(Q))).toBe(0);
  });
});
