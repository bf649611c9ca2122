// Latency with idle workers: a producer at a fixed rate; enqueue -> handler start and enqueue ->
// completed, p50/p95/p99. Completion is observed from this process by each library's push signal:
// asynq-ts deletes the task hash on success (a keyspace `del` notification), BullMQ appends a
// `completed` event to its events stream (QueueEvents, a blocking XREAD).
import { QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import { spawnWorkers } from "../lib/children.js";
import { ASYNQ_QUEUE, BULL_QUEUE, bullConnection, openProducer, type Lib } from "../lib/libs.js";
import { resetRedis } from "../lib/redis.js";
import type { Context, RunResult, Scenario } from "../lib/scenario.js";
import { percentile, sleep, wallMs } from "../lib/stats.js";

const WORKER_CONCURRENCY = 10;
/** How long the worker sits idle before the producer starts (past asynq-ts' 1 s poll interval). */
const IDLE_MS = 1500;

/** Listens for completions; `done` maps task ID -> wall ms when seen. */
async function watchCompletions(
  lib: Lib,
  ctx: Context,
  done: Map<string, number>,
): Promise<() => Promise<void>> {
  if (lib === "asynq-ts") {
    await ctx.redis.admin.config("SET", "notify-keyspace-events", "Eg");
    const sub = new Redis(ctx.redis.url);
    const prefix = `asynq:{${ASYNQ_QUEUE}}:t:`;
    sub.on("message", (_channel: string, key: string) => {
      if (key.startsWith(prefix)) done.set(key.slice(prefix.length), wallMs());
    });
    await sub.subscribe("__keyevent@0__:del");
    return async () => {
      sub.disconnect();
      await ctx.redis.admin.config("SET", "notify-keyspace-events", "");
    };
  }
  const events = new QueueEvents(BULL_QUEUE, { connection: bullConnection(ctx.redis.url) });
  events.on("completed", ({ jobId }) => done.set(jobId, wallMs()));
  await events.waitUntilReady();
  return () => events.close();
}

async function runLatency(lib: Lib, ctx: Context): Promise<RunResult> {
  const { latency: n, latencyWarmup: warm, latencyRate: rate } = ctx.sizes;
  const total = warm + n;
  await resetRedis(ctx.redis.admin);
  const done = new Map<string, number>();
  const stopWatching = await watchCompletions(lib, ctx, done);
  const [worker] = await spawnWorkers(lib, ctx.redis.url, 1, WORKER_CONCURRENCY, {
    record: true,
    cpuProfDir: ctx.cpuProfDir,
    removeOnComplete: ctx.bullRemoveOnComplete,
  });
  const producer = await openProducer(lib, ctx.redis.url);
  let starts: [string, number][];
  const sent = new Map<string, number>();
  let elapsed: number;
  try {
    worker!.start();
    await sleep(IDLE_MS);
    const intervalMs = 1000 / rate;
    const pending: Promise<void>[] = [];
    const t0 = performance.now();
    let i = 0;
    while (i < total) {
      const due = Math.min(total, Math.floor((performance.now() - t0) / intervalMs) + 1);
      for (; i < due; i++) {
        const index = i;
        const at = wallMs();
        pending.push(
          producer.enqueue(index).then((id) => {
            if (index >= warm) sent.set(id, at);
          }),
        );
      }
      await sleep(1);
    }
    await Promise.all(pending);
    elapsed = (performance.now() - t0) / 1000;
    const deadline = performance.now() + 30_000;
    while ([...sent.keys()].some((id) => !done.has(id))) {
      if (performance.now() > deadline) throw new Error(`${lib}: tasks not completed within 30 s`);
      await sleep(10);
    }
    starts = (await worker!.stop()).starts;
  } catch (error) {
    worker!.kill();
    throw error;
  } finally {
    await producer.close();
    await stopWatching();
  }
  const started = new Map(starts);
  const toStart: number[] = [];
  const toDone: number[] = [];
  for (const [id, at] of sent) {
    const s = started.get(id);
    const d = done.get(id);
    if (s === undefined || d === undefined) throw new Error(`${lib}: task ${id} has no start or completion`);
    toStart.push(s - at);
    toDone.push(d - at);
  }
  return {
    metrics: {
      startP50: percentile(toStart, 50),
      startP95: percentile(toStart, 95),
      startP99: percentile(toStart, 99),
      doneP50: percentile(toDone, 50),
      doneP95: percentile(toDone, 95),
      doneP99: percentile(toDone, 99),
      achievedRate: total / elapsed,
    },
  };
}

export const latency: Scenario = {
  name: "latency",
  title: "latency at a fixed rate, idle workers",
  rows: [
    { metric: "startP50", label: "enqueue -> handler start p50", unit: "ms", better: "lower" },
    { metric: "startP95", label: "enqueue -> handler start p95", unit: "ms", better: "lower" },
    { metric: "startP99", label: "enqueue -> handler start p99", unit: "ms", better: "lower" },
    { metric: "doneP50", label: "enqueue -> completed p50", unit: "ms", better: "lower" },
    { metric: "doneP95", label: "enqueue -> completed p95", unit: "ms", better: "lower" },
    { metric: "doneP99", label: "enqueue -> completed p99", unit: "ms", better: "lower" },
  ],
  run: runLatency,
};
