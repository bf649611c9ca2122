// The healthCheck callback end to end: called every healthCheckInterval with null while Redis answers
// PING, with an Error while it is away, and with null again once it is back. The outage is a private
// redis-server this file starts and stops (never the Redis other test files share). A failed check
// also replaces a connection that went half-open (through test/support/fault-proxy.ts).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ping } from "../../tools/redis.js";
import { Server } from "../../src/server/server.js";
import { FaultProxy } from "../support/fault-proxy.js";
import { testDb, testRedisUrl } from "../support/redis.js";
import { sleep } from "../support/server-helpers.js";
import { collectingLogger, startServer, TEST_SERVER_DEFAULTS, waitFor } from "../support/server.js";

interface HealthCall {
  at: number;
  error: Error | null;
}

/** A private redis-server on a fixed port, which the test can stop and start again. */
class PrivateRedis {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), "asynq-ts-health-"));

  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    if (this.child !== undefined) return;
    const child = spawn(
      "redis-server",
      [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        this.dir,
      ],
      { stdio: "ignore" },
    );
    this.child = child;
    child.once("exit", () => {
      if (this.child === child) this.child = undefined;
    });
    await waitFor(() => ping("127.0.0.1", this.port), `redis-server on port ${this.port}`, {
      timeoutMs: 10_000,
      intervalMs: 20,
    });
  }

  /** Kills the server (no graceful SHUTDOWN: it simply goes away) and waits until it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    this.child = undefined;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const privateRedises = new Set<PrivateRedis>();
afterEach(async () => {
  const all = [...privateRedises];
  privateRedises.clear();
  await Promise.all(all.map((r) => r.dispose()));
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

/** Time between consecutive calls, ms. */
function gaps(calls: readonly HealthCall[]): number[] {
  return calls.slice(1).map((c, i) => c.at - calls[i]!.at);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe("healthCheck", () => {
  it("is called every healthCheckInterval with null while Redis answers, and not after shutdown", async () => {
    const interval = 100;
    const calls: HealthCall[] = [];
    const startedAt = Date.now();
    const { server } = await startServer(testRedisUrl(), () => Promise.resolve(), {
      healthCheck: (error) => calls.push({ at: Date.now(), error }),
      healthCheckInterval: interval,
    });
    await waitFor(() => calls.length >= 8, "8 health checks", { timeoutMs: 10_000 });
    expect(calls.every((c) => c.error === null)).toBe(true);
    // The first check comes one interval after start; then one per interval, never more often. A
    // ping slowed by a busy machine brings its callback closer to the next one, so the rate is
    // measured over all the calls, not gap by gap.
    expect(calls[0]!.at - startedAt).toBeGreaterThanOrEqual(interval - 5);
    const g = gaps(calls);
    const meanGap = (calls.at(-1)!.at - calls[0]!.at) / g.length;
    expect(meanGap).toBeGreaterThanOrEqual(interval - 10);
    expect(median(g)).toBeLessThanOrEqual(interval * 2.5);

    await server.shutdown();
    const count = calls.length;
    await sleep(interval * 4);
    expect(calls).toHaveLength(count);
  });

  it("is called with an Error while Redis is away, and with null again once it is back", async () => {
    const redis = new PrivateRedis(await freePort());
    privateRedises.add(redis);
    await redis.start();
    const interval = 200;
    const calls: HealthCall[] = [];
    const { logger } = collectingLogger(); // the other components complain during the outage
    const server = new Server(redis.url, {
      ...TEST_SERVER_DEFAULTS,
      logger,
      healthCheck: (error) => calls.push({ at: Date.now(), error }),
      healthCheckInterval: interval,
    });
    try {
      await server.start(() => Promise.resolve());
      await waitFor(() => calls.length >= 3, "3 health checks", { timeoutMs: 10_000 });
      expect(calls.every((c) => c.error === null)).toBe(true);

      await redis.stop();
      const downAt = Date.now();
      const failure = await waitFor(
        () => calls.find((c) => c.at > downAt && c.error !== null),
        "a health check reporting the outage",
        { timeoutMs: 10_000 },
      );
      expect(failure.error).toBeInstanceOf(Error);
      expect(failure.error!.message).not.toBe("");
      // It keeps reporting while Redis stays away.
      await waitFor(
        () => calls.filter((c) => c.at > downAt && c.error !== null).length >= 2,
        "a second failed health check",
        { timeoutMs: 10_000 },
      );
      expect(calls.filter((c) => c.at > downAt + 100).every((c) => c.error !== null)).toBe(true);

      await redis.start();
      const upAt = Date.now();
      const recovered = await waitFor(
        () => calls.find((c) => c.at > upAt && c.error === null),
        "a healthy check after Redis came back",
        { timeoutMs: 15_000 },
      );
      expect(recovered.error).toBeNull();
      // Healthy from then on.
      const index = calls.indexOf(recovered);
      await waitFor(() => calls.length >= index + 3, "two more health checks", { timeoutMs: 10_000 });
      expect(calls.slice(index).every((c) => c.error === null)).toBe(true);
    } finally {
      // Shutdown needs Redis (it waits out outages): bring it back first if the test failed mid-outage.
      await redis.start();
      await server.shutdown();
    }
  });
});

describe("a failed health check", () => {
  it(
    "replaces a half-open connection at once, without waiting for commandTimeout",
    { timeout: 30_000 },
    async () => {
      const proxy = await FaultProxy.start({ target: testRedisUrl() });
      const calls: HealthCall[] = [];
      try {
        // commandTimeout 60 s: the watchdog would wait a minute; only the health check can act sooner.
        const { logs } = await startServer(proxy.url(testDb()), () => Promise.resolve(), {
          healthCheck: (error) => calls.push({ at: Date.now(), error }),
          healthCheckInterval: 300,
          commandTimeout: 60_000,
        });
        await waitFor(() => calls.length >= 2, "two health checks", { timeoutMs: 10_000 });
        expect(calls.every((c) => c.error === null)).toBe(true);
        const accepted = proxy.stats.accepted;

        proxy.halfOpen();
        const silencedAt = Date.now();
        const failure = await waitFor(
          () => calls.find((c) => c.at > silencedAt && c.error !== null),
          "a failed health check",
          { timeoutMs: 10_000 },
        );
        expect(failure.error!.message).toMatch(/did not answer PING/);
        const healthy = await waitFor(
          () => calls.find((c) => c.at > failure.at && c.error === null),
          "a healthy check on the new connection",
          { timeoutMs: 10_000 },
        );
        console.log(
          `[health] healthy again ${healthy.at - silencedAt} ms after the connection went half-open`,
        );
        // Well before the minute of commandTimeout: the failed check made the server reconnect.
        expect(healthy.at - silencedAt).toBeLessThan(15_000);
        expect(proxy.stats.accepted).toBeGreaterThan(accepted);
        const lines = logs.map((l) => l.message);
        expect(lines.filter((l) => l.includes("connection lost"))).toHaveLength(1);
      } finally {
        await proxy.close();
      }
    },
  );
});
