// Benchmark of the inspector's task operations on a big queue: listing pages (first, middle, last),
// iterating, and deleting all of 100,000 archived tasks, with the longest single Redis call of that
// delete taken from SLOWLOG (server-side execution time: how long Redis was blocked).
//
//   npx tsx bench/inspector.ts
//   BENCH_N=200000 BENCH_STATE=pending BENCH_DB=12 npx tsx bench/inspector.ts
//
// Env: REDIS_URL (else 127.0.0.1:6379, else a private redis-server; see tools/redis.ts), BENCH_DB
// (default 13; must be empty, flushed at the end), BENCH_N (tasks listed, default 1,000,000),
// BENCH_STATE (archived or pending, default archived), BENCH_DELETE (tasks deleted, default 100,000),
// BENCH_BATCHES (batch sizes compared for deleteAll, default "100,200,500,1000").
// SLOWLOG settings are changed while the delete runs and restored afterwards; the slow log is reset.
import { Redis } from "ioredis";
import { readTaskRecord } from "../src/broker/admin/read.js";
import { listTaskRecords, seekTaskRecords } from "../src/broker/admin/list.js";
import { MUTATE_BATCH, mutateAllTasks, mutateTasks, replaceTaskMessage } from "../src/broker/admin/mutate.js";
import { trimArchive } from "../src/broker/finish/lifecycle.js";
import { systemClock } from "../src/internal/clock.js";
import type { TaskAdminPort } from "../src/broker/ports.js";
import { TaskAdmin } from "../src/inspector/tasks.js";
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

const DB = intFromEnv("BENCH_DB", 13, 1, 255);
const N = intFromEnv("BENCH_N", 1_000_000, 1_000, 10_000_000);
const DELETE_N = intFromEnv("BENCH_DELETE", 100_000, 1_000, 10_000_000);
const STATE = process.env.BENCH_STATE === "pending" ? "pending" : "archived";
const BATCHES = (process.env.BENCH_BATCHES ?? "100,200,500,1000").split(",").map(Number);
const CHUNK = 10_000;
const BASE_SCORE = 1_893_456_000;

/** Writes n tasks of `state` into `queue` with pipelined raw commands (Go's layout), CHUNK per round trip. */
async function fill(redis: Redis, queue: string, state: "archived" | "pending", n: number): Promise<void> {
  await redis.sadd(keys.ALL_QUEUES, queue);
  for (let done = 0; done < n; done += CHUNK) {
    const p = redis.pipeline();
    const ids: string[] = [];
    for (let i = done; i < Math.min(n, done + CHUNK); i++) {
      const id = `task-${String(i).padStart(8, "0")}`;
      const msg = newTaskMessage({ type: "bench:task", id, queue, retry: 25, timeout: 1800n });
      msg.payload = Buffer.from(`{"i":${i},"to":"user${i}@example.com"}`);
      p.hset(keys.taskKey(queue, id), "msg", Buffer.from(encodeTaskMessage(msg)), "state", state);
      if (state === "archived") p.zadd(keys.archivedKey(queue), BASE_SCORE + Math.floor(i / 10), id);
      ids.push(id);
    }
    if (state === "pending") p.lpush(keys.pendingKey(queue), ...ids);
    const replies = await p.exec();
    const failed = replies?.find(([error]) => error !== null);
    if (failed) throw failed[0]!;
  }
}

function adminOn(redis: Redis): TaskAdmin {
  const broker: TaskAdminPort = {
    getTaskRecord: async (queue, id) => {
      const r = await readTaskRecord(redis, queue, id);
      if (typeof r === "string") throw new Error(r);
      return r;
    },
    listTaskRecords: (queue, source, start, stop) => listTaskRecords(redis, queue, source, start, stop),
    seekTaskRecords: (queue, source, cursor, size) => seekTaskRecords(redis, queue, source, cursor, size),
    mutateTasks: (queue, op, ids, nowMs) => mutateTasks(redis, queue, op, ids, nowMs),
    mutateAllTasks: (queue, op, source, nowMs) => mutateAllTasks(redis, queue, op, source, nowMs),
    replaceTaskMessage: (r) => replaceTaskMessage(redis, r.queue, r.id, r.expected, r.next, r.states),
    trimArchive: (r) => trimArchive(redis, r.queue, r.nowMs, r.maxSize, r.maxAgeMs),
  };
  return new TaskAdmin(broker, systemClock);
}

/** Median and max of `rounds` timings of `fn`, in ms. */
async function timeIt(rounds: number, fn: () => Promise<unknown>): Promise<string> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return `median ${times[Math.floor(times.length / 2)]!.toFixed(2)} ms, max ${times[times.length - 1]!.toFixed(2)} ms`;
}

