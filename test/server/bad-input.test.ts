// Server against a real Redis: bad input never stops it, and each case ends in a defined state that
// is logged with the task ID: corrupt task hashes, dangling IDs, handlers failing with non-Errors or
// never settling, unknown task types, invalid configuration.
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/errors.js";
import { ServeMux, type Handler } from "../../src/server/mux.js";
import { Server } from "../../src/server/server.js";
import type { ServerConfig } from "../../src/server/config.js";
import * as keys from "../../src/wire/keys.js";
import { encodeTaskMessage, newTaskMessage } from "../../src/wire/proto.js";
import { collectingLogger, rawPending, readMsg, track, waitFor } from "../support/server-helpers.js";
import { useRedisFixture } from "../support/fixture.js";
import { testRedisUrl } from "../support/redis.js";

const Q = "default";
const HOUR = 3600_000;
/** Bytes that are no protobuf message (field 31 with the invalid wire type 7). */
const GARBAGE = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x07, 0x00, 0xde, 0xad]);

const { redis, client } = useRedisFixture({ client: true });

/** A server whose failed tasks wait an hour in retry (so their state can be read), with a collecting logger. */
function server(config: ServerConfig = {}) {
  const log = collectingLogger();
  const s = track(
    new Server(testRedisUrl(), {
      concurrency: 2,
      pollInterval: 50,
      shutdownTimeout: 500,
      retryDelay: () => HOUR,
      logger: log.logger,
      ...config,
    }),
  );
  return { server: s, log };
}

/** A handler that records the IDs it ran, succeeding. */
function recorder(): { handler: Handler; ids: string[] } {
  const ids: string[] = [];
  return { handler: (_task, ctx) => void ids.push(ctx.id), ids };
}

/** Asserts the task was archived with its hash otherwise as written (msg untouched), and never retried. */
async function expectArchivedAsIs(id: string, msg: Buffer | null): Promise<void> {
  await waitFor(async () => (await redis.hget(keys.taskKey(Q, id), "state")) === "archived", {
    message: `task ${id} archived`,
  });
  expect(await redis.zscore(keys.archivedKey(Q), id)).not.toBeNull();
  expect(await redis.zscore(keys.retryKey(Q), id)).toBeNull();
  expect(await redis.lrange(keys.pendingKey(Q), 0, -1)).not.toContain(id);
  expect(await redis.lrange(keys.activeKey(Q), 0, -1)).not.toContain(id);
  expect(await redis.zscore(keys.leaseKey(Q), id)).toBeNull();
  const stored = await redis.hgetBuffer(keys.taskKey(Q, id), "msg");
  if (msg === null) expect(stored).toBeNull();
  else expect(stored?.equals(msg)).toBe(true);
}

describe("corrupt task data", () => {
  const cases: Array<{
    name: string;
    fields: (id: string) => Record<string, string | Buffer>;
    msg: (id: string) => Buffer | null;
  }> = [
    {
      name: "a msg of garbage bytes",
      fields: () => ({ msg: GARBAGE, state: "pending" }),
      msg: () => GARBAGE,
    },
    {
      name: "no msg field",
      fields: () => ({ state: "pending", pending_since: "1" }),
      msg: () => null,
    },
    {
      name: "a msg naming another task ID",
      fields: () => ({ msg: otherMsg("someone-else", Q), state: "pending" }),
      msg: () => otherMsg("someone-else", Q),
    },
  ];

  for (const c of cases) {
    it(`archives a task with ${c.name} as it is, logs its ID, and processes the next task`, async () => {
      const { server: s, log } = server();
      const { handler, ids } = recorder();
      const id = await rawPending(redis, Q, { fields: c.fields("corrupt-1"), id: "corrupt-1" });
      const good = await client.enqueue({ type: "good" });
      await s.start(handler);
      await waitFor(() => ids.includes(good.id), { message: "the good task processed" });
      await expectArchivedAsIs(id, c.msg(id));
      expect(ids).toEqual([good.id]);
      expect(
        log.lines.some((l) => l.level === "error" && l.message.includes(`"${id}"`)),
        log.text(),
      ).toBe(true);
    });
  }

  it("archives a task whose msg names another queue", async () => {
    const { server: s, log } = server();
    const { handler, ids } = recorder();
    const bytes = otherMsg("q-mismatch", "elsewhere");
    const id = await rawPending(redis, Q, { id: "q-mismatch", fields: { msg: bytes, state: "pending" } });
    const good = await client.enqueue({ type: "good" });
    await s.start(handler);
    await waitFor(() => ids.includes(good.id), { message: "the good task processed" });
    await expectArchivedAsIs(id, bytes);
    expect(ids).toEqual([good.id]);
    expect(log.text()).toContain(`"${id}"`);
  });

  it("drops a pending ID that has no task hash, creates nothing, and logs it", async () => {
    const { server: s, log } = server();
    const { handler, ids } = recorder();
    const id = await rawPending(redis, Q, { id: "dangling-1", fields: null });
    const good = await client.enqueue({ type: "good" });
    await s.start(handler);
    await waitFor(() => ids.includes(good.id), { message: "the good task processed" });
    expect(ids).toEqual([good.id]);
    expect(await redis.lrange(keys.pendingKey(Q), 0, -1)).toEqual([]);
    expect(await redis.lrange(keys.activeKey(Q), 0, -1)).not.toContain(id);
    expect(await redis.exists(keys.taskKey(Q, id))).toBe(0);
    expect(await redis.zscore(keys.archivedKey(Q), id)).toBeNull();
    expect(
      log.lines.some((l) => l.level === "warn" && l.message.includes(`"${id}"`)),
      log.text(),
    ).toBe(true);
  });
});

