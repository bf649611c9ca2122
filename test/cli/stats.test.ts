// `asynq-ts stats` and `server ls` (built binary, real Redis): --json agrees with the Inspector while
// several servers run; --watch refreshes until interrupted.
import { ServeMux, Server, type Client, type Inspector } from "../../src/index.js";
import { beforeAll, describe, expect, it } from "vitest";
import { useRedisFixture } from "../support/fixture.js";
import { builtCli, cliJson, enqueueOn, inspectOn, runCli } from "./support.js";

const { url } = useRedisFixture();
const enqueue = (...args: Parameters<Client["enqueue"]>) => enqueueOn(url, ...args);
const withInspector = <T>(fn: (inspector: Inspector) => Promise<T>): Promise<T> => inspectOn(url, fn);

beforeAll(async () => {
  await builtCli();
}, 180_000);

describe("stats", () => {
  it("--json agrees with the Inspector on a Redis where several servers run", async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const mux = new ServeMux().handle("hold", async () => {
      await held;
    });
    const servers = [0, 1, 2].map(
      (i) =>
        new Server(url, {
          concurrency: 2,
          queues: { [`work${i % 2}`]: 1, default: 1 },
          logLevel: "error",
          heartbeatInterval: 100,
        }),
    );
    try {
      for (const server of servers) await server.start(mux);
      for (let i = 0; i < 3; i++) await enqueue({ type: "hold" }, { queue: "work0" });
      await enqueue({ type: "later" }, { queue: "other", processIn: 3_600_000 });
      await enqueue({ type: "later" }, { queue: "other", processIn: 3_600_000, group: "g" });
      const archived = await enqueue({ type: "dead" }, { queue: "other" });
      await withInspector((i) => i.archiveTask("other", archived.id));
      // Wait until the servers hold the three tasks and have reported them.
      await expect
        .poll(() => withInspector(async (i) => (await i.listWorkers()).length), { timeout: 10_000 })
        .toBe(3);

      const stats = await cliJson<{
        totals: Record<string, number>;
        queues: Array<Record<string, unknown>>;
        servers: number;
        workers: number;
        timestamp: string;
        redis: {
          version: string;
          uptimeSeconds: number;
          connectedClients: number;
          usedMemoryBytes: number;
          masters: number;
        };
      }>(["stats"]);
      const infos = await withInspector((i) => i.getQueueInfos());
      const counts = (q: Record<string, unknown>) => {
        const { timestamp: _t, latencyMs: _l, latency: _l2, memoryUsage: _m, ...rest } = q;
        return rest;
      };
      expect(stats.queues.map(counts)).toEqual(infos.map((q) => counts({ ...q })));
      expect(stats.servers).toBe(3);
      expect(stats.workers).toBe(3);
      expect(stats.totals).toMatchObject({ active: 3, scheduled: 2, archived: 1, pending: 0 });
      expect(stats.totals.size).toBe(infos.reduce((n, q) => n + q.size, 0));
      expect(Date.parse(stats.timestamp)).toBeGreaterThan(0);
      const info = await withInspector((i) => i.redisInfo());
      expect(stats.redis.version).toBe(info.redis_version);
      expect(stats.redis.connectedClients).toBeGreaterThan(0);
      expect(stats.redis.usedMemoryBytes).toBeGreaterThan(0);
      expect(stats.redis.masters).toBe(1);

      const text = await runCli(["stats"]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/Task Count by State/);
      expect(text.stdout).toMatch(/^work0\s+3\s+3\s/m);
      expect(text.stdout).toMatch(/3 servers, 3 active workers/);
      expect(text.stdout).toMatch(/Redis Info/);
      expect(text.stdout).toContain(info.redis_version);

      const servers2 = await cliJson<
        Array<{ serverId: string; activeWorkerCount: number; queues: Record<string, number> }>
      >(["server", "ls"]);
      expect(servers2.map((s) => s.serverId).sort()).toEqual(
        (await withInspector((i) => i.listServers())).map((s) => s.serverId).sort(),
      );
      const serverText = await runCli(["server", "ls"]);
      expect(serverText.stdout.split("\n").filter((l) => /\bactive\b/.test(l))).toHaveLength(3);
    } finally {
      release();
      await Promise.all(servers.map((s) => s.shutdown()));
    }
  });

  it("--watch refreshes until interrupted", async () => {
    await enqueue({ type: "t" }, { queue: "w" });
    const cli = await builtCli();
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, [cli, "stats", "--watch", "0.2", "--json"], {
      env: { ...process.env, REDIS_URL: url },
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    await expect
      .poll(() => out.split("\n").filter(Boolean).length, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(3);
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(0);
    for (const line of out.trim().split("\n")) expect(JSON.parse(line)).toHaveProperty("totals.pending", 1);
  });
});
