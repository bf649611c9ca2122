// Processing throughput from a pre-filled queue, with memory per task (waiting and after completion)
// and CPU per 10k tasks (worker processes and Redis) measured on the same run.
import { spawnWorkers } from "../lib/children.js";
import { completedCount, openProducer, type Lib } from "../lib/libs.js";
import { commandCalls, redisCpuSeconds, resetRedis, usedMemory } from "../lib/redis.js";
import type { Context, RunResult, Scenario } from "../lib/scenario.js";
import { sleep } from "../lib/stats.js";

const POLL_MS = 10;
/** A run that has not drained by then has failed (a stuck worker, not a slow one). */
const drainTimeoutMs = (n: number): number => 60_000 + n * 5;
const SCRIPT_COMMANDS = new Set(["eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"]);

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
  await fill(lib, ctx, n);
  await sleep(50);
  const memWaiting = await usedMemory(admin);

  const workers = await spawnWorkers(lib, ctx.redis.url, processes, concurrency, {
    cpuProfDir: ctx.cpuProfDir,
  });
  let seconds: number;
  let redisCpu: number;
  let calls: Map<string, number>;
  let polls = 0;
  try {
    await admin.config("RESETSTAT");
    const redisCpu0 = await redisCpuSeconds(admin);
    const t0 = performance.now();
    for (const w of workers) w.start();
    while ((await completedCount(lib, admin)) < n) {
      polls++;
      if (performance.now() - t0 > drainTimeoutMs(n)) throw new Error(`${lib}: queue not drained in time`);
      await sleep(POLL_MS);
    }
    seconds = (performance.now() - t0) / 1000;
    redisCpu = (await redisCpuSeconds(admin)) - redisCpu0;
    calls = await commandCalls(admin);
  } catch (error) {
    for (const w of workers) w.kill();
    throw error;
  }
  const reports = await Promise.all(workers.map((w) => w.stop()));
  const handled = reports.reduce((sum, r) => sum + r.handled, 0);
  if (handled < n) throw new Error(`${lib}: handlers ran ${handled} times for ${n} tasks`);
  const workerCpu = reports.reduce((sum, r) => sum + r.cpuSeconds, 0);
  await sleep(100);
  const memAfter = await usedMemory(admin);
  const keysLeft = await admin.dbsize();

  // Our own polling (one read per poll, plus the INFO calls) is taken out of the command counts.
  let total = -polls - 2;
  let scripts = 0;
  for (const [command, count] of calls) {
    total += count;
    if (SCRIPT_COMMANDS.has(command)) scripts += count;
  }
  return {
    metrics: {
      tasksPerSec: n / seconds,
      seconds,
      workerCpuPer10k: (workerCpu * 10_000) / n,
      redisCpuPer10k: (redisCpu * 10_000) / n,
      memWaitingPerTask: (memWaiting - memBase) / n,
      memAfterPerTask: (memAfter - memBase) / n,
      keysLeft,
      redisCommandsPerTask: total / n,
      scriptCallsPerTask: scripts / n,
    },
    extra: { commandCalls: Object.fromEntries(calls), handled, polls },
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