describe("a queue whose pending key holds the wrong type", () => {
  it("does not keep the server from serving its other queues, nor strand their tasks in active", async () => {
    const { server: s, log } = server({ queues: { broken: 1, default: 1 } });
    const { handler, ids } = recorder();
    await redis.set(keys.pendingKey("broken"), "not a list");
    const good = await client.enqueue({ type: "good" });
    await s.start(handler);
    await waitFor(() => ids.includes(good.id), { timeout: 3000 }).catch(() => {});
    // A task claimed from a healthy queue must run (not be dropped because another queue failed).
    const stranded = await redis.lrange(keys.activeKey(Q), 0, -1);
    expect(
      stranded.filter((id) => !ids.includes(id)),
      `claimed but never run; log:\n${log.text()}`,
    ).toEqual([]);
    expect(ids).toEqual([good.id]);
    expect(log.text()).toContain("WRONGTYPE");
  });
});

describe("handlers failing with non-Error values", () => {
  const failures: Array<{ type: string; handler: Handler; expected: RegExp }> = [
    {
      type: "throw:string",
      handler: () => {
        throw "disk full"; // eslint-disable-line @typescript-eslint/only-throw-error
      },
      expected: /disk full/,
    },
    {
      type: "throw:number",
      handler: () => {
        throw 42; // eslint-disable-line @typescript-eslint/only-throw-error
      },
      expected: /42/,
    },
    {
      type: "throw:null",
      handler: () => {
        throw null; // eslint-disable-line @typescript-eslint/only-throw-error
      },
      expected: /null/,
    },
    {
      type: "throw:object",
      handler: () => {
        throw { code: "E_QUOTA", detail: "over quota" }; // eslint-disable-line @typescript-eslint/only-throw-error
      },
      expected: /E_QUOTA.*over quota/,
    },
    {
      type: "throw:boolean",
      handler: () => {
        throw false; // eslint-disable-line @typescript-eslint/only-throw-error
      },
      expected: /false/,
    },
    {
      type: "reject:undefined",
      handler: () => Promise.reject(undefined), // eslint-disable-line @typescript-eslint/prefer-promise-reject-errors
      expected: /undefined/,
    },
    {
      type: "reject:string",
      handler: async () => {
        await Promise.resolve();
        return Promise.reject("remote said no"); // eslint-disable-line @typescript-eslint/prefer-promise-reject-errors
      },
      expected: /remote said no/,
    },
    {
      // A thenable (not a promise) whose `then` throws: the attempt fails with what it threw.
      type: "thenable:throws",
      handler: () => ({
        then() {
          throw new Error("bad thenable");
        },
      }),
      expected: /bad thenable/,
    },
    {
      type: "reject:array",
      handler: () => Promise.reject([1, "two"]), // eslint-disable-line @typescript-eslint/prefer-promise-reject-errors
      expected: /\[1,"two"\]/,
    },
  ];

  for (const f of failures) {
    it(`retries a task whose handler fails with ${f.type} with a readable error_msg, and keeps processing`, async () => {
      const { handler: good, ids } = recorder();
      const mux = new ServeMux().handle(f.type, f.handler).handle("good", good);
      // Retries are not logged at the default level (as in asynq); failures are, at debug.
      const { server: s, log } = server({ logLevel: "debug" });
      const failing = await client.enqueue({ type: f.type });
      const next = await client.enqueue({ type: "good" });
      await s.start(mux);
      await waitFor(() => ids.includes(next.id), { message: "the next task processed" });
      await waitFor(async () => (await redis.hget(keys.taskKey(Q, failing.id), "state")) === "retry", {
        message: "the failing task in retry",
      });
      expect(await redis.zscore(keys.retryKey(Q), failing.id)).not.toBeNull();
      const msg = await readMsg(redis, Q, failing.id);
      expect(msg?.retried).toBe(1);
      expect(msg?.errorMsg).toMatch(f.expected);
      expect(msg?.errorMsg).not.toMatch(/\[object /);
      expect(log.text()).toContain(`"${failing.id}"`);
    });
  }
});

describe("a handler that never settles", () => {
  it("fails the attempt with `context deadline exceeded` after its 1 s timeout and reuses the slot", async () => {
    const { server: s } = server({ concurrency: 1 });
    const started = new Map<string, number>();
    const mux = new ServeMux()
      .handle("hang", (_task, ctx) => {
        started.set(ctx.id, performance.now());
        return new Promise(() => {});
      })
      .handle("good", (_task, ctx) => void started.set(ctx.id, performance.now()));
    const hang = await client.enqueue({ type: "hang" }, { timeout: 1000 });
    const good = await client.enqueue({ type: "good" });
    await s.start(mux);
    await waitFor(() => started.has(good.id), { timeout: 5000, message: "the next task in the freed slot" });
    // The only slot was taken until the timeout cut the hanging attempt short.
    expect(started.get(good.id)! - started.get(hang.id)!).toBeGreaterThanOrEqual(900);
    await waitFor(async () => (await redis.hget(keys.taskKey(Q, hang.id), "state")) === "retry");
    const msg = await readMsg(redis, Q, hang.id);
    expect(msg).toMatchObject({ errorMsg: "context deadline exceeded", retried: 1 });
  });
});

describe("a ServeMux with no handler for the type", () => {
  it('retries the task with `handler not found for task "<type>"`', async () => {
    const { server: s } = server();
    const { handler, ids } = recorder();
    const mux = new ServeMux().handle("good", handler);
    const orphan = await client.enqueue({ type: "nobody:handles" });
    const good = await client.enqueue({ type: "good" });
    await s.start(mux);
    await waitFor(() => ids.includes(good.id));
    await waitFor(async () => (await redis.hget(keys.taskKey(Q, orphan.id), "state")) === "retry");
    expect(await readMsg(redis, Q, orphan.id)).toMatchObject({
      errorMsg: 'handler not found for task "nobody:handles"',
      retried: 1,
    });
  });
});

describe("invalid server configuration", () => {
  const invalid: Array<{ config: unknown; field: RegExp }> = [
    { config: { concurrenc: 4 }, field: /^config\.concurrenc$/ },
    { config: { concurrency: 0 }, field: /^config\.concurrency$/ },
    { config: { concurrency: 2.5 }, field: /^config\.concurrency$/ },
    { config: { queues: { critical: 0 } }, field: /queues\.critical$/ },
    { config: { queues: { low: -1 } }, field: /queues\.low$/ },
    { config: { queues: { default: "3" } }, field: /queues\.default$/ },
    { config: { onExpired: "x" }, field: /^config\.onExpired$/ },
    { config: { pollInterval: 0 }, field: /^config\.pollInterval$/ },
    // The components take these as resolved: the config is where they are checked.
    { config: { recoverInterval: 0 }, field: /^config\.recoverInterval$/ },
    { config: { recoveryGrace: -1 }, field: /^config\.recoveryGrace$/ },
    { config: { janitorInterval: 0 }, field: /^config\.janitorInterval$/ },
    { config: { janitorBatchSize: 0 }, field: /^config\.janitorBatchSize$/ },
    { config: { archive: { maxSize: -1 } }, field: /^config\.archive\.maxSize$/ },
    { config: { heartbeatInterval: 0 }, field: /^config\.heartbeatInterval$/ },
    { config: { leaseDuration: Number.NaN }, field: /^config\.leaseDuration$/ },
    { config: { logLevel: "loud" }, field: /^config\.logLevel$/ },
  ];

  for (const { config, field } of invalid) {
    it(`rejects ${JSON.stringify(config)} with a ValidationError naming ${String(field)}`, () => {
      let thrown: unknown;
      try {
        new Server(testRedisUrl(), config as ServerConfig);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ValidationError);
      expect((thrown as ValidationError).field).toMatch(field);
      expect((thrown as ValidationError).message).toContain((thrown as ValidationError).field);
    });
  }
});

/** A well-formed msg naming task `id` in `queue`. */
function otherMsg(id: string, queue: string): Buffer {
  return Buffer.from(encodeTaskMessage(newTaskMessage({ type: "t", id, queue, retry: 25, timeout: 1800n })));
}
