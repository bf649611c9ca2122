// The fault-injection suite: a Server and a Client work through a TCP proxy while it misbehaves
// (resets, latency, lost replies, a black hole, half-open connections). After each fault is over
// (a silent connection is replaced within about 6 s, docs in the README's "Connections"):
// every task whose enqueue succeeded was handled at least once, none is stuck in a queue, every
// enqueue settled (resolved, or rejected with a typed error), and doctor finds nothing wrong.
import type { Redis } from "ioredis";
import { afterEach, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import { Client } from "../../src/client/client.js";
import { doctor } from "../../src/doctor/index.js";
import { AsynqError } from "../../src/errors.js";
import { FaultProxy } from "../support/fault-proxy.js";
import { queueSettled } from "../support/processes.js";
import { freshRedis, testDb, testRedisUrl } from "../support/redis.js";
import { sleep } from "../support/server-helpers.js";
import { startServer, waitFor } from "../support/server.js";

/** Tasks enqueued before the fault, and while it lasts. */
const BEFORE = 300;
const DURING = 200;

interface Fault {
  name: string;
  /** Starts the fault and returns once it is over (healed). */
  run: (proxy: FaultProxy) => Promise<void>;
}

const FAULTS: Fault[] = [
  {
    name: "every connection reset, twice",
    run: async (p) => {
      p.cut();
      await sleep(300);
      p.cut();
    },
  },
  {
    name: "50 ms of latency each way for 2 s",
    run: async (p) => {
      p.delay(50);
      await sleep(2000);
      p.heal();
    },
  },
  {
    name: "replies lost for 300 ms, three times, each followed by a reset",
    run: async (p) => {
      for (let i = 0; i < 3; i++) {
        p.dropReplies({ durationMs: 300 });
        await sleep(500);
      }
    },
  },
  {
    name: "a black hole for 3 s (connections accepted, nothing answered; old ones stay silent)",
    run: async (p) => {
      p.blackhole();
      await sleep(3000);
      p.heal();
    },
  },
  {
    name: "every connection half-open for good (silent, never reset; new ones work)",
    run: async (p) => {
      p.halfOpen();
      await sleep(1000);
    },
  },
];

let redis: Redis;
let proxy: FaultProxy;

beforeAll(async () => {
  redis = await freshRedis();
});
beforeEach(async () => {
  await redis.flushdb();
  proxy = await FaultProxy.start({ target: testRedisUrl() });
});
afterEach(async () => {
  await proxy.close();
});

describe("through a misbehaving connection", () => {
  it.each(FAULTS)("$name: nothing lost, nothing stuck, doctor clean", { timeout: 60_000 }, async (fault) => {
    const url = proxy.url(testDb());
    const handled = new Map<string, number>();
    const { server, logs } = await startServer(
      url,
      async (_task, ctx) => {
        handled.set(ctx.id, (handled.get(ctx.id) ?? 0) + 1);
        await sleep(2);
      },
      { concurrency: 10, logLevel: "warn" },
    );
    onTestFailed(() => {
      console.log(
        [...logs.map((l) => `${l.level}: ${l.message}`), `proxy: ${JSON.stringify(proxy.stats)}`].join("\n"),
      );
    });
    await using client = new Client(url);
    const accepted: string[] = [];
    const rejected: unknown[] = [];
    const enqueue = async (i: number): Promise<void> => {
      try {
        accepted.push((await client.enqueue({ type: "fault", payload: { i } })).id);
      } catch (error) {
        rejected.push(error);
      }
    };
    await Promise.all(Array.from({ length: BEFORE }, (_, i) => enqueue(i)));
    const during = (async () => {
      for (let i = 0; i < DURING; i++) {
        await enqueue(BEFORE + i);
        if (i % 20 === 0) await sleep(10);
      }
    })();
    await fault.run(proxy);
    await during; // every enqueue settled

    // A rejected enqueue is a typed error, never a hang or a bare Error.
    for (const error of rejected) expect(error).toBeInstanceOf(AsynqError);
    expect(accepted.length).toBeGreaterThan(BEFORE / 2);
    await waitFor(() => accepted.every((id) => handled.has(id)), "every accepted task handled", {
      timeoutMs: 30_000,
      intervalMs: 50,
    });
    await waitFor(() => queueSettled(redis, "default"), "the queue to settle", { timeoutMs: 20_000 });
    await server.shutdown();
    const report = await doctor(testRedisUrl());
    expect(report.clean, JSON.stringify(report, null, 1)).toBe(true);
  });
});
