// Failing loud at start: a Client's first call, an Inspector's first call and Server.start() reject
// with a ConnectionError that names the address, the DB and the cause, within connectTimeout, and
// write nothing anywhere: a DB index the server rejects (no silent fallback to DB 0), a closed port,
// an unknown host, a wrong or missing password (a private redis-server with requirepass), a server
// that accepts the connection but never answers. A server whose start failed can start again later.
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import { AsynqError, BrokerError, ConnectionError } from "../../src/errors.js";
import { doctor } from "../../src/doctor/index.js";
import { Inspector } from "../../src/inspector/inspector.js";
import { Server } from "../../src/server/server.js";
import * as keys from "../../src/wire/keys.js";
import { findOnPath, freePort, ping } from "../../tools/redis.js";
import { FaultProxy } from "../support/fault-proxy.js";
import { testDb, testRedisUrl } from "../support/redis.js";
import { waitFor } from "../support/server.js";

/** `redis://host:port` of the shared Redis, without a DB index. */
const base = testRedisUrl().replace(/\/\d*$/, "");
/** Read-only look at DB 0 (other tests and the demo may use it: we only read our own keys). */
let db0: Redis;
/** Durations measured here, printed at the end for the record. */
const measured: string[] = [];

beforeAll(() => {
  db0 = new Redis(`${base}/0`, { lazyConnect: true });
});
afterAll(() => {
  db0.disconnect();
  console.log(`[connection-start] ${measured.join("; ")}`);
});

interface Attempt {
  error: ConnectionError;
  ms: number;
}

/** Runs `call`, expects a ConnectionError, and returns it with how long the call took. */
async function connectionError(what: string, call: () => Promise<unknown>): Promise<Attempt> {
  const started = performance.now();
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  const ms = Math.round(performance.now() - started);
  measured.push(`${what}: ${ms} ms`);
  expect(error, `${what} should fail`).toBeInstanceOf(ConnectionError);
  expect(error).toBeInstanceOf(BrokerError);
  expect(error).toBeInstanceOf(AsynqError);
  expect((error as ConnectionError).code).toBe("ERR_CONNECTION");
  return { error: error as ConnectionError, ms };
}

/** The three entry points, each with a queue of its own; each closes what it opened. */
function entryPoints(url: string, queue: string) {
  return {
    client: async () => {
      const client = new Client(url);
      try {
        await client.enqueue({ type: "t" }, { queue });
      } finally {
        await client.close();
      }
    },
    inspector: async () => {
      const inspector = new Inspector(url);
      try {
        await inspector.queues();
      } finally {
        await inspector.close();
      }
    },
    server: async (onServer?: (server: Server) => void) => {
      const server = new Server(url, { queues: { [queue]: 1 }, logLevel: "silent", shutdownTimeout: 500 });
      onServer?.(server);
      try {
        await server.start(() => Promise.resolve());
      } finally {
        await server.shutdown();
      }
    },
  };
}

/** Asserts that nothing of `queue` (nor of the server) was written to DB 0 of the shared Redis. */
async function expectNothingInDb0(queue: string, serverId?: string): Promise<void> {
  expect(await db0.sismember(keys.ALL_QUEUES, queue)).toBe(0);
  expect(await db0.exists(keys.pendingKey(queue), keys.activeKey(queue))).toBe(0);
  expect(await db0.keys(`asynq:{${queue}}:*`)).toEqual([]);
  if (serverId !== undefined) {
    expect(await db0.exists(keys.serverInfoKey(hostname(), process.pid, serverId))).toBe(0);
  }
}

describe("a DB index the server rejects", () => {
  it("fails every entry point with the DB and the cause, and writes nothing to DB 0", async () => {
    const queue = `start-db-${randomUUID()}`;
    const url = `${base}/99`;
    const entry = entryPoints(url, queue);
    let serverId: string | undefined;
    for (const [name, call] of [
      ["client", entry.client],
      ["inspector", entry.inspector],
      ["server.start", () => entry.server((s) => (serverId = s.id))],
      ["doctor --fix", () => doctor(url, { fix: true })],
    ] as const) {
      const { error, ms } = await connectionError(`wrong DB (${name})`, call);
      expect(error.db).toBe(99);
      expect(error.message).toContain("(db 99)");
      expect(error.message).toContain("DB index is out of range");
      expect(error.message).toContain(new URL(base).host);
      expect(ms).toBeLessThan(6000);
    }
    await expectNothingInDb0(queue, serverId);
  });
});

