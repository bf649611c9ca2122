// Golden conformance: replays Go asynq's enqueue scenarios a-j with our Client and compares Redis with Go's dumps.
import { readdirSync } from "node:fs";
import type { Redis } from "ioredis";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import type { EnqueueOptions } from "../../src/client/options.js";
import { DuplicateTaskError, TaskIdConflictError } from "../../src/errors.js";
import { ManualClock } from "../../src/internal/clock.js";
import type { Task, TaskInfo } from "../../src/task.js";
import { parseOption } from "../../src/wire/option-strings.js";
import { freshRedis } from "../support/redis.js";
import {
  compareSnapshots,
  dumpDb,
  finalSnapshot,
  fixedInstants,
  formatDifferences,
  loadGoldenScenario,
  substitute,
  type GoldenOp,
  type GoldenScenario,
  type GoldenTaskInfo,
} from "../support/redis-dump.js";
import { join } from "node:path";
import { SNAPSHOTS_DIR } from "../support/golden.js";

const SCENARIOS: GoldenScenario[] = readdirSync(SNAPSHOTS_DIR)
  .filter((f) => /^[a-j]_.*\.json$/.test(f))
  .sort()
  .map((f) => loadGoldenScenario(join(SNAPSHOTS_DIR, f)));

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Go option strings (`TaskID("a-1")`, `Unique(1h0m0s)`, ...) as our EnqueueOptions. */
function toEnqueueOptions(options: readonly string[]): EnqueueOptions {
  const out: EnqueueOptions = {};
  for (const s of options) {
    const o = parseOption(s);
    switch (o.kind) {
      case "TaskID":
        out.taskId = o.value;
        break;
      case "Queue":
        out.queue = o.value;
        break;
      case "MaxRetry":
        out.maxRetry = o.value;
        break;
      case "Timeout":
        out.timeout = o.ms;
        break;
      case "Deadline":
        out.deadline = o.at;
        break;
      case "Unique":
        out.unique = o.ms;
        break;
      case "ProcessAt":
        out.processAt = o.at;
        break;
      case "ProcessIn":
        out.processIn = o.ms;
        break;
      case "Retention":
        out.retention = o.ms;
        break;
      case "Group":
        out.group = o.value;
        break;
      case "Header":
        out.headers = { ...out.headers, [o.key]: o.value };
        break;
    }
  }
  return out;
}

function taskOf(op: GoldenOp): Task {
  const type = op.args.task_type;
  if (op.api !== "Client.Enqueue" || type === undefined) throw new Error(`op ${op.index} is not an enqueue`);
  const payload = op.args.payload;
  return payload === null || payload === undefined ? { type } : { type, payload };
}

const unixOrNull = (d: Date | null): number | null => (d === null ? null : d.getTime() / 1000);

/** Our TaskInfo in Go's TaskInfo shape; payload and result as hex so bytes are compared. */
function inGoShape(info: TaskInfo): Record<string, unknown> {
  return {
    id: info.id,
    queue: info.queue,
    type: info.type,
    payload_hex: Buffer.from(info.payload).toString("hex"),
    state: info.state,
    max_retry: info.maxRetry,
    retried: info.retried,
    last_err: info.lastError,
    last_failed_at_unix: unixOrNull(info.lastFailedAt),
    timeout_seconds: info.timeout / 1000,
    deadline_unix: unixOrNull(info.deadline),
    group: info.group,
    retention_seconds: info.retention / 1000,
    completed_at_unix: unixOrNull(info.completedAt),
    result_hex: info.result === null ? null : Buffer.from(info.result).toString("hex"),
  };
}

function goldenInGoShape(r: GoldenTaskInfo, id: string): Record<string, unknown> {
  return {
    id,
    queue: r.queue,
    type: r.type,
    payload_hex: Buffer.from(r.payload ?? "", "utf8").toString("hex"),
    state: r.state,
    max_retry: r.max_retry,
    retried: r.retried,
    last_err: r.last_err,
    last_failed_at_unix: r.last_failed_at_unix,
    timeout_seconds: r.timeout_seconds,
    deadline_unix: r.deadline_unix,
    group: r.group,
    retention_seconds: r.retention_seconds,
    completed_at_unix: r.completed_at_unix,
    result_hex: r.result === null ? null : Buffer.from(r.result, "utf8").toString("hex"),
  };
}

const EXPECTED_ERRORS: Record<string, new (...args: never[]) => Error> = {
  ErrDuplicateTask: DuplicateTaskError,
  ErrTaskIDConflict: TaskIdConflictError,
};

/**
 * Replays the ops on `redis`, the clock set to each op's start, checking each result or error.
 * @returns Go's generated task IDs mapped to ours.
 */
