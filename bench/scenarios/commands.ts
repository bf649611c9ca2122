// Redis commands per task, counted exactly with MONITOR (not timed: MONITOR slows Redis down).
// Splits what the library sends (round trips: each command sent, pipelined or not) from what its
// scripts run inside Redis, for enqueue, batch enqueue and processing (one worker, concurrency 10),
// and counts the client's socket writes (syscalls) and bytes sent per task.
import { Redis } from "ioredis";
import { spawnWorkers } from "../lib/children.js";
import { completedOf, openProducer, type Lib } from "../lib/libs.js";
import { resetRedis } from "../lib/redis.js";
import type { Context, Metrics, RunResult, Scenario } from "../lib/scenario.js";
import { countSocketWrites, type WriteCounts } from "../lib/socket-writes.js";
import { sleep } from "../lib/stats.js";

type Phase = "enqueue" | "batch" | "process" | "idle";
const PHASES: readonly Exclude<Phase, "idle">[] = ["enqueue", "batch", "process"];

/** Command counts of one phase: sent by clients, and run inside scripts. */
interface Counts {
  sent: Map<string, number>;
  inScripts: Map<string, number>;
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

const sum = (map: Map<string, number>): number => [...map.values()].reduce((a, b) => a + b, 0);

async function runCommands(lib: Lib, ctx: Context): Promise<RunResult> {
  const n = ctx.sizes.commands;
  const { admin } = ctx.redis;
  await resetRedis(admin);
  const adminSource = `127.0.0.1:${admin.stream.localPort}`;
  const counts = new Map<Phase, Counts>();
  for (const p of [...PHASES, "idle" as const]) counts.set(p, { sent: new Map(), inScripts: new Map() });
  let phase: Phase = "idle";
  const writes = new Map<Phase, WriteCounts>();
  const monitorConn = new Redis(ctx.redis.url);
  const monitor = await monitorConn.monitor();
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    if (source === adminSource) return;
    const c = counts.get(phase)!;
    bump(source === "lua" ? c.inScripts : c.sent, (args[0] ?? "?").toLowerCase());
  });
  // MONITOR lines arrive a little after the commands: let each phase's tail arrive before switching.
  const switchTo = async (next: Phase): Promise<void> => {
    await sleep(200);
    phase = next;
  };
  try {
    const producer = await openProducer(lib, ctx.redis.url);
    await producer.enqueue(-1); // connection set-up and script loading stay out of the counts
    await switchTo("enqueue");
    let stopCounting = countSocketWrites();
    for (let from = 0; from < n; from += ctx.sizes.chunk) {
      const count = Math.min(ctx.sizes.chunk, n - from);
      await Promise.all(Array.from({ length: count }, (_, k) => producer.enqueue(from + k)));
    }
    writes.set("enqueue", stopCounting());
    await switchTo("batch");
    stopCounting = countSocketWrites();
    for (let from = n; from < 2 * n; from += ctx.sizes.batchSize) {
      await producer.enqueueBatch(from, Math.min(ctx.sizes.batchSize, 2 * n - from));
    }
    writes.set("batch", stopCounting());
    await switchTo("idle");
    await producer.close();
    const [worker] = await spawnWorkers(lib, ctx.redis.url, 1, 10, {
      countWrites: true,
      removeOnComplete: ctx.bullRemoveOnComplete,
    });
    await switchTo("process");
    worker!.start();
    const total = 2 * n + 1;
    while ((await completedOf(lib, admin, total, ctx.bullRemoveOnComplete)).completed < total)
      await sleep(10);
    await switchTo("idle");
    const report = await worker!.stop();
    if (report.writes !== undefined) writes.set("process", report.writes);
  } finally {
    // monitor() opened a connection of its own: close it too, or Redis keeps feeding it every command.
    monitor.disconnect();
    monitorConn.disconnect();
  }
  const metrics: Metrics = {};
  const extra: Record<string, unknown> = {};
  for (const p of PHASES) {
    const c = counts.get(p)!;
    const tasks = p === "process" ? 2 * n + 1 : n;
    metrics[`${p}Sent`] = sum(c.sent) / tasks;
    metrics[`${p}InScripts`] = sum(c.inScripts) / tasks;
    metrics[`${p}SocketWrites`] = (writes.get(p)?.writes ?? NaN) / tasks;
    metrics[`${p}BytesOut`] = (writes.get(p)?.bytes ?? NaN) / tasks;
    extra[p] = {
      tasks,
      socketWrites: writes.get(p),
      sent: Object.fromEntries([...c.sent].sort((a, b) => b[1] - a[1])),
      inScripts: Object.fromEntries([...c.inScripts].sort((a, b) => b[1] - a[1])),
    };
  }
  return { metrics, extra };
}

export const commands: Scenario = {
  name: "commands",
  title: "Redis commands per task (MONITOR)",
  once: true,
  rows: [
    { metric: "enqueueSent", label: "commands sent per task: enqueue", unit: "cmds", better: "lower" },
    {
      metric: "enqueueInScripts",
      label: "commands in scripts per task: enqueue",
      unit: "cmds",
      better: "lower",
    },
    { metric: "batchSent", label: "commands sent per task: batch", unit: "cmds", better: "lower" },
    { metric: "batchInScripts", label: "commands in scripts per task: batch", unit: "cmds", better: "lower" },
    { metric: "processSent", label: "commands sent per task: processing c10", unit: "cmds", better: "lower" },
    {
      metric: "processInScripts",
      label: "commands in scripts per task: processing c10",
      unit: "cmds",
      better: "lower",
    },
    {
      metric: "enqueueSocketWrites",
      label: "socket writes per task: enqueue",
      unit: "writes",
      better: "lower",
    },
    { metric: "enqueueBytesOut", label: "bytes sent per task: enqueue", unit: "bytes", better: "lower" },
    {
      metric: "processSocketWrites",
      label: "socket writes per task: processing c10",
      unit: "writes",
      better: "lower",
    },
    {
      metric: "processBytesOut",
      label: "bytes sent per task: processing c10",
      unit: "bytes",
      better: "lower",
    },
  ],
  run: runCommands,
};
