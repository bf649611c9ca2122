// Client validation: every rule of src/client/options.ts, payload.ts and client.ts rejects its input
// with a ValidationError that names the field and the value, and writes nothing to Redis.
import type { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import type { EnqueueOptions } from "../../src/client/options.js";
import { AsynqError, ValidationError } from "../../src/errors.js";
import { ManualClock } from "../../src/internal/clock.js";
import type { Task } from "../../src/task.js";
import { freshRedis, testRedisUrl } from "../support/redis.js";

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const VALID: Task = { type: "email:deliver", payload: { to: "a@example.com" } };

let redis: Redis;
let client: Client;

beforeAll(async () => {
  redis = await freshRedis();
  client = new Client(testRedisUrl(), { clock: new ManualClock(NOW) });
});

afterAll(async () => {
  await client.close();
  redis.disconnect();
});

// A fresh (empty) DB for every test, so "nothing was written" is simply "no key at all".
beforeEach(async () => {
  await redis.flushdb();
});

/** Text with which errors.ts describes a value in messages. */
function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  if (typeof value === "function") return "a function";
  if (typeof value === "symbol") return value.toString();
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  return "undefined";
}

async function rejection(run: () => Promise<unknown>): Promise<unknown> {
  return run().then(
    () => undefined,
    (error: unknown) => error,
  );
}

/** Runs `run` and checks it is rejected with a complete ValidationError, and that Redis is untouched. */
async function expectInvalid(
  run: () => Promise<unknown>,
  field: string,
  value: unknown,
): Promise<ValidationError> {
  const error = await rejection(run);
  expect(error, "the call should have been rejected").toBeInstanceOf(ValidationError);
  expect(error).toBeInstanceOf(AsynqError);
  expect(error).toBeInstanceOf(Error);
  const v = error as ValidationError;
  expect(v.code).toBe("ERR_VALIDATION");
  expect(v.name).toBe("ValidationError");
  expect(v.field).toBe(field);
  expect(Object.is(v.value, value), `error.value should be the offending value`).toBe(true);
  expect(v.message).toContain(field);
  expect(v.message).toContain(shown(value));
  expect(await redis.dbsize()).toBe(0);
  expect(await redis.keys("*")).toEqual([]);
  return v;
}

interface OptionCase {
  name: string;
  options: Record<string, unknown>;
  field: string;
  value: unknown;
}

const LONE = "\ud800";
const circular: Record<string, unknown> = { a: 1 };
circular.self = circular;

