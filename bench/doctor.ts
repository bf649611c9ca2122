// Benchmark: doctor's audit over a million task keys: elapsed time and peak memory (sampled).
//
//   npx tsx bench/doctor.ts                      (N = 1,000,000 tasks, DB 12)
//   BENCH_N=200000 BENCH_DB=13 npx tsx bench/doctor.ts
//   BENCH_INDEX_LIMIT=200000 npx tsx bench/doctor.ts   (pending checked in 3 partitions)
//
// Redis comes from tools/redis.ts (REDIS_URL, else 127.0.0.1:6379, else a private server). The DB is
// filled with raw pipelined writes (Go-style hashes: msg, state; pending_since for pending), spread
// over the states as a busy queue would be, plus a little deliberate damage the audit must find.
// The fill runs in a child process, so that the memory figures are the audit's alone. The bench
// flushes its DB before the run and when it ends: never point BENCH_DB at a DB holding data.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { doctor, formatReport } from "../src/doctor/index.js";
import * as keys from "../src/wire/keys.js";
import { encodeTaskMessage, newTaskMessage } from "../src/wire/proto.js";
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

const N = intFromEnv("BENCH_N", 1_000_000, 1000, 10_000_000);
const DB = intFromEnv("BENCH_DB", 12, 1, 255);
/** doctor's indexLimit: below the pending length, pending is checked in partitions (one more SCAN each). */
const INDEX_LIMIT = intFromEnv("BENCH_INDEX_LIMIT", 2_000_000, 1000, 100_000_000);
const Q = "bench";
const CHUNK = 5000;
const DAMAGE = 10;

/** Share of the tasks per state (the rest, aggregating, goes to 10 groups). */
const SHARES: Array<[keys.TaskState, number]> = [
  ["pending", 0.6],
  ["scheduled", 0.15],
  ["archived", 0.1],
  ["retry", 0.05],
  ["completed", 0.05],
  ["active", 0.0005],
];

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** Writes N tasks in pipelines of CHUNK; returns the elapsed ms. */
async function fill(redis: Redis): Promise<number> {
  const started = performance.now();
  const now = Math.floor(Date.now() / 1000);
  await redis.sadd(keys.ALL_QUEUES, Q);
  let written = 0;
  const plan = SHARES.map(([state, share]) => [state, Math.floor(N * share)] as const);
  const aggregating = N - plan.reduce((a, [, n]) => a + n, 0);
  for (const [state, count] of [...plan, ["aggregating", aggregating] as const]) {
    for (let done = 0; done < count; done += CHUNK) {
      const pipeline = redis.pipeline();
      const ids: string[] = [];
      for (let i = done; i < Math.min(count, done + CHUNK); i++) {
        const id = randomUUID();
        ids.push(id);
        const group = `g${i % 10}`;
        const msg = encodeTaskMessage(
          newTaskMessage({
            type: "bench:task",
            payload: Buffer.from(`{"i":${i}}`),
            id,
            queue: Q,
            retry: 25,
            timeout: 1800n,
          }),
        );
        const fields: Record<string, string | Buffer> = { msg: Buffer.from(msg), state };
        if (state === "pending") fields.pending_since = `${BigInt(Date.now()) * 1_000_000n}`;
        if (state === "aggregating") {
          fields.group = group;
          pipeline.zadd(keys.groupKey(Q, group), now, id);
        }
        pipeline.hset(keys.taskKey(Q, id), fields);
      }
      if (state === "pending" || state === "active") pipeline.lpush(`${keys.queuePrefix(Q)}${state}`, ...ids);
      if (state === "active") pipeline.zadd(keys.leaseKey(Q), ...ids.flatMap((id) => [now + 3600, id]));
      if (state !== "pending" && state !== "active" && state !== "aggregating") {
        pipeline.zadd(keys.stateKey(Q, state), ...ids.flatMap((id) => [now, id]));
      }
      if (state === "aggregating")
        pipeline.sadd(keys.allGroupsKey(Q), ...Array.from({ length: 10 }, (_, g) => `g${g}`));
      const replies = await pipeline.exec();
      const error = replies?.find(([e]) => e !== null)?.[0];
      if (error) throw error;
      written += ids.length;
    }
  }
  // Deliberate damage: orphans (hash, no container) and dangling IDs (container entry, no hash).
  const middle = Math.floor((await redis.llen(keys.pendingKey(Q))) / 2);
  const pending = await redis.lrange(keys.pendingKey(Q), middle, middle + DAMAGE - 1);
  for (const id of pending) await redis.lrem(keys.pendingKey(Q), 0, id);
  for (let i = 0; i < DAMAGE; i++) await redis.zadd(keys.scheduledKey(Q), now, `ghost-${i}`);
  if (written !== N) throw new Error(`wrote ${written} tasks, expected ${N}`);
  return performance.now() - started;
}

/** Child process: fills the DB at `url` and exits. */
async function fillOnly(url: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const ms = await fill(redis);
    console.log(`filled in ${(ms / 1000).toFixed(1)} s`);
  } finally {
    redis.disconnect();
  }
}

async function main(): Promise<void> {
  const handle = await ensureRedis((line) => console.log(`[redis] ${line}`));
  const url = `${handle.url.replace(/\/\d*$/, "")}/${DB}`;
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    await redis.flushdb();
    const fillStarted = performance.now();
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), "--fill", url],
      {
        stdio: "inherit",
      },
    );
    if (child.status !== 0) throw new Error(`the fill failed (exit ${String(child.status)})`);
    const fillMs = performance.now() - fillStarted;
    const dbsize = await redis.dbsize();
    const usedMemory = /used_memory:(\d+)/.exec(await redis.info("memory"))?.[1] ?? "0";
    console.log(
      `Redis ${url} (${handle.source}): ${N.toLocaleString("en-US")} task keys (${dbsize.toLocaleString("en-US")} keys, ${mb(Number(usedMemory))}) written in ${(fillMs / 1000).toFixed(1)} s`,
    );

    const before = process.memoryUsage();
    let peakRss = before.rss;
    let peakHeap = before.heapUsed;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed);
    }, 20);
    const started = performance.now();
    const report = await doctor(redis, { indexLimit: INDEX_LIMIT });
    const auditMs = performance.now() - started;
    clearInterval(sampler);

    console.log(formatReport(report));
    console.log(
      `audit: ${(auditMs / 1000).toFixed(1)} s, ${Math.round((report.scannedKeys / auditMs) * 1000).toLocaleString("en-US")} keys/s`,
    );
    console.log(`  before the audit: rss ${mb(before.rss)}, heap used ${mb(before.heapUsed)}`);
    console.log(`  peak during it:   rss ${mb(peakRss)}, heap used ${mb(peakHeap)} (sampled every 20 ms)`);
    const q = report.queues.find((r) => r.queue === Q);
    const found = q?.counts.byKind ?? {};
    if (found["orphaned-task"] !== DAMAGE || found["dangling-id"] !== DAMAGE) {
      throw new Error(
        `expected ${DAMAGE} orphans and ${DAMAGE} dangling IDs, found ${JSON.stringify(found)}`,
      );
    }
  } finally {
    await redis.flushdb().catch(() => undefined);
    redis.disconnect();
    await handle.stop();
  }
}

if (process.argv[2] === "--fill") await fillOnly(process.argv[3]!);
else await main();
