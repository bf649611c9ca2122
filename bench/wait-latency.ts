// How soon a waiting producer hears of its task's outcome: `client.enqueueAndWait()` against a server
// in the same process, timed from the handler's return to the wait's resolve (the success write, the
// stream entry, the XREAD wake-up and the client's delivery), and the cost of listening: processing
// throughput with and without a QueueEvents listener on the queue.
//
// Run: npx tsx bench/wait-latency.ts
// Env: REDIS_URL (else 127.0.0.1:6379, else a private redis-server), BENCH_DB (default 14; flushed),
//      ROUNDS (default 500), TASKS (default 20000, for the throughput runs).
import { Redis } from "ioredis";
import { Client } from "../src/client/client.js";
import { QueueEvents } from "../src/events/queue-events.js";
import { Server } from "../src/server/server.js";
import { ensureRedis } from "../tools/redis.js";
import { percentile } from "./lib/stats.js";

const DB = Number(process.env.BENCH_DB ?? "14");
const ROUNDS = Number(process.env.ROUNDS ?? "500");
const TASKS = Number(process.env.TASKS ?? "20000");

const handle = await ensureRedis((line) => console.log(`[redis] ${line}`));
const url = `${handle.url.replace(/\/\d*$/, "")}/${DB}`;
const admin = new Redis(url, { maxRetriesPerRequest: 1 });
await admin.flushdb();

// 1. Latency of enqueueAndWait, one task at a time.
const client = new Client(url);
let returnedAt = 0;
const server = new Server(url, { concurrency: 10, logLevel: "warn" });
await server.start(() => {
  returnedAt = performance.now();
});
const lags: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  await client.enqueueAndWait({ type: "bench:wait" }, {}, { timeout: 10_000 });
  lags.push(performance.now() - returnedAt);
}
await server.shutdown();
lags.sort((a, b) => a - b);
const fmt = (ms: number): string => `${ms.toFixed(2)} ms`;
console.log(
  `enqueueAndWait, handler return → resolve (${ROUNDS} tasks): p50 ${fmt(percentile(lags, 50))}, ` +
    `p95 ${fmt(percentile(lags, 95))}, p99 ${fmt(percentile(lags, 99))}, max ${fmt(lags.at(-1)!)}`,
);

// 2. Throughput of a no-op handler at concurrency 100, nobody listening vs a QueueEvents listening.
async function throughput(listen: boolean): Promise<{ perSecond: number; heard: number }> {
  await admin.flushdb();
  let heard = 0;
  const events = listen ? new QueueEvents(url, "default") : undefined;
  events?.on("completed", () => void heard++);
  await events?.ready();
  for (let i = 0; i < TASKS; i += 1000) {
    await client.enqueueBatch(Array.from({ length: Math.min(1000, TASKS - i) }, () => ({ type: "bench:t" })));
  }
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((resolve) => (finished = resolve));
  const worker = new Server(url, { concurrency: 100, logLevel: "warn" });
  const started = performance.now();
  await worker.start(() => {
    if (++done === TASKS) finished();
  });
  await all;
  await worker.shutdown();
  const seconds = (performance.now() - started) / 1000;
  if (events !== undefined) {
    const until = Date.now() + 10_000;
    while (heard < TASKS && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    await events.close();
  }
  return { perSecond: TASKS / seconds, heard };
}

for (let round = 1; round <= 3; round++) {
  const off = await throughput(false);
  const on = await throughput(true);
  console.log(
    `round ${round}: ${TASKS} tasks at concurrency 100: nobody listening ${Math.round(off.perSecond)} tasks/s; ` +
      `a QueueEvents listening ${Math.round(on.perSecond)} tasks/s (${on.heard} completions heard)`,
  );
}

await client.close();
await admin.flushdb();
admin.disconnect();
await handle.stop();
