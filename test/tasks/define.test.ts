// Typed task definitions end to end on a real Redis with a real Server: what enqueue writes (Go's
// JSON, default options under the call's), what it refuses (nothing written), and what the server
// does with payloads it cannot decode or that fail the schema (archived at once, handler not run).
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { HandlerNotFoundError, SkipRetry, ValidationError } from "../../src/errors.js";
import { ServeMux } from "../../src/server/mux.js";
import { bytesCodec, textCodec } from "../../src/tasks/codec.js";
import { defineTask } from "../../src/tasks/define.js";
import * as keys from "../../src/wire/keys.js";
import { useRedisFixture } from "../support/fixture.js";
import { readTask, startServer, waitFor } from "../support/server.js";

const { redis, url, client, inspector } = useRedisFixture({ client: true, inspector: true });

const welcome = defineTask("email:welcome", {
  schema: z.object({ userId: z.number().int().positive(), note: z.string().default("") }),
  options: { queue: "mail", maxRetry: 3 },
});

/** Every key of the DB (the test DB is flushed before each test). */
const allKeys = (): Promise<string[]> => redis.keys("*");

describe("enqueue of a defined task", () => {
  it("writes the validated payload as Go's json.Marshal would, with the default options under the call's", async () => {
    const info = await client.enqueue(welcome, { userId: 42, note: "<hi> & bye" }, { maxRetry: 7 });
    const stored = await readTask(redis, "mail", info.id);
    expect(stored?.state).toBe("pending");
    // type Welcome struct { UserID int `json:"userId"`; Note string `json:"note"` } → json.Marshal:
    expect(Buffer.from(stored!.msg!.payload).toString("utf8")).toBe(
      '{"userId":42,"note":"\\u003chi\\u003e \\u0026 bye"}',
    );
    expect(stored!.msg!.type).toBe("email:welcome");
    expect(stored!.msg!.queue).toBe("mail"); // from the definition
    expect(stored!.msg!.retry).toBe(7); // the call's option wins
    expect(await redis.lrange(keys.pendingKey("mail"), 0, -1)).toEqual([info.id]);
  });

  it("encodes the schema's output (defaults filled in), which handlers decode again", async () => {
    const info = await client.enqueue(welcome, { userId: 1 });
    expect(Buffer.from(info.payload).toString()).toBe('{"userId":1,"note":""}');
  });

  it("refuses an invalid payload with a ValidationError naming the issue, and writes nothing", async () => {
    const bad = { userId: -1 };
    const error = await client.enqueue(welcome, bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe("payload");
    expect((error as ValidationError).message).toMatch(/^invalid payload \(an object\): userId: /);
    expect(await allKeys()).toEqual([]);
    expect(() => welcome.task(bad)).toThrow(ValidationError);
  });

  it("validates with any Standard Schema (valibot), and with asynchronous schemas through enqueue", async () => {
    const resize = defineTask("image:resize", {
      schema: v.object({ width: v.pipe(v.number(), v.minValue(1)) }),
    });
    await expect(client.enqueue(resize, { width: 0 })).rejects.toThrow(/width: Invalid value/);
    const info = await client.enqueue(resize, { width: 200 });
    expect(Buffer.from(info.payload).toString()).toBe('{"width":200}');

    const slow = defineTask("slow", {
      schema: z.object({ id: z.string() }).refine(async (p) => Promise.resolve(p.id !== "taken"), "taken"),
    });
    await expect(client.enqueue(slow, { id: "taken" })).rejects.toThrow(/: taken$/);
    await expect(client.enqueue(slow, { id: "free" })).resolves.toMatchObject({ type: "slow" });
    // task() cannot wait: it says so instead of skipping validation.
    expect(() => slow.task({ id: "free" })).toThrow(/validates asynchronously/);
    await expect(slow.taskAsync({ id: "taken" })).rejects.toThrow(ValidationError);
  });

  it("task() builds a Task for enqueueBatch, and a payload-less definition writes no payload", async () => {
    const ping = defineTask<void>("ping");
    const results = await client.enqueueBatch([
      welcome.task({ userId: 5 }),
      ping.task(),
      ping.task(undefined),
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    const pingInfo = await client.enqueue(ping);
    expect(pingInfo.payload.length).toBe(0);
    expect(pingInfo.queue).toBe("default");
  });

  it("uses the codec: text as raw UTF-8, bytes as they are; what a codec cannot encode is a ValidationError", async () => {
    const note = defineTask("note", { codec: textCodec });
    const raw = defineTask("raw", { codec: bytesCodec });
    expect(Buffer.from((await client.enqueue(note, "a<b")).payload).toString()).toBe("a<b");
    expect([...(await client.enqueue(raw, Uint8Array.of(0, 255))).payload]).toEqual([0, 255]);
    const metric = defineTask<{ value: number }>("metric");
    await expect(client.enqueue(metric, { value: Number.NaN })).rejects.toThrow(
      /invalid payload \(an object\): the codec cannot encode it: NaN \(at "value"\) has no JSON form/,
    );
    await redis.flushdb();
    await expect(client.enqueue(metric, { value: Infinity })).rejects.toThrow(ValidationError);
    expect(await allKeys()).toEqual([]);
  });
});

describe("defineTask", () => {
  it.each([
    ["a blank type", () => defineTask(" "), "type"],
    ["a schema that is not a Standard Schema", () => defineTask("t", { schema: {} as never }), "spec.schema"],
    [
      "a codec without decode",
      () => defineTask("t", { codec: { encode: () => new Uint8Array() } as never }),
      "spec.codec",
    ],
    ["a default taskId", () => defineTask("t", { options: { taskId: "x" } }), "spec.options.taskId"],
    [
      "an unknown option",
      () => defineTask("t", { options: { retries: 3 } as never }),
      "spec.options.retries",
    ],
    ["an invalid option", () => defineTask("t", { options: { maxRetry: -1 } }), "spec.options.maxRetry"],
  ])("refuses %s with a ValidationError", (_what, define, field) => {
    let caught: unknown;
    try {
      define();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).field).toBe(field);
  });

  it("is frozen, and its defaults too", () => {
    expect(Object.isFrozen(welcome)).toBe(true);
    expect(Object.isFrozen(welcome.options)).toBe(true);
    expect(welcome.options).toEqual({ queue: "mail", maxRetry: 3 });
  });
});

describe("processing a defined task", () => {
  it("hands the handler the decoded payload and writes its return value as the result", async () => {
    const resize = defineTask<{ width: number }, { bytes: number }>("image:resize", {
      options: { retention: 60_000 },
    });
    const seen: unknown[] = [];
    const mux = new ServeMux().handle(resize, async (payload, task, ctx) => {
      seen.push([payload, task.type, ctx.queue]);
      return Promise.resolve({ bytes: payload.width * 10 });
    });
    await startServer(url, mux);
    const info = await client.enqueue(resize, { width: 20 });
    const done = await waitFor(async () => {
      const t = await inspector.getTaskInfo("default", info.id);
      return t.state === "completed" ? t : undefined;
    }, "the task completed");
    expect(seen).toEqual([[{ width: 20 }, "image:resize", "default"]]);
    expect(Buffer.from(done.result!).toString()).toBe('{"bytes":200}');
    expect(resize.decodeResult(done.result!)).toEqual({ bytes: 200 });
  });

  it("archives at once, without running the handler, a payload the schema rejects (as a Go producer might write)", async () => {
    let calls = 0;
    const mux = new ServeMux().handle(welcome, () => void calls++);
    const { logs } = await startServer(url, mux, { queues: { mail: 1 } });
    // A plain enqueue, as a Go client or the CLI would write it: the wrong type for userId.
    const info = await client.enqueue({
      type: "email:welcome",
      payload: { userId: "42" },
      options: { queue: "mail" },
    });
    await waitFor(async () => (await readTask(redis, "mail", info.id))?.state === "archived", "archived");
    const stored = await readTask(redis, "mail", info.id);
    expect(calls).toBe(0);
    expect(stored!.msg!.retried).toBe(0);
    expect(stored!.msg!.errorMsg).toMatch(/^invalid payload \(an object\): userId: .*number/);
    expect(logs.some((l) => l.fields.reason === "skip-retry")).toBe(true);
  });

  it("archives at once a payload the codec cannot decode", async () => {
    const mux = new ServeMux().handle(welcome, () => {
      throw new Error("not reached");
    });
    await startServer(url, mux, { queues: { mail: 1 } });
    const info = await client.enqueue({
      type: "email:welcome",
      payload: "{not json",
      options: { queue: "mail" },
    });
    await waitFor(async () => (await readTask(redis, "mail", info.id))?.state === "archived", "archived");
    expect((await readTask(redis, "mail", info.id))!.msg!.errorMsg).toMatch(
      /^invalid payload \(9 bytes\): the codec cannot decode it: .*JSON/,
    );
  });

  it("handles its own type only: a longer type is not routed to it by prefix", async () => {
    const handler = welcome.handler(() => {});
    const ctx = {
      id: "x",
      queue: "mail",
      retryCount: 0,
      maxRetry: 0,
      deadline: new Date(),
      signal: new AbortController().signal,
      result: { write: () => Promise.resolve(0) },
      progress: () => Promise.resolve(),
    };
    await expect(
      handler({ type: "email:welcome:v2", payload: new Uint8Array(), headers: {} }, ctx),
    ).rejects.toThrow(HandlerNotFoundError);
    const error = await Promise.resolve(
      handler({ type: "email:welcome", payload: Buffer.from('{"userId":0}'), headers: {} }, ctx),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SkipRetry);
    expect((error as SkipRetry).cause).toBeInstanceOf(ValidationError);
  });

  it("refuses a second registration of the same type, and a handler that is not a function", () => {
    const mux = new ServeMux().handle(welcome, () => {});
    expect(() => mux.handle(welcome, () => {})).toThrow(/already registered/);
    expect(() => new ServeMux().handle(welcome, "nope" as never)).toThrow(ValidationError);
  });
});
