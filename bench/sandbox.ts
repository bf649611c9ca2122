// Overhead of sandboxed handlers (src/sandbox): the same trivial handler (`async () => {}`) in-process
// and in worker threads, called directly (the thread round trip alone) and under a Server at
// concurrency 1 and 10 (what a task costs end to end). Also the time to start a thread and load
// the module. Figures are medians of ROUNDS rounds, in-process and sandboxed alternating.
//
// Run: npx tsx bench/sandbox.ts
// Env: REDIS_URL (else 127.0.0.1:6379, else a private redis-server), BENCH_DB (default 13; flushed),
//      TASKS (per Server run, default 5000), CALLS (direct calls, default 20000), ROUNDS (default 3).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { Client } from "../src/client/client.js";
import { sandboxed } from "../src/sandbox/sandboxed.js";
import type { TaskContext } from "../src/server/context.js";
import type { Handler, HandlerTask } from "../src/server/mux.js";
import { Server } from "../src/server/server.js";
import { ensureRedis } from "../tools/redis.js";

const DB = Number(process.env.BENCH_DB ?? "13");
const TASKS = Number(process.env.TASKS ?? "5000");
const CALLS = Number(process.env.CALLS ?? "20000");
const ROUNDS = Number(process.env.ROUNDS ?? "3");

const dir = mkdtempSync(join(tmpdir(), "asynq-ts-bench-sandbox-"));
const modulePath = join(dir, "noop.mjs");
writeFileSync(modulePath, "export default async function noop() {}\n");
const inProcess: Handler = async () => {};

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** `calls` direct calls, `concurrency` at a time; µs per call. */
async function direct(handler: Handler, calls: number, concurrency: number): Promise<number> {
  const task: HandlerTask = { type: "bench", payload: new Uint8Array(100), headers: {} };
  const ctx: TaskContext = {
    id: "bench",
    queue: "default",
    retryCount: 0,
    maxRetry: 0,
    deadline: new Date(Date.now() + 3_600_000),
    signal: new AbortController().signal,
    result: { write: () => Promise.resolve(0) },
    progress: () => Promise.resolve(),
  };
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next++ < calls) await handler(task, ctx);
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, lane));
  return ((performance.now() - t0) * 1000) / calls;
}

/** TASKS tasks through a Server at `concurrency`; tasks per second. */
async function served(url: string, handler: Handler, concurrency: number): Promise<number> {
  const admin = new Redis(url, { maxRetriesPerRequest: 1 });
  await admin.flushdb();
  const client = new Client(url);
  for (let done = 0; done < TASKS; done += 1000) {
    const batch = Array.from({ length: Math.min(1000, TASKS - done) }, (_, i) => ({
      type: "bench:noop",
      payload: { i: done + i, pad: "x".repeat(80) },
    }));
    for (const r of await client.enqueueBatch(batch)) if (!r.ok) throw r.error;
  }
  const server = new Server(url, { concurrency, logLevel: "warn" });
  let completed = 0;
  let finish: () => void = () => {};
  const all = new Promise<void>((resolve) => (finish = resolve));
  server.on("completed", () => {
    if (++completed === TASKS) finish();
  });
  const t0 = performance.now();
  await server.start(handler);
  await all;
  const seconds = (performance.now() - t0) / 1000;
  await server.shutdown();
  await client.close();
  admin.disconnect();
  return TASKS / seconds;
}

const handle = await ensureRedis((line) => console.log(`[redis] ${line}`));
const url = `${handle.url.replace(/\/\d*$/, "")}/${DB}`;
try {
  // Thread start: a new sandbox's first load (runner + module), ROUNDS times.
  const starts: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const probe = sandboxed(modulePath);
    const t0 = performance.now();
    await probe.ready();
    starts.push(performance.now() - t0);
    await probe.close();
  }
  console.log(`thread start + module load: median ${median(starts).toFixed(1)} ms (${ROUNDS} starts)`);

  console.log(`\ndirect calls (${CALLS} per run), µs per call:`);
  for (const concurrency of [1, 10]) {
    const box = sandboxed(modulePath);
    await box.ready();
    await direct(box, 1000, concurrency); // warm-up: threads started, code optimised
    await direct(inProcess, 1000, concurrency);
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      a.push(await direct(inProcess, CALLS, concurrency));
      b.push(await direct(box, CALLS, concurrency));
    }
    console.log(
      `  c${concurrency}: in-process ${median(a).toFixed(2)} µs, sandboxed ${median(b).toFixed(2)} µs ` +
        `(${box.threads} thread(s)): +${(median(b) - median(a)).toFixed(1)} µs per call`,
    );
    await box.close();
  }

  console.log(`\nServer (${TASKS} tasks per run, DB ${DB}), tasks/s:`);
  for (const concurrency of [1, 10]) {
    const box = sandboxed(modulePath);
    await box.ready();
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      a.push(await served(url, inProcess, concurrency));
      b.push(await served(url, box, concurrency));
    }
    const [inTps, boxTps] = [median(a), median(b)];
    const overheadUs = (1 / boxTps - 1 / inTps) * 1e6 * concurrency;
    console.log(
      `  c${concurrency}: in-process ${inTps.toFixed(0)}/s, sandboxed ${boxTps.toFixed(0)}/s ` +
        `(${((boxTps / inTps) * 100).toFixed(0)}%; ${box.threads} thread(s)); ` +
        `about ${overheadUs.toFixed(0)} µs more per task per slot`,
    );
    await box.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  await handle.stop();
}
