// Server against a real Redis: weighted and strict queue priority (wire-format §5.2), paused queues.
import { describe, expect, it } from "vitest";
import type { HandlerTask } from "../../src/server/mux.js";
import type { TaskContext } from "../../src/server/context.js";
import { Server } from "../../src/server/server.js";
import type { ServerConfig } from "../../src/server/config.js";
import * as keys from "../../src/wire/keys.js";
import { countCommands, enqueueMany, sleep, track, waitFor } from "../support/server-helpers.js";
import { useRedisFixture } from "../support/fixture.js";
import { testDb, testRedisUrl } from "../support/redis.js";

const { redis, client } = useRedisFixture({ client: true });

function server(config: ServerConfig): Server {
  return track(
    new Server(testRedisUrl(), { pollInterval: 50, logLevel: "warn", shutdownTimeout: 1000, ...config }),
  );
}

describe("weighted priority", () => {
  it("serves full queues {critical: 6, default: 3, low: 1} about 60/30/10", async () => {
    const PER_QUEUE = 3100;
    const SAMPLE = 3000;
    for (const queue of ["critical", "default", "low"]) await enqueueMany(client, PER_QUEUE, { queue });

    const seen: string[] = [];
    const s = server({ concurrency: 10, queues: { critical: 6, default: 3, low: 1 } });
    let stopping: Promise<void> | undefined;
    await s.start((_task: HandlerTask, ctx: TaskContext) => {
      seen.push(ctx.queue);
      if (seen.length >= SAMPLE) stopping ??= s.stop();
    });
    await waitFor(() => seen.length >= SAMPLE, { timeout: 25_000, message: `${SAMPLE} tasks handled` });
    await stopping;

    const first = seen.slice(0, SAMPLE);
    const share = (q: string) => (100 * first.filter((x) => x === q).length) / SAMPLE;
    const shares = { critical: share("critical"), default: share("default"), low: share("low") };
    console.log(`weighted shares of the first ${SAMPLE} tasks (%): ${JSON.stringify(shares)}`);
    expect(shares.critical, JSON.stringify(shares)).toBeGreaterThanOrEqual(57);
    expect(shares.critical, JSON.stringify(shares)).toBeLessThanOrEqual(63);
    expect(shares.default, JSON.stringify(shares)).toBeGreaterThanOrEqual(27);
    expect(shares.default, JSON.stringify(shares)).toBeLessThanOrEqual(33);
    expect(shares.low, JSON.stringify(shares)).toBeGreaterThanOrEqual(7);
    expect(shares.low, JSON.stringify(shares)).toBeLessThanOrEqual(13);
    // Every queue stayed full while the sample was taken.
    for (const queue of ["critical", "default", "low"]) {
      expect(await redis.llen(keys.pendingKey(queue))).toBeGreaterThan(0);
    }
  }, 40_000);
});

describe("strict priority", () => {
  const queues = { critical: 3, default: 2, low: 1 };
  const rank: Record<string, number> = { critical: 0, default: 1, low: 2 };

  it("with concurrency 1, processes every critical task, then every default one, then low", async () => {
    for (const queue of ["low", "default", "critical"]) await enqueueMany(client, 40, { queue });
    const order: string[] = [];
    const s = server({ concurrency: 1, queues, strictPriority: true });
    await s.start((_task, ctx) => {
      order.push(ctx.queue);
    });
    await waitFor(() => order.length === 120, { message: "120 tasks handled" });
    expect(order).toEqual([
      ...Array<string>(40).fill("critical"),
      ...Array<string>(40).fill("default"),
      ...Array<string>(40).fill("low"),
    ]);
  });

  it("with concurrency 8, never takes a lower queue's task while a higher queue has pending tasks", async () => {
    for (const queue of ["low", "default", "critical"]) await enqueueMany(client, 100, { queue });
    const violations: string[] = [];
    const order: string[] = [];
    let handled = 0;
    const s = server({ concurrency: 8, queues, strictPriority: true });
    await s.start(async (_task, ctx) => {
      order.push(ctx.queue);
      // Nothing is enqueued meanwhile, so a higher queue empty at dequeue time is still empty now.
      for (const higher of Object.keys(queues).filter((q) => rank[q]! < rank[ctx.queue]!)) {
        const left = await redis.llen(keys.pendingKey(higher));
        if (left > 0) violations.push(`${ctx.queue} task started while ${higher} had ${left} pending`);
      }
      await sleep(Math.random() * 3);
      handled++;
    });
    await waitFor(() => handled === 300, { message: "300 tasks handled" });
    expect(violations).toEqual([]);
    // Start order: a task of a lower queue never starts before the last start of a higher one
    // (allowing for tasks already in flight: at most concurrency - 1 of them).
    const lastStart = (q: string) => order.lastIndexOf(q);
    const firstStart = (q: string) => order.indexOf(q);
    expect(firstStart("default")).toBeGreaterThan(lastStart("critical") - 8);
    expect(firstStart("low")).toBeGreaterThan(lastStart("default") - 8);
  });
});

describe("paused queue", () => {
  it("is never served, does not make the server spin, and is served once resumed", async () => {
    await redis.set(keys.pausedKey("low"), String(Math.floor(Date.now() / 1000)));
    await enqueueMany(client, 20, { queue: "low" });
    await enqueueMany(client, 20, { queue: "default" });
    const seen: string[] = [];
    const s = server({ concurrency: 4, queues: { default: 2, low: 1 }, pollInterval: 100 });
    await s.start((_task, ctx) => {
      seen.push(ctx.queue);
    });
    await waitFor(() => seen.length === 20, { message: "the default queue drained" });
    await waitFor(() => s.running === 0, { message: "no task running" });

    // Idle with tasks only in the paused queue: the server must poll, not spin.
    const counter = await countCommands(redis, testDb());
    const window = 1000;
    await sleep(window);
    counter.stop();
    const perSecond = (name: string) => ((counter.counts.get(name) ?? 0) * 1000) / window;
    const dequeueCalls = perSecond("evalsha") + perSecond("lrange");
    const summary = JSON.stringify(Object.fromEntries(counter.counts));
    console.log(`idle with only a paused queue holding tasks, commands in ${window} ms: ${summary}`);
    expect(dequeueCalls, summary).toBeLessThan(50);
    expect((counter.total() * 1000) / window, summary).toBeLessThan(200);

    expect(seen.every((q) => q === "default")).toBe(true);
    expect(await redis.llen(keys.pendingKey("low"))).toBe(20);
    expect(await redis.llen(keys.activeKey("low"))).toBe(0);

    await redis.del(keys.pausedKey("low"));
    await waitFor(() => seen.length === 40, { message: "the resumed low queue drained" });
    expect(seen.filter((q) => q === "low")).toHaveLength(20);
    await waitFor(async () => (await redis.llen(keys.pendingKey("low"))) === 0);
  });
});
