// Enqueue scenarios: one task per call (chunks of concurrent calls) and batches (enqueueBatch vs addBulk).
import { openProducer, unfinishedCount, type Lib, type Producer } from "../lib/libs.js";
import { redisCpuSeconds, resetRedis } from "../lib/redis.js";
import type { Context, RunResult, Scenario } from "../lib/scenario.js";

/** Times `work` on a fresh Redis and checks that `n` tasks ended up waiting. */
async function measure(
  lib: Lib,
  ctx: Context,
  n: number,
  work: (producer: Producer) => Promise<void>,
): Promise<RunResult> {
  const { admin } = ctx.redis;
  await resetRedis(admin);
  const producer = await openProducer(lib, ctx.redis.url);
  try {
    // One warm-up task (connection, script load), removed again before the clock starts.
    await producer.enqueue(-1);
    await resetRedis(admin);
    const redisCpu0 = await redisCpuSeconds(admin);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await work(producer);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const redisCpu = (await redisCpuSeconds(admin)) - redisCpu0;
    const waiting = await unfinishedCount(lib, admin);
    if (waiting !== n) throw new Error(`${lib}: ${waiting} tasks waiting after enqueueing ${n}`);
    return {
      metrics: {
        tasksPerSec: n / seconds,
        seconds,
        producerCpuPer10k: (((cpu.user + cpu.system) / 1e6) * 10_000) / n,
        redisCpuPer10k: (redisCpu * 10_000) / n,
      },
    };
  } finally {
    await producer.close();
  }
}

export const enqueueOne: Scenario = {
  name: "enqueue",
  title: "enqueue one at a time",
  rows: [{ metric: "tasksPerSec", label: "enqueue one at a time", unit: "tasks/s", better: "higher" }],
  run: (lib, ctx) => {
    const { enqueue: n, chunk } = ctx.sizes;
    return measure(lib, ctx, n, async (producer) => {
      for (let from = 0; from < n; from += chunk) {
        const count = Math.min(chunk, n - from);
        await Promise.all(Array.from({ length: count }, (_, k) => producer.enqueue(from + k)));
      }
    });
  },
};

export const enqueueBatch: Scenario = {
  name: "batch",
  title: "batch enqueue",
  rows: [{ metric: "tasksPerSec", label: "batch enqueue", unit: "tasks/s", better: "higher" }],
  run: (lib, ctx) => {
    const { batch: n, batchSize } = ctx.sizes;
    return measure(lib, ctx, n, async (producer) => {
      for (let from = 0; from < n; from += batchSize) {
        await producer.enqueueBatch(from, Math.min(batchSize, n - from));
      }
    });
  },
};