describe("a Redis that cannot be reached", () => {
  it("names the address and ECONNREFUSED for a closed port, within 6 s", async () => {
    const port = await freePort();
    const entry = entryPoints(`redis://127.0.0.1:${port}/0`, "q");
    for (const [name, call] of Object.entries(entry)) {
      const { error, ms } = await connectionError(`closed port (${name})`, () => call());
      expect(error.message).toContain(`127.0.0.1:${port}`);
      expect(error.message).toContain("ECONNREFUSED");
      expect(error.address).toBe(`127.0.0.1:${port}`);
      expect(ms).toBeLessThan(6000);
    }
  });

  it("names the host and ENOTFOUND for an unknown host", async () => {
    const host = `asynq-ts-${randomUUID().slice(0, 8)}.invalid`;
    const entry = entryPoints(`redis://${host}:6379/0`, "q");
    for (const [name, call] of Object.entries(entry)) {
      const { error, ms } = await connectionError(`unknown host (${name})`, () => call());
      expect(error.message).toContain(`${host}:6379`);
      expect(error.message).toContain("ENOTFOUND");
      expect(ms).toBeLessThan(6000);
    }
  });

  it("fails within connectTimeout when the server accepts the connection but never answers", async () => {
    const proxy = await FaultProxy.start({ target: testRedisUrl() });
    try {
      proxy.blackhole();
      const url = proxy.url(testDb());
      const { error, ms } = await connectionError("silent server (client, default 5 s)", async () => {
        await using client = new Client(url);
        await client.enqueue({ type: "t" });
      });
      expect(error.message).toContain(`127.0.0.1:${proxy.port}`);
      expect(error.message).toContain("no answer within 5000 ms (connectTimeout)");
      expect(ms).toBeGreaterThanOrEqual(4900);
      expect(ms).toBeLessThan(6500);

      const server = new Server(url, { connectTimeout: 1000, logLevel: "silent" });
      const fast = await connectionError("silent server (server.start, 1 s)", () =>
        server.start(() => Promise.resolve()),
      );
      expect(fast.error.message).toContain("no answer within 1000 ms");
      expect(fast.ms).toBeLessThan(2500);
      await server.shutdown();
    } finally {
      await proxy.close();
    }
  });

  it("lets a server whose start failed start again once Redis is there", async () => {
    const redis = await PrivateRedis.start();
    await redis.stop();
    const done: string[] = [];
    const server = new Server(redis.url, { logLevel: "silent", shutdownTimeout: 500, pollInterval: 20 });
    try {
      await connectionError("closed port (server.start, before a retry)", () =>
        server.start(() => Promise.resolve()),
      );
      await redis.start();
      await server.start((task) => {
        done.push(task.type);
        return Promise.resolve();
      });
      await using client = new Client(redis.url);
      await client.enqueue({ type: "after-retry" });
      await waitFor(() => done.length === 1, "the task processed after the second start");
      expect(done).toEqual(["after-retry"]);
    } finally {
      await server.shutdown();
      await redis.dispose();
    }
  });
});

describe("a Redis that requires a password", () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await PrivateRedis.start(["--requirepass", "s3cret"]);
  });
  afterAll(async () => {
    await redis.dispose();
  });

  it("names WRONGPASS for a wrong password, and NOAUTH for none, writing nothing", async () => {
    const queue = `start-auth-${randomUUID()}`;
    for (const [label, url, cause] of [
      ["wrong password", `redis://:wrong@127.0.0.1:${redis.port}/0`, "WRONGPASS"],
      ["no password", `redis://127.0.0.1:${redis.port}/0`, "NOAUTH"],
    ] as const) {
      for (const [name, call] of Object.entries(entryPoints(url, queue))) {
        const { error, ms } = await connectionError(`${label} (${name})`, () => call());
        expect(error.message).toContain(`127.0.0.1:${redis.port}`);
        expect(error.message).toContain(cause);
        expect(ms).toBeLessThan(6000);
      }
    }
    const admin = new Redis(`redis://:s3cret@127.0.0.1:${redis.port}/0`);
    try {
      expect(await admin.dbsize()).toBe(0);
      // The right password works.
      await using client = new Client(`redis://:s3cret@127.0.0.1:${redis.port}/0`);
      await client.enqueue({ type: "t" }, { queue });
      expect(await admin.sismember(keys.ALL_QUEUES, queue)).toBe(1);
    } finally {
      admin.disconnect();
    }
  });
});

/** A redis-server of this file's own, on a free port, that can be stopped and started again. */
class PrivateRedis {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), "asynq-ts-conn-"));

  private constructor(
    readonly port: number,
    private readonly extra: readonly string[],
  ) {}

  static async start(extra: readonly string[] = []): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort(), extra);
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async start(): Promise<void> {
    const binary = findOnPath("redis-server");
    if (binary === undefined) throw new Error("redis-server is not installed");
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
    this.child = spawn(binary, [...args, "--dir", this.dir, ...this.extra], { stdio: "ignore" });
    await waitFor(() => ping("127.0.0.1", this.port), `redis-server on port ${this.port}`, {
      timeoutMs: 10_000,
      intervalMs: 20,
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
