// How a Client (and an Inspector) reaches Redis: URL, ioredis options, or a connection the caller owns;
// closing with `await using`; invalid arguments; and a Redis that does not answer (a ConnectionError
// naming it at the first call, not a hang nor 20 silent retries).
import { randomUUID } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import { AsynqError, BrokerError, ConnectionError, ValidationError } from "../../src/errors.js";
import { Inspector } from "../../src/inspector/inspector.js";
import { Server } from "../../src/server/server.js";
import { ServeMux } from "../../src/server/mux.js";
import { freshRedis, testDb, testRedisUrl } from "../support/redis.js";

let redis: Redis;

beforeAll(async () => {
  redis = await freshRedis();
});

afterAll(() => {
  redis.disconnect();
});

beforeEach(async () => {
  await redis.flushdb();
});

/** A loopback port on which nothing listens. */
async function deadPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

/** Names of the connections currently on this worker's DB (other workers use other DBs). */
async function clientNames(): Promise<string[]> {
  const list = String(await redis.client("LIST")).split("\n");
  return list
    .filter((line) => line.includes(` db=${testDb()} `))
    .map((line) => / name=(\S*)/.exec(line)?.[1] ?? "");
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe("connecting", () => {
  it("accepts a redis://host:port/db URL and writes to that DB", async () => {
    const url = testRedisUrl();
    expect(url).toMatch(new RegExp(`^redis://[^/]+:\\d+/${testDb()}$`));
    const client = new Client(url);
    try {
      const info = await client.enqueue({ type: "t" }, { taskId: `url-${randomUUID()}` });
      expect(await redis.exists(`asynq:{default}:t:${info.id}`)).toBe(1);
    } finally {
      await client.close();
    }
  });

  it("accepts ioredis options and closes the connection it created on close()", async () => {
    const url = new URL(testRedisUrl());
    const name = `asynq-ts-test-${randomUUID().slice(0, 8)}`;
    const client = new Client({
      host: url.hostname,
      port: Number(url.port),
      db: testDb(),
      connectionName: name,
    });
    const info = await client.enqueue({ type: "t" });
    expect(await redis.exists(`asynq:{default}:t:${info.id}`)).toBe(1);
    expect(await clientNames()).toContain(name);

    await client.close();
    // QUIT is acknowledged before the server drops the connection: give it a moment.
    for (let i = 0; i < 50 && (await clientNames()).includes(name); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(await clientNames()).not.toContain(name);
  });

  it("names a connection it opens from a URL 'asynq-ts', and closes it on close()", async () => {
    const client = new Client(testRedisUrl());
    try {
      await client.enqueue({ type: "t" });
      expect(await clientNames()).toContain("asynq-ts");
    } finally {
      await client.close();
    }
    for (let i = 0; i < 50 && (await clientNames()).includes("asynq-ts"); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await clientNames()).not.toContain("asynq-ts");
  });

  it("uses a caller's ioredis connection and leaves it open after close()", async () => {
    const own = new Redis(testRedisUrl());
    try {
      const client = new Client(own);
      const info = await client.enqueue({ type: "t" });
      expect(await redis.exists(`asynq:{default}:t:${info.id}`)).toBe(1);
      await client.close();
      expect(await own.ping()).toBe("PONG");
      expect(own.status).toBe("ready");

      const inspector = new Inspector(own);
      expect((await inspector.getTaskInfo("default", info.id)).id).toBe(info.id);
      await inspector.close();
      expect(await own.ping()).toBe("PONG");
    } finally {
      own.disconnect();
    }
  });

  it("closes twice without error, and then fails enqueue with a BrokerError", async () => {
    const client = new Client(testRedisUrl());
    await client.enqueue({ type: "t" });
    await client.close();
    await expect(client.close()).resolves.toBeUndefined();
    await expect(client.enqueue({ type: "t" })).rejects.toBeInstanceOf(BrokerError);
  });

  it("lets two clients share one caller-owned connection", async () => {
    const own = new Redis(testRedisUrl());
    try {
      const a = new Client(own);
      const b = new Client(own);
      await a.enqueue({ type: "a" });
      await a.close();
      await b.enqueue({ type: "b" });
      await b.close();
      expect(await redis.llen("asynq:{default}:pending")).toBe(2);
    } finally {
      own.disconnect();
    }
  });
});

describe("await using", () => {
  /** ioredis options for a connection with a name of its own, so the test can see it come and go. */
  function namedOptions(prefix: string) {
    const url = new URL(testRedisUrl());
    const connectionName = `${prefix}-${randomUUID().slice(0, 8)}`;
    return { host: url.hostname, port: Number(url.port), db: testDb(), connectionName };
  }

  async function expectGone(name: string): Promise<void> {
    // QUIT is acknowledged before the server drops the connection: give it a moment.
    for (let i = 0; i < 50 && (await clientNames()).includes(name); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(await clientNames()).not.toContain(name);
  }

  it("closes a Client, an Inspector and a Server at the end of their block", async () => {
    const options = {
      client: namedOptions("dispose-client"),
      inspector: namedOptions("dispose-inspector"),
      server: namedOptions("dispose-server"),
    };
    {
      await using client = new Client(options.client);
      await using inspector = new Inspector(options.inspector);
      await using server = new Server(options.server, { logLevel: "error", shutdownTimeout: 1000 });
      await server.start(new ServeMux());
      await client.enqueue({ type: "t" }, { queue: "dispose" });
      expect(await inspector.queues()).toContain("dispose");
      const names = await clientNames();
      for (const o of Object.values(options)) expect(names).toContain(o.connectionName);
    }
    for (const o of Object.values(options)) await expectGone(o.connectionName);
  });

  it("closes even when the block throws, and the error is the block's", async () => {
    const options = namedOptions("dispose-throw");
    const run = async () => {
      await using client = new Client(options);
      await client.enqueue({ type: "t" });
      throw new Error("the block's own error");
    };
    await expect(run()).rejects.toThrow("the block's own error");
    await expectGone(options.connectionName);
  });
});

describe("invalid connection arguments", () => {
  it.each([
    { name: "an http:// URL", redis: "http://127.0.0.1:6379" },
    { name: "an https:// URL", redis: "https://example.com/0" },
    { name: "a scheme-less host:port", redis: "localhost:6379" },
    { name: "a non-URL string", redis: "not a url" },
    { name: "an empty string", redis: "" },
  ])("rejects $name with a ValidationError on the redis argument", ({ redis: arg }) => {
    for (const make of [() => new Client(arg), () => new Inspector(arg)]) {
      let error: unknown;
      try {
        make();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).toBeInstanceOf(AsynqError);
      const v = error as ValidationError;
      expect(v.code).toBe("ERR_VALIDATION");
      expect(v.field).toBe("redis");
      expect(v.value).toBe(arg);
      expect(v.message).toContain(JSON.stringify(arg));
    }
  });

  it.each([
    { name: "a number", redis: 6379 },
    { name: "null", redis: null },
    { name: "undefined", redis: undefined },
    { name: "an array", redis: ["redis://127.0.0.1"] },
  ])("rejects $name", ({ redis: arg }) => {
    expect(() => new Client(arg as never)).toThrow(ValidationError);
    expect(() => new Inspector(arg as never)).toThrow(ValidationError);
  });
});

describe("an argument that is a connection, but not an ioredis Redis", () => {
  // Cluster support (issue 20): a Cluster is adopted, never taken for a single server at 6379; its
  // use on a real cluster is tested by the conformance suite (test/conformance/cluster.test.ts).
  it("adopts an ioredis Cluster as a Cluster, leaving it to the caller", async () => {
    const cluster = new Cluster([{ host: "127.0.0.1", port: 1 }], { lazyConnect: true });
    let client: Client | undefined;
    try {
      client = new Client(cluster);
      await client.close();
      expect(cluster.status).toBe("wait");
    } finally {
      // When the bug shows, a connection to 127.0.0.1:6379 was opened: drop it at once, sending nothing.
      (client as unknown as { broker?: { redis?: Redis } } | undefined)?.broker?.redis?.disconnect();
      cluster.disconnect();
    }
  });

  it("rejects a client of another library, naming what an ioredis connection has and it lacks", () => {
    // The shape of a node-redis client: a command method, but not ioredis's API.
    class OtherLibraryClient {
      status = "ready";
      sendCommand(): Promise<unknown> {
        return Promise.resolve(null);
      }
      connect(): Promise<void> {
        return Promise.resolve();
      }
    }
    for (const make of [
      (c: never) => new Client(c),
      (c: never) => new Inspector(c),
      (c: never) => new Server(c),
    ]) {
      let error: unknown;
      try {
        make(new OtherLibraryClient() as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ValidationError);
      const message = (error as Error).message;
      expect(message).toContain("expected an ioredis Redis connection (5.x): missing");
      expect(message).toContain("evalsha()");
      expect(message).toContain("duplicate()");
      expect(message).toMatch(/, options$/);
      expect(message).not.toContain("status"); // what it has is not listed
    }
  });
});

describe("a connection from another copy of ioredis (the application's own)", () => {
  /**
   * Loads a second, separate copy of the installed ioredis, as an application's own dependency would
   * be: its Redis class is not ours, so `instanceof` fails across the two.
   */
  function otherIoredis(): { Redis: typeof Redis; dispose: () => void } {
    const root = fileURLToPath(new URL("../../", import.meta.url));
    const cache = join(root, "node_modules", ".cache");
    mkdirSync(cache, { recursive: true });
    const dir = mkdtempSync(join(cache, "asynq-ts-ioredis-copy-"));
    const copy = join(dir, "node_modules", "ioredis");
    cpSync(join(root, "node_modules", "ioredis"), copy, { recursive: true });
    // Its own dependencies resolve from the repository's node_modules, up the tree.
    const loaded = createRequire(import.meta.url)(copy) as { Redis: typeof Redis };
    return { Redis: loaded.Redis, dispose: () => rmSync(dir, { recursive: true, force: true }) };
  }

  it("is accepted by a Client, an Inspector and a Server, and left open", async () => {
    const { Redis: OtherRedis, dispose } = otherIoredis();
    const own = new OtherRedis(testRedisUrl());
    try {
      expect(own instanceof Redis).toBe(false);
      const client = new Client(own);
      const info = await client.enqueue({ type: "byo" }, { queue: "byo" });
      expect(await redis.exists(`asynq:{byo}:t:${info.id}`)).toBe(1);

      const inspector = new Inspector(own);
      expect(await inspector.queues()).toContain("byo");

      // The server also duplicates it for its blocking wait and its cancelation subscription.
      const done: string[] = [];
      const server = new Server(own, { queues: { byo: 1 }, logLevel: "silent", shutdownTimeout: 1000 });
      await server.start((task) => {
        done.push(task.type);
        return Promise.resolve();
      });
      for (let i = 0; i < 200 && done.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(done).toEqual(["byo"]);
      await server.shutdown();
      await inspector.close();
      await client.close();
      expect(own.status).toBe("ready");
      expect(await own.ping()).toBe("PONG");
    } finally {
      own.disconnect();
      dispose();
    }
  });
});

describe("a Redis that does not answer", () => {
  it("fails the first enqueue at once with a ConnectionError naming the address and ECONNREFUSED", async () => {
    const port = await deadPort();
    const client = new Client({
      host: "127.0.0.1",
      port,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 10,
    });
    try {
      const started = Date.now();
      const error = await rejection(client.enqueue({ type: "t" }));
      expect(error).toBeInstanceOf(ConnectionError);
      // A BrokerError too: code that catches Redis failures catches this.
      expect(error).toBeInstanceOf(BrokerError);
      expect(error).toBeInstanceOf(AsynqError);
      const c = error as ConnectionError;
      expect(c.code).toBe("ERR_CONNECTION");
      expect(c.op).toBe("broker.enqueue");
      expect(c.address).toBe(`127.0.0.1:${port}`);
      expect(c.db).toBe(0);
      expect(c.message).toContain(`127.0.0.1:${port}`);
      expect(c.message).toContain("ECONNREFUSED");
      expect(c.cause).toBeInstanceOf(Error);
      expect(Date.now() - started).toBeLessThan(5_000);

      // Each call tries again, and fails the same way.
      await expect(client.enqueueBatch([{ type: "t" }, { type: "u" }])).rejects.toBeInstanceOf(
        ConnectionError,
      );
    } finally {
      await client.close();
    }
  });

  it("fails with a ConnectionError when reconnection is disabled", async () => {
    const client = new Client({ host: "127.0.0.1", port: await deadPort(), retryStrategy: () => null });
    try {
      await expect(client.enqueue({ type: "t" })).rejects.toBeInstanceOf(ConnectionError);
    } finally {
      await client.close();
    }
  });

  it("fails at once under the defaults (a URL) instead of retrying 20 times", async () => {
    const client = new Client(`redis://127.0.0.1:${await deadPort()}/0`);
    try {
      const started = Date.now();
      const error = await rejection(client.enqueue({ type: "t" }));
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as Error).message).toMatch(/ECONNREFUSED/);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await client.close();
    }
  });

  it("fails Inspector reads with a ConnectionError", async () => {
    const port = await deadPort();
    const inspector = new Inspector({ host: "127.0.0.1", port, maxRetriesPerRequest: 1 });
    try {
      const started = Date.now();
      for (const call of [
        () => inspector.queues(),
        () => inspector.getTaskInfo("default", "x"),
        () => inspector.queueSizes("default"),
      ]) {
        const error = await rejection(call());
        expect(error).toBeInstanceOf(ConnectionError);
        expect((error as Error).message).toContain(`127.0.0.1:${port}`);
      }
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await inspector.close();
    }
  });

  it("validates commandTimeout and connectTimeout in one place, for every entry point", () => {
    for (const [field, value] of [
      ["commandTimeout", 0],
      ["commandTimeout", 99],
      ["connectTimeout", -1],
      ["connectTimeout", 1.5],
      ["commandTimeout", "5000"],
    ] as const) {
      const options = { [field]: value } as never;
      for (const [make, path] of [
        [() => new Client(testRedisUrl(), options), "options"],
        [() => new Inspector(testRedisUrl(), options), "options"],
        [() => new Server(testRedisUrl(), options), "config"],
      ] as const) {
        let error: unknown;
        try {
          make();
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).field).toBe(`${path}.${field}`);
      }
    }
  });
});
