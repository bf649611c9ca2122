// Outages after a successful start: the Server waits them out and resumes by itself, and says so once
// each way per outage ("connection lost: …", "connection back after N s"), not once per reconnection
// attempt. A shutdown while Redis is down stays within shutdownTimeout + 1 s and a few 50 ms steps
// (the issue saw 13 s against the default 8 s). Redis here is a private redis-server the test stops and starts again.
import { afterEach, describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import { Server } from "../../src/server/server.js";
import { killAll, sleep, spawnWorker, startPrivateRedis } from "../support/processes.js";
import { collectingLogger, deferred, waitFor } from "../support/server.js";

afterEach(async () => {
  await killAll();
});

describe("an outage after start", () => {
  it("is logged once when it starts and once when it ends, each time", { timeout: 60_000 }, async () => {
    const redis = await startPrivateRedis();
    const { logger, lines, text } = collectingLogger();
    const processed: string[] = [];
    const server = new Server(redis.url, {
      logger,
      logLevel: "debug",
      pollInterval: 50,
      heartbeatInterval: 200,
      shutdownTimeout: 500,
    });
    const client = new Client(redis.url);
    try {
      await server.start((task) => {
        processed.push(String(Buffer.from(task.payload)));
        return Promise.resolve();
      });
      for (const outage of [1, 2]) {
        await client.enqueue({ type: "t", payload: `before-${outage}` });
        await waitFor(() => processed.includes(`before-${outage}`), `a task before outage ${outage}`);
        await redis.stop("SIGKILL");
        // Long enough for many reconnection attempts (ioredis retries every 50 ms to 2 s).
        await sleep(3000);
        await redis.start();
        await waitFor(
          () => lines.filter((l) => l.message.includes("connection back")).length === outage,
          `"connection back" after outage ${outage}`,
          { timeoutMs: 15_000 },
        );
        await client.enqueue({ type: "t", payload: `after-${outage}` });
        await waitFor(() => processed.includes(`after-${outage}`), `a task after outage ${outage}`, {
          timeoutMs: 10_000,
        });
      }
      const lost = lines.filter((l) => l.message.includes("connection lost"));
      const back = lines.filter((l) => l.message.includes("connection back"));
      expect(lost, text()).toHaveLength(2);
      expect(back, text()).toHaveLength(2);
      for (const line of lost) {
        expect(line.level).toBe("warn");
        expect(line.message).toContain(`127.0.0.1:${redis.port}`);
      }
      for (const line of back) {
        expect(line.level).toBe("info");
        expect(line.message).toMatch(/connection back after \d+\.\d s/);
      }
      // In order: lost, back, lost, back.
      const order = lines
        .filter((l) => /connection (lost|back)/.test(l.message))
        .map((l) => (l.message.includes("lost") ? "lost" : "back"));
      expect(order).toEqual(["lost", "back", "lost", "back"]);
    } finally {
      await client.close();
      await server.shutdown();
    }
  });
});

describe("a shutdown while Redis is down", () => {
  it(
    "takes shutdownTimeout + 1 s with the default 8 s (the issue saw 13 s)",
    { timeout: 60_000 },
    async () => {
      const redis = await startPrivateRedis();
      const { logger, text } = collectingLogger();
      const server = new Server(redis.url, { logger, logLevel: "debug", pollInterval: 50 });
      const started = deferred();
      try {
        // A handler that ignores its signal: the shutdown waits all of shutdownTimeout for it.
        await server.start(() => {
          started.resolve();
          return new Promise<void>(() => {});
        });
        await using client = new Client(redis.url);
        await client.enqueue({ type: "stuck" });
        await started.promise;
        await redis.stop("SIGKILL");
        const begun = performance.now();
        await server.shutdown();
        const ms = Math.round(performance.now() - begun);
        console.log(`[connection-outage] shutdown with Redis down took ${ms} ms (shutdownTimeout 8000)`);
        expect(ms, text()).toBeGreaterThanOrEqual(8000);
        // shutdownTimeout + 1 s by design (9.1 s here); the rest is margin for a loaded machine.
        expect(ms, text()).toBeLessThan(11_000);
      } finally {
        await server.shutdown();
      }
    },
  );
});

describe("SIGTERM while Redis is down", () => {
  it(
    "a worker process whose handler never settles exits within shutdownTimeout + 1 s (the issue saw 13 s)",
    { timeout: 60_000 },
    async () => {
      const redis = await startPrivateRedis();
      const worker = spawnWorker({
        redisUrl: redis.url,
        name: "stuck",
        pollInterval: 50,
        defaultLogging: true,
      });
      await worker.ready;
      {
        await using client = new Client(redis.url);
        await client.enqueue({ type: "sleep", payload: { hang: true } });
      }
      await waitFor(() => worker.lines.some((l) => l.text.startsWith("START ")), "the task to start");
      await redis.stop("SIGKILL");
      const begun = performance.now();
      worker.signal("SIGTERM");
      const exit = await worker.exited;
      const ms = Math.round(performance.now() - begun);
      console.log(`[connection-outage] SIGTERM to exit with Redis down: ${ms} ms (shutdownTimeout 8000)`);
      expect(exit, worker.stderr()).toEqual({ code: 0, signal: null });
      // The default shutdownTimeout of 8 s, and at most one more second for everything else (9.1 s
      // here); the rest of the margin is for a loaded machine. Before the fix: 16 s.
      expect(ms, worker.stderr()).toBeGreaterThanOrEqual(8000);
      expect(ms, worker.stderr()).toBeLessThan(11_000);
      // The shutdown said what it did with the task it cut off.
      expect(worker.stderr()).toMatch(
        /shutdown: 1 task\(s\) still running after shutdownTimeout \(8000 ms\)/,
      );
    },
  );
});
