// Processing throughput from a pre-filled queue, with memory per task (waiting and after completion)
// and CPU per 10k tasks (worker processes, summed, and Redis) measured on the same run. Layouts: one
// process at concurrency 1, 10 and 100; 2 x 50, 4 x 25 and 10 x 5 (processes x concurrency).
import { spawnWorkers } from "../lib/children.js";
import { completedOf, openProducer, type Lib } from "../lib/libs.js";
import { commandCalls, redisCpuSeconds, resetRedis, usedMemory } from "../lib/redis.js";
import type { Context, RunResult, Scenario } from "../lib/scenario.js";
import { sleep } from "../lib/stats.js";

const POLL_MS = 10;
/** A run that has not drained by then has failed (a stuck worker, not a slow one). */
const drainTimeoutMs = (n: number): number => 60_000 + n * 5;
const SCRIPT_COMMANDS = new Set(["eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"]);
/**
 * asynq-ts' dequeue.lua runs one HMGET per candidate it looks at: each one it claims, and each one
 * another worker claimed first (which it skips, going on with the next), or that a replayed call
 * finds it claimed itself (which needs a lost reply). No other script or command of a running
 * asynq-ts worker runs HMGET, so HMGET calls beyond one per task count the candidates that collided.
 */
const ASYNQ_COLLISION_COMMAND = "hmget";
const secondsSince = (t: number): number => (performance.now() - t) / 1000;

async function fill(lib: Lib, ctx: Context, n: number): Promise<void> {
  const producer = await openProducer(lib, ctx.redis.url);
  try {
    for (let from = 0; from < n; from += ctx.sizes.batchSize) {
      await producer.enqueueBatch(from, Math.min(ctx.sizes.batchSize, n - from));
    }
  } finally {
    await producer.close();
  }
}

async function runProcessing(
  lib: Lib,
  ctx: Context,
  processes: number,
  concurrency: number,
  n: number,
): Promise<RunResult> {
  const { admin } = ctx.redis;
  await resetRedis(admin);
  await sleep(50);
  const memBase = await usedMemory(admin);
  let t = performance.now();
  await fill(lib, ctx, n);
  const fillSeconds = secondsSince(t);
  await sleep(50);
  const memWaiting = await usedMemory(admin);

  t = performance.now();
  const workers = await spawnWorkers(lib, ctx.redis.url, processes, concurrency, {
    cpuProfDir: ctx.cpuProfDir,
    removeOnComplete: ctx.bullRemoveOnComplete,
    observe: ctx.observe,
  });
  const spawnSeconds = secondsSince(t);
  let seconds: number;
  let redisCpu: number;
  let calls: Map<string, number>;
  let polls = 0;
  let pollCommands = 0;
  try {
    await admin.config("RESETSTAT");
    const redisCpu0 = await redisCpuSeconds(admin);
    const t0 = performance.now();
    for (const w of workers) w.start();
    for (;;) {
      const { completed, commands } = await completedOf(lib, admin, n, ctx.bullRemoveOnComplete);
      pollCommands += commands;
      if (completed >= n) break;
      polls++;
      if (performance.now() - t0 > drainTimeoutMs(n)) throw new Error(`${lib}: queue not drained in time`);
      await sleep(POLL_MS);
    }
    seconds = secondsSince(t0);
    redisCpu = (await redisCpuSeconds(admin)) - redisCpu0;
    calls = await commandCalls(admin);
  } catch (error) {
    for (const w of workers) w.kill();
    throw error;
  }
  t = performance.now();
  const reports = await Promise.all(workers.map((w) => w.stop()));
  const stopSeconds = secondsSince(t);
  const handled = reports.reduce((sum, r) => sum + r.handled, 0);
  if (handled < n) throw new Error(`${lib}: handlers ran ${handled} times for ${n} tasks`);
  // Summed over every worker process.
  const workerCpu = reports.reduce((sum, r) => sum + r.cpuSeconds, 0);
  await sleep(100);
  const memAfter = await usedMemory(admin);
  const keysLeft = await admin.dbsize();

  // Our own polling (the completion reads, plus the INFO calls) is taken out of the command counts.
  let total = -pollCommands - 2;
  let scripts = 0;
  for (const [command, count] of calls) {
    total += count;
    if (SCRIPT_COMMANDS.has(command)) scripts += count;
  }
  const metrics: RunResult["metrics"] = {
    tasksPerSec: n / seconds,
    seconds,
    workerCpuPer10k: (workerCpu * 10_000) / n,
    redisCpuPer10k: (redisCpu * 10_000) / n,
    memWaitingPerTask: (memWaiting - memBase) / n,
    memAfterPerTask: (memAfter - memBase) / n,
    keysLeft,
    redisCommandsPerTask: total / n,
    scriptCallsPerTask: scripts / n,
  };
  if (lib === "asynq-ts")
    metrics.collisionsPerTask = Math.max(0, (calls.get(ASYNQ_COLLISION_COMMAND) ?? 0) - n) / n;
  return {
    metrics,
    extra: {
      commandCalls: Object.fromEntries(calls),
      handled,
      polls,
      // Wall seconds of each phase: only `seconds` (the drain) is timed for tasks/s.
      phases: { fillSeconds, spawnSeconds, drainSeconds: seconds, stopSeconds },
      // Per worker process: how the work and the CPU were shared out.
      workers: reports.map((r) => ({ handled: r.handled, cpuSeconds: r.cpuSeconds })),
      // Cores busy during the drain: worker processes and Redis (the harness' own polling excluded).
      coresBusy: (workerCpu + redisCpu) / seconds,
    },
  };
}