/** Calls and total µs of EVALSHA so far (`INFO commandstats`, server-wide). */
async function evalshaStats(redis: Redis): Promise<{ calls: number; usec: number }> {
  const m = /^cmdstat_evalsha:calls=(\d+),usec=(\d+)/m.exec(await redis.info("commandstats"));
  return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0) };
}

/** The longest SLOWLOG duration (µs) per command name since the last reset. */
async function slowest(redis: Redis): Promise<Map<string, number>> {
  const entries = (await redis.call("SLOWLOG", "GET", "-1")) as Array<[number, number, number, string[]]>;
  const out = new Map<string, number>();
  for (const [, , micros, args] of entries) {
    const name = String(args[0]).toLowerCase();
    out.set(name, Math.max(out.get(name) ?? 0, micros));
  }
  return out;
}

async function main(): Promise<void> {
  const handle = await ensureRedis((line) => console.log(`[redis] ${line}`));
  const url = `${handle.url.replace(/\/\d*$/, "")}/${DB}`;
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  const slowlog = (await redis.config("GET", "slowlog-*")) as string[];
  try {
    if ((await redis.dbsize()) > 0)
      throw new Error(`DB ${DB} of ${handle.url} is not empty: choose another BENCH_DB`);
    const admin = adminOn(redis);
    let started = performance.now();
    await fill(redis, "big", STATE, N);
    console.log(`Redis ${url} (${handle.source})`);
    console.log(
      `filled ${N.toLocaleString("en-US")} ${STATE} tasks in ${(performance.now() - started).toFixed(0)} ms`,
    );

    const pages = Math.ceil(N / 30);
    await timeIt(20, () => admin.listTasks("big", STATE, { page: pages, size: 30 })); // warm-up (JIT, script cache)
    for (const [label, page] of [
      ["page 1", 1],
      ["middle page", Math.ceil(pages / 2)],
      ["last page", pages],
    ] as const) {
      const stats = await timeIt(50, () => admin.listTasks("big", STATE, { page, size: 30 }));
      console.log(`listTasks ${label} (#${page}, size 30): ${stats}`);
    }
    console.log(
      `listTasks page 1, size 1000: ${await timeIt(20, () => admin.listTasks("big", STATE, { size: 1000 }))}`,
    );
    started = performance.now();
    let count = 0;
    for await (const _ of admin.iterateTasks("big", STATE, { batch: 1000 })) if (++count === 100_000) break;
    console.log(
      `iterateTasks (batch 1000), first ${count.toLocaleString("en-US")} tasks: ${(performance.now() - started).toFixed(0)} ms`,
    );

    // Log every call over 100 µs: each script call (the batch of deletes) and any slow command.
    await redis.config("SET", "slowlog-log-slower-than", "100", "slowlog-max-len", "100000");
    for (const batch of BATCHES) {
      await fill(redis, "del", "archived", DELETE_N);
      await redis.call("SLOWLOG", "RESET");
      const before = await evalshaStats(redis);
      started = performance.now();
      const deleted = await mutateAllTasks(redis, "del", "delete", { state: "archived" }, Date.now(), batch);
      const ms = performance.now() - started;
      const after = await evalshaStats(redis);
      const longest = await slowest(redis);
      if (deleted !== DELETE_N) throw new Error(`deleted ${String(deleted)} of ${DELETE_N}`);
      const calls = after.calls - before.calls;
      const others = [...longest].filter(
        ([name]) => name !== "evalsha" && name !== "slowlog" && name !== "info",
      );
      const worst = others.sort((x, y) => y[1] - x[1])[0];
      console.log(
        `deleteAll ${DELETE_N.toLocaleString("en-US")} archived, batch ${batch}${batch === MUTATE_BATCH ? " (default)" : ""}: ` +
          `${ms.toFixed(0)} ms total; ${calls} script calls, average ${((after.usec - before.usec) / calls / 1000).toFixed(2)} ms, ` +
          `longest ${((longest.get("evalsha") ?? 0) / 1000).toFixed(2)} ms; ` +
          `longest other command ${worst === undefined ? "under 0.1 ms" : `${worst[0]} ${(worst[1] / 1000).toFixed(2)} ms`}`,
      );
    }
  } finally {
    for (let i = 0; i + 1 < slowlog.length; i += 2)
      await redis.config("SET", slowlog[i]!, slowlog[i + 1]!).catch(() => undefined);
    await redis.call("SLOWLOG", "RESET").catch(() => undefined);
    await redis.flushdb().catch(() => undefined);
    redis.disconnect();
    await handle.stop();
  }
}

await main();
