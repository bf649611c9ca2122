// Measures one aggregation of a 100,000-task group: time and peak memory (heapUsed, rss), sampled
// every 5 ms. Not a test: run by hand against a Redis DB it may flush,
//   REDIS_URL=redis://127.0.0.1:6379/15 node --import tsx test/group/measure-100k.ts
import { Redis } from "ioredis";
import { Client } from "../../src/client/client.js";
import { openBroker } from "../../src/broker/broker.js";
import { openConnection } from "../../src/broker/connection/connection.js";
import { DEFAULTS } from "../../src/defaults.js";
import { ManualClock } from "../../src/internal/clock.js";
import { Aggregator } from "../../src/server/aggregator.js";

const url = process.env.REDIS_URL;
if (url === undefined || !/\/\d+$/.test(url)) throw new Error("REDIS_URL with a DB index is required");
const N = Number(process.env.N ?? "100000");
const MB = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;

const redis = new Redis(url);
await redis.flushdb();
const clock = new ManualClock(Date.UTC(2030, 0, 1));
const client = new Client(url, { clock });
for (let i = 0; i < N; i += 1000) {
  const tasks = [];
  for (let n = i; n < Math.min(N, i + 1000); n++) {
    tasks.push({
      type: "notify",
      payload: { user: n % 97, msg: `message number ${n}` },
      options: { group: "big" },
    });
  }
  await client.enqueueBatch(tasks);
}
await client.close();
clock.advance(DEFAULTS.server.groupGracePeriod);

const broker = openBroker(openConnection(url, "measure"));
let count = 0;
const aggregator = new Aggregator({
  broker,
  clock,
  logger: { debug() {}, info() {}, warn: console.warn, error: console.error },
  queues: ["default"],
  aggregate: (_group, tasks) => {
    count = tasks.length;
    let bytes = 0;
    for (const t of tasks) bytes += t.payload.length;
    return { type: "digest", payload: { count: tasks.length, bytes } };
  },
  gracePeriod: DEFAULTS.server.groupGracePeriod,
  maxDelay: 0,
  maxSize: 0,
  interval: DEFAULTS.aggregator.checkInterval,
  setDeadline: DEFAULTS.aggregator.setDeadline,
  pageSize: DEFAULTS.aggregator.pageSize,
});

const before = process.memoryUsage();
let peakHeap = before.heapUsed;
let peakRss = before.rss;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peakHeap = Math.max(peakHeap, m.heapUsed);
  peakRss = Math.max(peakRss, m.rss);
}, 5);
const started = performance.now();
const run = await aggregator.runOnce();
const ms = performance.now() - started;
clearInterval(sampler);
const left = await redis.dbsize();
console.log(
  JSON.stringify({
    members: count,
    run,
    ms: Math.round(ms),
    heapUsedBefore: MB(before.heapUsed),
    peakHeapUsed: MB(peakHeap),
    rssBefore: MB(before.rss),
    peakRss: MB(peakRss),
    keysLeft: left,
  }),
);
await aggregator.shutdown();
await broker.close();
redis.disconnect();