async function replay(scenario: GoldenScenario, redis: Redis): Promise<Map<string, string>> {
  const clock = new ManualClock();
  const client = new Client(redis, { clock });
  const idMap = new Map<string, string>();
  for (const op of scenario.ops) {
    const where = `${scenario.scenario} op ${op.index}`;
    const options = op.args.options ?? [];
    clock.set(op.at_unix_ms);
    const attempt = client.enqueue(taskOf(op), toEnqueueOptions(options));
    if (op.error_kind !== undefined) {
      const errorClass = EXPECTED_ERRORS[op.error_kind];
      if (errorClass === undefined) throw new Error(`${where}: no mapping for ${op.error_kind}`);
      const err = await attempt.then(
        (info) => new Error(`${where}: expected ${op.error_kind}, enqueued ${info.id}`),
        (e: unknown) => e,
      );
      expect(err, where).toBeInstanceOf(errorClass);
      expect((err as Error).message, where).toBe(op.error);
      continue;
    }
    const info = await attempt;
    const golden = op.result as GoldenTaskInfo;
    const generated = !options.some((s) => s.startsWith("TaskID("));
    if (generated) {
      expect(info.id, `${where}: generated ID`).toMatch(UUID_V4);
      expect(golden.id, `${where}: Go's generated ID`).toMatch(UUID_V4);
      idMap.set(golden.id, info.id);
    }
    expect(inGoShape(info), `${where}: TaskInfo`).toEqual(
      goldenInGoShape(golden, generated ? info.id : golden.id),
    );
    if (golden.next_process_at_unix === null) {
      expect(info.nextProcessAt, `${where}: next_process_at`).toBeNull();
    } else {
      const ours = unixOrNull(info.nextProcessAt);
      expect(ours, `${where}: next_process_at`).not.toBeNull();
      expect(
        Math.abs(ours! - golden.next_process_at_unix),
        `${where}: next_process_at ±1 s`,
      ).toBeLessThanOrEqual(1);
    }
  }
  return idMap;
}

/** Compares our DB with the scenario's final snapshot, Go's generated IDs replaced by ours. */
async function differences(scenario: GoldenScenario, redis: Redis, idMap: ReadonlyMap<string, string>) {
  const expected = substitute(finalSnapshot(scenario), idMap);
  return compareSnapshots(expected, await dumpDb(redis), { exactScores: fixedInstants(scenario.ops) });
}

let redis: Redis;
beforeAll(async () => {
  redis = await freshRedis();
});
beforeEach(async () => {
  await redis.flushdb();
});

describe("golden Redis snapshots of enqueues (Go asynq v0.25.1)", () => {
  it("finds the 10 scenarios a to j", () => {
    expect(SCENARIOS.map((s) => s.scenario[0])).toEqual(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
  });

  it.each(SCENARIOS.map((s) => [s.scenario, s] as const))(
    "scenario %s matches Go's Redis state",
    async (_, s) => {
      const idMap = await replay(s, redis);
      const diffs = await differences(s, redis, idMap);
      expect(formatDifferences(diffs), `${s.scenario}: ${s.title}`).toBe("");
    },
  );
});

describe("the snapshot comparator", () => {
  const scenario = (letter: string): GoldenScenario => {
    const s = SCENARIOS.find((x) => x.scenario.startsWith(`${letter}_`));
    if (s === undefined) throw new Error(`no scenario ${letter}`);
    return s;
  };

  it("reports a hash field changed after the replay, naming key, field, expected and actual", async () => {
    const s = scenario("a");
    const idMap = await replay(s, redis);
    await redis.hset("asynq:{default}:t:a-1", "state", "active");
    expect(formatDifferences(await differences(s, redis, idMap))).toBe(
      'asynq:{default}:t:a-1 › hash field "state": expected "pending", actual "active"',
    );
  });

  it("reports a changed msg byte, a missing key and an extra key", async () => {
    const s = scenario("f");
    const idMap = await replay(s, redis);
    const key = "asynq:{default}:t:f-1";
    const msg = (await redis.hgetBuffer(key, "msg"))!;
    await redis.hset(key, "msg", Buffer.concat([msg.subarray(0, -1), Buffer.from("d", "latin1")]));
    await redis.del("asynq:{default}:unique:cache:flush:");
    await redis.set("asynq:{default}:stray", "x");
    const text = formatDifferences(await differences(s, redis, idMap));
    expect(text).toContain(`${key} › hash field "msg" › decoded.unique_key`);
    expect(text).toContain(`${key} › hash field "msg" › hex`);
    expect(text).toContain("asynq:{default}:unique:cache:flush:: expected");
    expect(text).toContain(
      'asynq:{default}:stray: expected (absent), actual "a string key" (unexpected key)',
    );
  });

  it("compares fixed-instant scores exactly and time-dependent values within 2 s", async () => {
    const s = scenario("e");
    const idMap = await replay(s, redis);
    await redis.zadd("asynq:{default}:scheduled", 1893456001, "e-1"); // ProcessAt(2030-01-01) + 1 s
    const pendingSince = BigInt((await redis.hget("asynq:{default}:t:e-2", "pending_since"))!);
    await redis.hset("asynq:{default}:t:e-2", "pending_since", String(pendingSince + 1_000_000_000n));
    expect(formatDifferences(await differences(s, redis, idMap))).toBe(
      "asynq:{default}:scheduled › score of member [0]: expected 1893456000, actual 1893456001 (a fixed instant: must match exactly)",
    );
    await redis.hset("asynq:{default}:t:e-2", "pending_since", String(pendingSince + 3_000_000_000n));
    expect(formatDifferences(await differences(s, redis, idMap))).toContain(
      'asynq:{default}:t:e-2 › hash field "pending_since"',
    );
  });
});
