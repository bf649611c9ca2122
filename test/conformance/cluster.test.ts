// What only a Redis Cluster can show (run by `npm run test:conformance -- cluster`): queues spread over
// the masters by their `{queue}` hash tag, the idle wait (BLMOVE) on the master of each queue, the
// cancelation channel, pipelines and SCAN across masters, a Cluster the caller owns, and the seed forms.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Cluster, Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import { clusterScanStep, duplicateConnection, splitPipeline } from "../../src/broker/connection/cluster.js";
import { parseConnectionUrl } from "../../src/broker/connection/url.js";
import { doctor } from "../../src/doctor/index.js";
import { Inspector } from "../../src/inspector/inspector.js";
import { Scheduler } from "../../src/scheduler/scheduler.js";
import * as keys from "../../src/wire/keys.js";
import { useRedisFixture } from "../support/fixture.js";
import { waitFor } from "../support/server-helpers.js";
import { startServer } from "../support/server.js";
import { queuesOnMasters } from "./support.js";

const { redis, url } = useRedisFixture();

/** The seed nodes of the test cluster. */
function seeds(): Array<{ host: string; port: number }> {
  const parsed = parseConnectionUrl(new URL(url), url, "test");
  if (parsed.kind !== "cluster") throw new Error(`not a cluster URL: ${url}`);
  return parsed.nodes as Array<{ host: string; port: number }>;
}

/** A connection to one node, closed when the callback settles. */
async function onNode<T>(addr: string, fn: (node: Redis) => Promise<T>): Promise<T> {
  const [host, port] = addr.split(":");
  const node = new Redis({ host, port: Number(port), lazyConnect: true });
  await node.connect();
  try {
    return await fn(node);
  } finally {
    node.disconnect();
  }
}

/** The address of the master that serves `queue`'s slot, from the Inspector. */
async function masterOf(inspector: Inspector, queue: string): Promise<string> {
  const [master] = await inspector.clusterNodes(queue);
  if (master === undefined) throw new Error(`no node serves ${queue}`);
  return master.addr;
}

describe("queues spread over the masters", () => {
  it("processes the tasks of queues on three masters with one server, each queue's keys on its master", async () => {
    await using inspector = new Inspector(url);
    await using client = new Client(url);
    const queues = await queuesOnMasters(inspector, 3);
    const enqueued = new Set<string>();
    for (const queue of queues.keys()) {
      for (let i = 0; i < 20; i++)
        enqueued.add((await client.enqueue({ type: "t", payload: i }, { queue })).id);
    }
    const done = new Set<string>();
    await startServer(url, (_task, ctx) => void done.add(ctx.id), {
      concurrency: 4,
      queues: Object.fromEntries([...queues.keys()].map((q) => [q, 1])),
    });
    await waitFor(() => done.size === enqueued.size, { message: "every task processed" });
    expect([...done].sort()).toEqual([...enqueued].sort());
    for (const [queue, master] of queues) {
      // The counters of each queue are on the master of its slot, not on the others.
      expect(await onNode(master, (node) => node.get(keys.processedTotalKey(queue)))).toBe("20");
    }
    expect(new Set(queues.values()).size).toBe(3);
    expect((await inspector.queues()).sort()).toEqual([...queues.keys()].sort());
  });

  it("waits for new tasks with BLMOVE on the master of each queue, and wakes on a new task", async () => {
    await using inspector = new Inspector(url);
    await using client = new Client(url);
    const queues = await queuesOnMasters(inspector, 2);
    const done = new Set<string>();
    await startServer(url, (_task, ctx) => void done.add(ctx.id), {
      // A poll interval far beyond the test's wait: only the blocking wait can wake the server in time.
      pollInterval: 60_000,
      queues: Object.fromEntries([...queues.keys()].map((q) => [q, 1])),
    });
    for (const [queue, master] of queues) {
      const blocked = async (): Promise<boolean> =>
        onNode(master, async (node) => {
          const list = String(await node.call("CLIENT", "LIST"));
          return list.split("\n").some((l) => l.includes("name=asynq-ts:waiter") && l.includes("cmd=blmove"));
        });
      await waitFor(blocked, { message: `a BLMOVE on ${master} for ${queue}` });
    }
    const [last] = [...queues.keys()].slice(-1);
    const info = await client.enqueue({ type: "wake" }, { queue: last });
    await waitFor(() => done.has(info.id), { message: "the task to be processed" });
  });
});

