// Measures the dashboard's overview API (GET /api/queues) with 100 queues and 1,000,000 tasks in
// Redis (10,000 per queue: 8,000 pending, 2,000 scheduled), served by node:http from src/dashboard;
// then the doctor view's audit (GET /api/doctor) over the same keyspace, and its reused report.
// Not a test: run by hand against a Redis DB it flushes,
//   REDIS_URL=redis://127.0.0.1:6379/15 node --import tsx test/dashboard/measure-overview.ts
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { createDashboard } from "../../src/dashboard/index.js";
import { Client } from "../../src/index.js";

const url = process.env.REDIS_URL;
if (url === undefined || !/\/\d+$/.test(url)) throw new Error("REDIS_URL with a DB index is required");
const QUEUES = Number(process.env.QUEUES ?? "100");
const PER_QUEUE = Number(process.env.PER_QUEUE ?? "10000");
const ROUNDS = 20;

const redis = new Redis(url);
await redis.flushdb();
const seeding = Date.now();
// Seeding sends 5,000-task batches from 8 connections: a busy Redis may not answer a new connection's
// check within the default 5 s, hence the longer timeouts (the measurement itself uses the defaults).
const clients = Array.from(
  { length: 8 },
  () => new Client(url, { connectTimeout: 60_000, commandTimeout: 60_000 }),
);
let next = 0;
await Promise.all(
  clients.map(async (client) => {
    for (let q = next++; q < QUEUES; q = next++) {
      const queue = `queue-${String(q).padStart(3, "0")}`;
      for (let done = 0; done < PER_QUEUE; done += 5000) {
        const n = Math.min(5000, PER_QUEUE - done);
        const tasks = Array.from({ length: n }, (_, i) => ({
          type: "measure",
          payload: { n: done + i },
          options: { queue, ...((done + i) % 5 === 0 ? { processIn: 3_600_000 } : {}) },
        }));
        const results = await client.enqueueBatch(tasks);
        if (results.some((r) => !r.ok)) throw new Error("seeding failed");
      }
    }
  }),
);
await Promise.all(clients.map((c) => c.close()));
console.log(`seeded ${QUEUES} queues, ${QUEUES * PER_QUEUE} tasks in ${Date.now() - seeding} ms`);

const dashboard = createDashboard({ redis: url });
const server = createServer((req, res) => void dashboard(req, res));
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/queues`;
const times: number[] = [];
let total = 0;
for (let i = 0; i < ROUNDS + 1; i++) {
  const started = performance.now();
  const body = (await (await fetch(api)).json()) as { queues: Array<{ size: number }> };
  const ms = performance.now() - started;
  if (i > 0) times.push(ms); // the first round opens the connection and loads the scripts
  total = body.queues.reduce((sum, q) => sum + q.size, 0);
  if (body.queues.length !== QUEUES) throw new Error(`${body.queues.length} queues listed`);
}
times.sort((a, b) => a - b);
const pick = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(1);
console.log(
  `GET /api/queues (${QUEUES} queues, ${total} tasks), ${ROUNDS} rounds: min ${pick(0)} ms, median ${pick(0.5)} ms, p95 ${pick(0.95)} ms, max ${pick(1)} ms`,
);

// The doctor's audit over the same data (one full SCAN of the keyspace), then the reused report.
for (const label of ["audit", "reused"]) {
  const started = performance.now();
  const report = (await (await fetch(api.replace("/api/queues", "/api/doctor"))).json()) as {
    scannedKeys: number;
    clean: boolean;
    reused: boolean;
  };
  const ms = performance.now() - started;
  console.log(
    `GET /api/doctor (${label}): ${ms.toFixed(0)} ms, ${report.scannedKeys} keys scanned, clean ${report.clean}, reused ${report.reused}`,
  );
}
server.close();
await dashboard.close();
await redis.flushdb();
redis.disconnect();