// Each case is one invalid option of `enqueue(VALID, options)`.
const optionCases: OptionCase[] = [
  // queue
  { name: "empty queue", options: { queue: "" }, field: "options.queue", value: "" },
  { name: "blank queue", options: { queue: " \t " }, field: "options.queue", value: " \t " },
  { name: "queue containing }", options: { queue: "crit}ical" }, field: "options.queue", value: "crit}ical" },
  { name: "queue starting with }", options: { queue: "}q" }, field: "options.queue", value: "}q" },
  { name: "non-string queue", options: { queue: 7 }, field: "options.queue", value: 7 },
  {
    name: "queue with a lone surrogate",
    options: { queue: `q${LONE}` },
    field: "options.queue",
    value: `q${LONE}`,
  },
  // maxRetry
  { name: "negative maxRetry", options: { maxRetry: -1 }, field: "options.maxRetry", value: -1 },
  { name: "fractional maxRetry", options: { maxRetry: 1.5 }, field: "options.maxRetry", value: 1.5 },
  { name: "huge maxRetry (2^31)", options: { maxRetry: 2 ** 31 }, field: "options.maxRetry", value: 2 ** 31 },
  { name: "infinite maxRetry", options: { maxRetry: Infinity }, field: "options.maxRetry", value: Infinity },
  { name: "NaN maxRetry", options: { maxRetry: NaN }, field: "options.maxRetry", value: NaN },
  { name: "string maxRetry", options: { maxRetry: "3" }, field: "options.maxRetry", value: "3" },
  // timeout
  { name: "infinite timeout", options: { timeout: Infinity }, field: "options.timeout", value: Infinity },
  { name: "-infinite timeout", options: { timeout: -Infinity }, field: "options.timeout", value: -Infinity },
  { name: "NaN timeout", options: { timeout: NaN }, field: "options.timeout", value: NaN },
  { name: "timeout 999 ms", options: { timeout: 999 }, field: "options.timeout", value: 999 },
  { name: "timeout 0", options: { timeout: 0 }, field: "options.timeout", value: 0 },
  { name: "negative timeout", options: { timeout: -1000 }, field: "options.timeout", value: -1000 },
  { name: "string timeout", options: { timeout: "60000" }, field: "options.timeout", value: "60000" },
  // deadline
  { name: "infinite deadline", options: { deadline: Infinity }, field: "options.deadline", value: Infinity },
  { name: "NaN deadline", options: { deadline: NaN }, field: "options.deadline", value: NaN },
  {
    name: "invalid Date deadline",
    options: { deadline: new Date("nope") },
    field: "options.deadline",
    value: undefined, // set below: the same Date instance
  },
  {
    name: "past deadline (Date)",
    options: { deadline: new Date(NOW - 60_000) },
    field: "options.deadline",
    value: undefined,
  },
  { name: "past deadline (ms)", options: { deadline: NOW - 1 }, field: "options.deadline", value: NOW - 1 },
  { name: "deadline before 1970", options: { deadline: -1 }, field: "options.deadline", value: -1 },
  {
    name: "deadline beyond year 275760",
    options: { deadline: 9e15 },
    field: "options.deadline",
    value: 9e15,
  },
  {
    name: "string deadline",
    options: { deadline: "2031-01-01" },
    field: "options.deadline",
    value: "2031-01-01",
  },
  // processAt / processIn
  {
    name: "invalid Date processAt",
    options: { processAt: new Date("nope") },
    field: "options.processAt",
    value: undefined,
  },
  { name: "NaN processAt", options: { processAt: NaN }, field: "options.processAt", value: NaN },
  {
    name: "infinite processAt",
    options: { processAt: Infinity },
    field: "options.processAt",
    value: Infinity,
  },
  {
    name: "string processAt",
    options: { processAt: "tomorrow" },
    field: "options.processAt",
    value: "tomorrow",
  },
  {
    name: "processAt together with processIn",
    options: { processAt: NOW + 60_000, processIn: 5_000 },
    field: "options.processIn",
    value: 5_000,
  },
  { name: "negative processIn", options: { processIn: -1 }, field: "options.processIn", value: -1 },
  { name: "NaN processIn", options: { processIn: NaN }, field: "options.processIn", value: NaN },
  {
    name: "infinite processIn",
    options: { processIn: Infinity },
    field: "options.processIn",
    value: Infinity,
  },
  { name: "huge processIn", options: { processIn: 1e300 }, field: "options.processIn", value: 1e300 },
  // unique
  { name: "unique 999 ms (< 1 s)", options: { unique: 999 }, field: "options.unique", value: 999 },
  { name: "unique 0", options: { unique: 0 }, field: "options.unique", value: 0 },
  { name: "negative unique", options: { unique: -5000 }, field: "options.unique", value: -5000 },
  { name: "NaN unique", options: { unique: NaN }, field: "options.unique", value: NaN },
  // taskId
  { name: "empty taskId", options: { taskId: "" }, field: "options.taskId", value: "" },
  { name: "blank taskId", options: { taskId: "   " }, field: "options.taskId", value: "   " },
  { name: "non-string taskId", options: { taskId: 42 }, field: "options.taskId", value: 42 },
  { name: "taskId with a lone surrogate", options: { taskId: LONE }, field: "options.taskId", value: LONE },
  // retention
  { name: "negative retention", options: { retention: -1 }, field: "options.retention", value: -1 },
  { name: "NaN retention", options: { retention: NaN }, field: "options.retention", value: NaN },
  // group
  { name: "empty group", options: { group: "" }, field: "options.group", value: "" },
  { name: "blank group", options: { group: "\n " }, field: "options.group", value: "\n " },
  { name: "non-string group", options: { group: 1 }, field: "options.group", value: 1 },
  { name: "group with a lone surrogate", options: { group: LONE }, field: "options.group", value: LONE },
  // unknown option keys
  {
    name: "unknown option maxRetries (typo)",
    options: { maxRetries: 3 },
    field: "options.maxRetries",
    value: 3,
  },
  { name: "unknown option Queue (case)", options: { Queue: "low" }, field: "options.Queue", value: "low" },
  // headers
  { name: "headers not an object", options: { headers: "x" }, field: "options.headers", value: "x" },
  { name: "headers as an array", options: { headers: ["a"] }, field: "options.headers", value: undefined },
  { name: "headers null", options: { headers: null }, field: "options.headers", value: null },
  {
    name: "header with a number value",
    options: { headers: { a: 1 } },
    field: "options.headers.a",
    value: 1,
  },
  {
    name: "header with a null value",
    options: { headers: { a: null } },
    field: "options.headers.a",
    value: null,
  },
  {
    name: "header value with a lone surrogate",
    options: { headers: { k: `v${LONE}` } },
    field: "options.headers.k",
    value: `v${LONE}`,
  },
  {
    name: "header key with a lone surrogate",
    options: { headers: { [LONE]: "v" } },
    field: "options.headers key",
    value: LONE,
  },
];