describe("the cancelation channel", () => {
  it("aborts a running task canceled through another node", async () => {
    await using inspector = new Inspector(url);
    await using client = new Client(url);
    let started = false;
    let reason: unknown;
    await startServer(url, async (_task, ctx) => {
      started = true;
      await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
      reason = ctx.signal.reason;
      throw ctx.signal.reason;
    });
    const info = await client.enqueue({ type: "long" }, { maxRetry: 0 });
    await waitFor(() => started, { message: "the task to start" });
    // The count is of the subscribers on every node (cluster-halfopen.test.ts); cancel until the
    // server's subscription, made as the server started, has heard it.
    let heard = 0;
    await waitFor(
      async () => {
        heard = Math.max(heard, await inspector.cancelProcessing(info.id));
        return reason !== undefined;
      },
      { message: "the task to be aborted", interval: 200 },
    );
    expect(reason).toMatchObject({ reason: "canceled" });
    expect(heard).toBeGreaterThanOrEqual(1);
  });
});

describe("cross-slot plumbing", () => {
  it("splits a pipeline over the masters, in order, with each command's own error", async () => {
    const a = keys.pendingKey("pa");
    const b = keys.pendingKey("pb");
    await redis.set("asynq:{pb}:wrong", "x");
    const [cluster] = [new Cluster(seeds(), { lazyConnect: true })];
    try {
      await cluster.connect();
      const replies = await splitPipeline(cluster)
        .rpush(a, "1")
        .rpush(b, "2")
        .sadd(keys.ALL_QUEUES, "pa")
        .lpush("asynq:{pb}:wrong", "y")
        .lrange(a, 0, -1)
        .exec();
      expect(replies?.map(([error]) => error?.message.slice(0, 9) ?? null)).toEqual([
        null,
        null,
        null,
        "WRONGTYPE",
        null,
      ]);
      expect(replies?.map(([, reply]) => reply)).toEqual([1, 1, 1, null, ["1"]]);
    } finally {
      cluster.disconnect();
    }
  });

  it("scans every master, and the doctor sees every key", async () => {
    await using inspector = new Inspector(url);
    const queues = await queuesOnMasters(inspector, 3);
    for (const queue of queues.keys()) {
      for (let i = 0; i < 30; i++) await redis.set(`asynq:{${queue}}:x${i}`, "1");
    }
    const found: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await clusterScanStep(redis, cursor, "asynq:*", 7);
      found.push(...batch);
      cursor = next;
    } while (cursor !== "0");
    expect(new Set(found).size).toBe(90);
    const report = await doctor(url);
    expect(report.scannedKeys).toBeGreaterThanOrEqual(90);
  });

  it("duplicates a Cluster as a Cluster whose nodes get the overrides", () => {
    const cluster = new Cluster(seeds(), { lazyConnect: true, redisOptions: { password: undefined } });
    const copy = duplicateConnection(cluster as unknown as Redis, { connectionName: "copy" });
    expect(copy).toBeInstanceOf(Cluster);
    expect((copy as unknown as Cluster).options.redisOptions?.connectionName).toBe("copy");
    cluster.disconnect();
    copy.disconnect();
  });
});

