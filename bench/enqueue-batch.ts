// Benchmark: N tasks enqueued one by one (each call awaited) versus one enqueueBatch of N tasks.
//
//   npx tsx bench/enqueue-batch.ts            (N = 10000, DB 15)
//   BENCH_N=50000 BENCH_DB=14 npx tsx bench/enqueue-batch.ts
//
// Redis comes from tools/redis.ts (REDIS_URL, else 127.0.0.1:6379, else a private server). The bench
// flushes its DB before each run and when it ends: never point BENCH_DB at a DB holding data.
import { Redis } from "ioredis";
import { Client } from "../src/client/client.js";
import type { Task } from "../src/task.js";
import { ensureRedis } from "../tools/redis.js";

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

const N = intFromEnv("BENCH_N", 10_000, 1, 1_000_000);
const DB = intFromEnv("BENCH_DB", 15, 1, 255);

function tasks(kind: string): Task[] {
  return Array.from({ length: N }, (_, i) => ({
    type: `bench:${kind}`,
    payload: { i, to: `user${i}@example.com` },
  }));
}

function rate(ms: number): string {
  return `${Math.round((N / ms) * 1000).toLocaleString("en-US")} tasks/s`;
}

async function main(): Promise<void> {
  const handle = await ensureRedis((line) => console.log(`[redis] ${line}`));
  const base = handle.url.replace(/\/\d*$/, "");
  const url = `${base}/${DB}`;
  const admin = new Redis(url, { maxRetriesPerRequest: 1 });
  const client = new Client(url);
  try {
    await admin.flushdb();
    // Warm-up: connection, script cache, JIT.
    await client.enqueueBatch(tasks("warmup").slice(0, 100));
    for (const task of tasks("warmup").slice(0, 100)) await client.enqueue(task);
    await admin.flushdb();

    const single = tasks("single");
    let started = performance.now();
    for (const task of single) await client.enqueue(task);
    const sequentialMs = performance.now() - started;
    const sequentialCount = await admin.llen("asynq:{default}:pending");
    await admin.flushdb();

    started = performance.now();
    const results = await client.enqueueBatch(tasks("batch"));
    const batchMs = performance.now() - started;
    const batchCount = await admin.llen("asynq:{default}:pending");
    const failed = results.filter((r) => !r.ok).length;

    if (sequentialCount !== N || batchCount !== N || failed !== 0) {
      throw new Error(
        `expected ${N} tasks each time; got ${sequentialCount} (sequential), ${batchCount} (batch, ${failed} failed)`,
      );
    }
    console.log(`Redis ${url} (${handle.source}), ${N.toLocaleString("en-US")} tasks`);
    console.log(
      `  enqueue() x ${N}, awaited one by one: ${sequentialMs.toFixed(0)} ms  ${rate(sequentialMs)}`,
    );
    console.log(`  enqueueBatch() of ${N}:                ${batchMs.toFixed(0)} ms  ${rate(batchMs)}`);
    console.log(`  ratio sequential / batch: ${(sequentialMs / batchMs).toFixed(1)}x`);
  } finally {
    await admin.flushdb().catch(() => undefined);
    await client.close();
    admin.disconnect();
    await handle.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
