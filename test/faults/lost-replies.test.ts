// Lost replies orphan no task: a Server works through a proxy that drops the replies of its dequeue
// calls (and resets the connection after each), and every task's handler still starts, at once,
// instead of waiting out a 30 s lease and being archived "lease expired" without ever having run.
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { LuaScript } from "../../src/broker/scripts.js";
import { Client } from "../../src/client/client.js";
import { doctor } from "../../src/doctor/index.js";
import * as keys from "../../src/wire/keys.js";
import { FaultProxy } from "../support/fault-proxy.js";
import { freshRedis, testDb, testRedisUrl } from "../support/redis.js";
import { sleep } from "../support/server-helpers.js";
import { startServer, waitFor } from "../support/server.js";

const TASKS = 2_000;
const dequeueSha = LuaScript.fromFile("fetch/dequeue").sha;

let redis: Redis;
let proxy: FaultProxy;

beforeAll(async () => {
  redis = await freshRedis();
  proxy = await FaultProxy.start({ target: testRedisUrl() });
});
afterAll(async () => {
  await proxy.close();
});

describe("lost dequeue replies", () => {
  it("every task's handler starts, none is archived, doctor is clean", { timeout: 60_000 }, async () => {
    await redis.flushdb();
    await using client = new Client(testRedisUrl());
    // maxRetry 0: a task orphaned by a lost reply would be archived when its lease ran out.
    const ids = await enqueueRetry0(client);

    const started = new Set<string>();
    const { server, logs } = await startServer(
      proxy.url(testDb()),
      async (task, ctx) => {
        started.add(ctx.id);
        await sleep(1 + (task.payload.length % 3));
      },
      { concurrency: 20 },
    );
    // Three rounds of lost replies while the server works, each followed by a reset.
    onTestFailed(() => {
      const lines = logs.map((l) => `${l.level}: ${l.message}`);
      console.log([...lines, `proxy: ${JSON.stringify(proxy.stats)}`, `started: ${started.size}`].join("\n"));
    });
    for (let round = 0; round < 3; round++) {
      await waitFor(() => started.size >= ((round + 1) * TASKS) / 5, `${(round + 1) * 20}% started`, {
        timeoutMs: 20_000,
      });
      proxy.dropReplies({ count: 1, match: (c) => c.name === "evalsha" && c.args[0] === dequeueSha });
    }
    // Far less than the 30 s lease: no task may wait for the recoverer.
    await waitFor(() => started.size === TASKS, "every handler started", { timeoutMs: 20_000 });
    expect(proxy.stats.droppedReplies).toBeGreaterThanOrEqual(3);
    expect([...started].sort()).toEqual([...ids].sort());
    await waitFor(async () => (await redis.llen(keys.activeKey("default"))) === 0, "active empty");
    await server.shutdown();
    expect(await redis.zcard(keys.archivedKey("default"))).toBe(0);
    expect(logs.filter((l) => l.message.includes("lease expired"))).toEqual([]);
    const report = await doctor(testRedisUrl());
    expect(report.clean, JSON.stringify(report.queues)).toBe(true);
  });
});

/** Enqueues the tasks with maxRetry 0 and returns their IDs. */
async function enqueueRetry0(client: Client): Promise<string[]> {
  const results = await client.enqueueBatch(
    Array.from({ length: TASKS }, (_, i) => ({
      type: "lost:reply",
      payload: String(i),
      options: { maxRetry: 0 },
    })),
  );
  return results.map((r) => {
    if (!r.ok) throw r.error;
    return r.info.id;
  });
}