// Cases whose offending value is an object: the value is the very instance in `options`.
for (const c of optionCases) {
  if (c.value === undefined) {
    const entry = Object.entries(c.options).find(([k]) => c.field === `options.${k}`);
    c.value = entry?.[1];
  }
}

describe("enqueue option validation", () => {
  it.each(optionCases)("rejects $name", async ({ options, field, value }) => {
    await expectInvalid(() => client.enqueue(VALID, options), field, value);
  });

  it.each(optionCases)(
    "rejects $name embedded in the task (task.options)",
    async ({ options, field, value }) => {
      const task = { ...VALID, options } as Task;
      await expectInvalid(() => client.enqueue(task), field.replace(/^options/, "task.options"), value);
    },
  );

  it.each([
    { name: "a string", options: "fast" },
    { name: "a number", options: 42 },
    { name: "null", options: null },
    { name: "an array", options: [1, 2] },
    { name: "a boolean", options: true },
  ])("rejects enqueue options that are $name", async ({ options }) => {
    await expectInvalid(() => client.enqueue(VALID, options as never), "options", options);
  });

  it.each([
    { name: "a string", options: "fast" },
    { name: "null", options: null },
    { name: "an array", options: [] },
  ])("rejects task.options that are $name", async ({ options }) => {
    await expectInvalid(() => client.enqueue({ ...VALID, options } as never), "task.options", options);
  });

  it("names task.options.X when the invalid value came from the task, options.X when from the call", async () => {
    const task: Task = { ...VALID, options: { queue: "ok", maxRetry: -3 } };
    await expectInvalid(() => client.enqueue(task, { queue: "also-ok" }), "task.options.maxRetry", -3);
    await expectInvalid(() => client.enqueue(task, { maxRetry: -4 }), "options.maxRetry", -4);
  });

  it("rejects processAt in the task with processIn in the call (and vice versa)", async () => {
    await expectInvalid(
      () => client.enqueue({ ...VALID, options: { processAt: NOW + 10_000 } }, { processIn: 1_000 }),
      "options.processIn",
      1_000,
    );
    await expectInvalid(
      () => client.enqueue({ ...VALID, options: { processIn: 2_000 } }, { processAt: NOW + 10_000 }),
      "task.options.processIn",
      2_000,
    );
  });

  it("rejects a processIn that puts the task beyond the Date range, as processAt does", async () => {
    const tooFar = 8.64e15 - NOW + 1_000;
    await expectInvalid(
      () => client.enqueue(VALID, { processAt: NOW + tooFar }),
      "options.processAt",
      NOW + tooFar,
    );
    await expectInvalid(() => client.enqueue(VALID, { processIn: tooFar }), "options.processIn", tooFar);
  });

  it("accepts the boundary values of every rule", async () => {
    const accepted: EnqueueOptions[] = [
      { maxRetry: 0 },
      { maxRetry: 2 ** 31 - 1 },
      { timeout: 1000 },
      { unique: 1000 },
      { processIn: 0 },
      { retention: 0 },
      { deadline: NOW },
      { deadline: new Date(NOW + 1) },
      { processAt: 0 },
      { queue: "q{x" },
      { taskId: "id with spaces:and{braces}" },
      { group: "g" },
      { headers: {} },
      { headers: { a: "" } },
    ];
    for (const options of accepted) {
      await expect(client.enqueue(VALID, options), JSON.stringify(options)).resolves.toMatchObject({
        type: VALID.type,
      });
    }
    expect(await redis.dbsize()).toBeGreaterThan(0);
  });
});

