// Pickup latency of an idle server: how long from `client.enqueue()` to the handler starting, when
// the server sits idle (its wake-up is a blocking BLMOVE per queue, not the poll interval). Also
// counts the Redis commands an idle server sends per second, to show it does not hammer Redis.
//
// Run: npx tsx bench/pickup-latency.ts
// Env: REDIS_URL (else 127.0.0.1:6379, else a private redis-server), BENCH_DB (default 14; flushed),
//      ROUNDS (default 200).
import { Redis } from "ioredis";
import { Client } from "../src/client/client.js";
import { Server } from "../src/server/server.js";
import { ensureRedis } from "../tools/redis.js";
import { percentile } from "./lib/stats.js";

const DB = Number(process.env.BENCH_DB ?? "14");
const ROUNDS = Number(process.env.ROUNDS ?? "200");
const IDLE_GAP_MS = 20;
const IDLE_WINDOW_MS = 3000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `calls` per command from `INFO commandstats` (server-wide). */
async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info("commandstats");
  const out = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(match[1]!, Number(match[2]));
  return out;
}

const handle = await ensureRedis((line) => console.log(`[redis] ${line}`));
const url = `${handle.url.replace(/\/\d*$/, "")}/${DB}`;
const admin = new Redis(url, { maxRetriesPerRequest: 1 });
await admin.flushdb();

const client = new Client(url);
const server = new Server(url, { concurrency: 1, logLevel: "warn" });
let onStart: ((id: string, at: number) => void) | undefined;
let handled = 0;
await server.start((_task, ctx) => {
  onStart?.(ctx.id, performance.now());
  handled++;
});

try {
  console.log(
    `pickup latency: ${ROUNDS} rounds, server concurrency 1, default pollInterval (1000 ms), DB ${DB}`,
  );
  const latencies: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Idle: the previous task is done and the server is back in its blocking wait.
    while (server.running > 0 || handled < i) await sleep(1);
    await sleep(IDLE_GAP_MS);
    const t0 = performance.now();
    const started = new Promise<number>((resolve) => (onStart = (_id, at) => resolve(at)));
    await client.enqueue({ type: "bench:pickup", payload: i });
    latencies.push((await started) - t0);
  }
  while (server.running > 0 || handled < ROUNDS) await sleep(1);
  const sorted = [...latencies].sort((a, b) => a - b);
  const fmt = (x: number) => x.toFixed(2);
  console.log(
    `enqueue -> handler start (ms): min ${fmt(sorted[0]!)}  median ${fmt(percentile(sorted, 50))}  ` +
      `p95 ${fmt(percentile(sorted, 95))}  p99 ${fmt(percentile(sorted, 99))}  max ${fmt(sorted.at(-1)!)}`,
  );

  // Idle traffic: no tasks for a few seconds. INFO commandstats is server-wide, so other clients of
  // the same Redis are counted too; the two INFO calls of the measurement are taken out.
  await sleep(200);
  const before = await commandStats(admin);
  await sleep(IDLE_WINDOW_MS);
  const after = await commandStats(admin);
  const delta = new Map<string, number>();
  for (const [name, calls] of after) {
    const d = calls - (before.get(name) ?? 0) - (name === "info" ? 1 : 0);
    if (d > 0) delta.set(name, d);
  }
  const total = [...delta.values()].reduce((a, b) => a + b, 0);
  const perSecond = (n: number) => ((n * 1000) / IDLE_WINDOW_MS).toFixed(1);
  const detail = [...delta]
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name} ${perSecond(n)}`)
    .join(", ");
  console.log(
    `idle Redis commands per second (${IDLE_WINDOW_MS / 1000} s, no tasks): ${perSecond(total)} (${detail || "none"})`,
  );
} finally {
  await server.shutdown();
  await client.close();
  await admin.flushdb();
  admin.disconnect();
  await handle.stop();
}