describe("connections", () => {
  it("uses a Cluster the caller owns and leaves it open", async () => {
    const cluster = new Cluster(seeds());
    try {
      const client = new Client(cluster);
      const info = await client.enqueue({ type: "own" }, { queue: "owned" });
      await client.close();
      expect(cluster.status).toBe("ready");
      expect(await cluster.hget(keys.taskKey("owned", info.id), "state")).toBe("pending");
    } finally {
      cluster.disconnect();
    }
  });

  it("opens a Cluster from seed nodes and closes it", async () => {
    const client = new Client({ clusterNodes: seeds().slice(0, 1) });
    const info = await client.enqueue({ type: "seeded" }, { queue: "seeded" });
    await client.close();
    expect(await redis.hget(keys.taskKey("seeded", info.id), "state")).toBe("pending");
  });

  it("lists the server, whose registry and workers keys are in other slots", async () => {
    await using inspector = new Inspector(url);
    const { server } = await startServer(url, () => {}, { queues: { default: 1 } });
    await waitFor(async () => (await inspector.listServers()).length === 1, { message: "the heartbeat" });
    const [listed] = await inspector.listServers();
    expect(listed?.queues).toEqual({ default: 1 });
    await server.shutdown();
    expect(await inspector.listServers()).toEqual([]);
  });

  it("answers the cluster helpers: the slot of a queue and the master that serves it", async () => {
    await using inspector = new Inspector(url);
    const slot = await inspector.clusterKeySlot("default");
    expect(slot).toBe(await redis.call("CLUSTER", "KEYSLOT", "asynq:{default}:pending"));
    const master = await masterOf(inspector, "default");
    await onNode(master, async (node) => {
      await node.lpush(keys.pendingKey("default"), "x");
      expect(await node.llen(keys.pendingKey("default"))).toBe(1);
    });
  });
});

describe("the scheduler", () => {
  it("enqueues each entry's ticks into queues on two masters, lists its entries and history, and cleans up", async () => {
    await using inspector = new Inspector(url);
    const [a, b] = [...(await queuesOnMasters(inspector, 2)).keys()];
    const scheduler = new Scheduler(url, { heartbeatInterval: 100 });
    const ids = [a!, b!].map((queue) => scheduler.register("@every 1s", { type: "tick" }, { queue }));
    await scheduler.start();
    try {
      await waitFor(
        async () => {
          const sizes = await Promise.all([a!, b!].map((q) => redis.llen(keys.pendingKey(q))));
          return sizes.every((n) => n >= 2);
        },
        { message: "two ticks enqueued into each queue", timeout: 10_000 },
      );
      expect((await inspector.listSchedulerEntries()).map((e) => e.id).sort()).toEqual([...ids].sort());
      for (const id of ids)
        expect((await inspector.listSchedulerEnqueueEvents(id)).length).toBeGreaterThanOrEqual(2);
    } finally {
      await scheduler.shutdown();
    }
    expect(await inspector.listSchedulerEntries()).toEqual([]);
    expect(await redis.zcard(keys.ALL_SCHEDULERS)).toBe(0);
  });
});

describe("the command line", () => {
  it("reaches the cluster with --cluster-addrs and with --cluster, and refuses another DB", async () => {
    await using client = new Client(url);
    await using inspector = new Inspector(url);
    const queues = [...(await queuesOnMasters(inspector, 3)).keys()];
    for (const queue of queues) await client.enqueue({ type: "t" }, { queue });
    const [first, second] = seeds();
    const run = (...args: string[]) =>
      spawnSync("npx", ["tsx", "src/cli/main.ts", ...args], {
        cwd: fileURLToPath(new URL("../../", import.meta.url)),
        encoding: "utf8",
        env: { ...process.env, REDIS_URL: "" },
        timeout: 60_000,
      });
    const addrs = `${first!.host}:${first!.port},${second!.host}:${second!.port}`;
    const listed = run("--cluster-addrs", addrs, "queue", "ls");
    expect(listed.stderr).toBe("");
    expect(listed.stdout.trim().split("\n").sort()).toEqual([...queues].sort());
    const viaUri = run("--cluster", "-u", `${second!.host}:${second!.port}`, "queue", "ls");
    expect(viaUri.stdout.trim().split("\n").sort()).toEqual([...queues].sort());
    // stats sums the masters' INFO (a keyless INFO would go to any one of them).
    const stats = run("--cluster-addrs", addrs, "stats", "--json");
    expect(stats.stderr).toBe("");
    const { redis } = JSON.parse(stats.stdout) as { redis: { masters: number; usedMemoryBytes: number } };
    expect(redis.masters).toBe(3);
    const memory = await inspector.clusterRedisInfo();
    const one = Math.max(...memory.map((n) => Number(n.info.used_memory)));
    expect(redis.usedMemoryBytes).toBeGreaterThan(one);
    const refused = run("--cluster", "-n", "3", "queue", "ls");
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain("a Redis Cluster has only DB 0");
  }, 120_000);
});