describe("task validation", () => {
  it.each([
    { name: "null", task: null },
    { name: "undefined", task: undefined },
    { name: "a string", task: "email:deliver" },
    { name: "a number", task: 42 },
  ])("rejects a task that is $name", async ({ task }) => {
    await expectInvalid(() => client.enqueue(task as never), "task", task);
  });

  it.each([
    { name: "empty", type: "" },
    { name: "blank", type: "  \t" },
    { name: "a number", type: 42 },
    { name: "missing", type: undefined },
    { name: "null", type: null },
    { name: "a lone surrogate", type: LONE },
    { name: "a string ending in a lone surrogate", type: `email:${LONE}` },
  ])("rejects a type that is $name", async ({ type }) => {
    await expectInvalid(() => client.enqueue({ type } as never), "task.type", type);
  });

  it.each([
    { name: "a lone surrogate string", payload: LONE },
    { name: "a string with a lone low surrogate", payload: "ab\udc00cd" },
    { name: "a BigInt", payload: 10n },
    { name: "an object holding a BigInt", payload: { n: 1n } },
    { name: "a circular object", payload: circular },
    { name: "a function", payload: () => 1 },
    { name: "a symbol", payload: Symbol("s") },
  ])("rejects a payload that is $name", async ({ payload }) => {
    const error = await expectInvalid(
      () => client.enqueue({ type: "t", payload } as never),
      "task.payload",
      payload,
    );
    if (typeof payload !== "string") expect(error.message).toMatch(/JSON/);
  });

  it("keeps the JSON error as the cause of a BigInt payload rejection", async () => {
    const error = await expectInvalid(
      () => client.enqueue({ type: "t", payload: 1n } as never),
      "task.payload",
      1n,
    );
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it.each([
    { name: "not an object", headers: "a=b", field: "task.headers", value: "a=b" },
    { name: "with a number value", headers: { a: 1 }, field: "task.headers.a", value: 1 },
    { name: "with a lone-surrogate value", headers: { a: LONE }, field: "task.headers.a", value: LONE },
    { name: "with a lone-surrogate key", headers: { [LONE]: "x" }, field: "task.headers key", value: LONE },
  ])("rejects task headers $name", async ({ headers, field, value }) => {
    await expectInvalid(() => client.enqueue({ type: "t", headers } as never), field, value);
  });
});

describe("enqueueBatch validation", () => {
  const good = (i: number): Task => ({ type: "email:deliver", payload: { i } });

  it("rejects a non-array", async () => {
    await expectInvalid(() => client.enqueueBatch("tasks" as never), "tasks", "tasks");
    await expectInvalid(() => client.enqueueBatch(null as never), "tasks", null);
  });

  it("names tasks[i].type for one invalid type among valid tasks and writes nothing", async () => {
    const tasks = [good(0), good(1), { type: " " }, good(3)];
    await expectInvalid(() => client.enqueueBatch(tasks), "tasks[2].type", " ");
  });

  it("names tasks[i].options.X for an invalid embedded option", async () => {
    const tasks = [good(0), { ...good(1), options: { queue: "a}b" } }, good(2)];
    await expectInvalid(() => client.enqueueBatch(tasks), "tasks[1].options.queue", "a}b");
  });

  it("names tasks[i].options.X for an unknown embedded option", async () => {
    const tasks = [good(0), good(1), good(2), { ...good(3), options: { maxRetries: 2 } as EnqueueOptions }];
    await expectInvalid(() => client.enqueueBatch(tasks), "tasks[3].options.maxRetries", 2);
  });

  it("names tasks[i].payload for an unencodable payload", async () => {
    const tasks = [good(0), { type: "t", payload: 5n } as never];
    await expectInvalid(() => client.enqueueBatch(tasks), "tasks[1].payload", 5n);
  });

  it("names tasks[i] for a task that is not an object", async () => {
    const tasks = [good(0), null as never, good(2)];
    await expectInvalid(() => client.enqueueBatch(tasks), "tasks[1]", null);
  });

  it("names the first invalid task when several are invalid", async () => {
    const tasks = [good(0), { ...good(1), options: { unique: 999 } }, { type: "" }];
    await expectInvalid(() => client.enqueueBatch(tasks), "tasks[1].options.unique", 999);
  });

  it("rejects an invalid unique or group task among valid unique and group tasks", async () => {
    const tasks: Task[] = [
      { ...good(0), options: { unique: 60_000 } },
      { ...good(1), options: { group: "g" } },
      { ...good(2), options: { group: "" } },
    ];
    await expectInvalid(() => client.enqueueBatch(tasks), "tasks[2].options.group", "");
  });
});