/** A processing scenario: `processes` worker children of `concurrency` each. */
function processing(processes: number, concurrency: number): Scenario {
  const name = processes === 1 ? `process-c${concurrency}` : `process-${processes}x${concurrency}`;
  const shape = processes === 1 ? `concurrency ${concurrency}` : `${processes} processes x ${concurrency}`;
  const rows: Scenario["rows"] = [
    { metric: "tasksPerSec", label: `processing, ${shape}`, unit: "tasks/s", better: "higher" },
  ];
  if (processes === 1 && concurrency === 100) {
    rows.push(
      { metric: "memWaitingPerTask", label: "Redis memory per waiting task", unit: "bytes", better: "lower" },
      {
        metric: "memAfterPerTask",
        label: "Redis memory per task after completion",
        unit: "bytes",
        better: "lower",
      },
      { metric: "keysLeft", label: "Redis keys left after completion", unit: "keys", better: "lower" },
      { metric: "workerCpuPer10k", label: "worker CPU per 10k tasks (c100)", unit: "s", better: "lower" },
      { metric: "redisCpuPer10k", label: "Redis CPU per 10k tasks (c100)", unit: "s", better: "lower" },
      {
        metric: "redisCommandsPerTask",
        label: "Redis commands per task (c100, incl. in scripts)",
        unit: "cmds",
        better: "lower",
      },
    );
  }
  return {
    name,
    title: `processing, ${shape}`,
    rows,
    layout: { processes, concurrency },
    // Ten worker children per library cost the smoke run more in start-up than the other layouts do
    // in all (see bench/README.md); 4 x 25 runs in the smoke, 10 x 5 in full runs.
    inSmoke: !(processes === 10 && concurrency === 5),
    run: (lib, ctx) =>
      runProcessing(
        lib,
        ctx,
        processes,
        concurrency,
        concurrency === 1 ? ctx.sizes.processC1 : ctx.sizes.process,
      ),
  };
}

export const processC1 = processing(1, 1);
export const processC10 = processing(1, 10);
export const processC100 = processing(1, 100);
export const process2x50 = processing(2, 50);
export const process4x25 = processing(4, 25);
export const process10x5 = processing(10, 5);
