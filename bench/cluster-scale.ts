// Processing throughput with the queues spread over Redis Clusters of 1, 2 and 3 masters (issue 20,
// item 4): does adding masters add throughput, and if not, what is the limit (a Redis master's core,
// the workers' CPU, or the machine's cores)? See bench/README.md, "Scale over cluster shards".
//
//   npx tsx bench/cluster-scale.ts [--masters 1,2,3] [--rounds 3] [--tasks 60000] [--queues 6]
//     [--workers 2] [--concurrency 50] [--batch 1000] [--first-port 7210] [--out FILE] [--no-build]
//
// One cluster per size, no replicas (test/support/topologies/cluster.ts), all started first on
// consecutive ports from --first-port (1 + 2 + 3 masters: 7210-7215), and run in turn in each round
// (1 2 3, 1 2 3, …) so that a noisy machine hits every size alike. Per run (bench/lib/cluster-scale.ts):
// every master emptied; --tasks no-op tasks enqueued round-robin over --queues queues, picked so that
// their `{queue}` hash slots spread evenly over the masters, with `client.enqueueBatch` (timed: the
// enqueue column); then --workers children (bench/lib/worker.ts, each a Server over every queue at
// --concurrency) are started together and timed until the queues' processed counters reach the
// count. CPU seconds over that drain: each master's (INFO cpu, user + sys) and each worker's
// (process.cpuUsage in the child). Like `npm run bench`, it measures the package as built from src/.
// Prints a Markdown table of medians and writes every figure to bench/results/cluster-scale.json.
// Every redis-server and worker it starts is stopped on exit, error, Ctrl-C (SIGINT to the process
// group) or SIGTERM to this process; `npx` itself does not pass a SIGTERM on to it.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildForBench } from "./lib/asynq.js";
import {
  runOnce,
  started,
  startSize,
  stopEverything,
  type Run,
  type RunParams,
} from "./lib/cluster-scale.js";
import { median, round } from "./lib/stats.js";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

/** Flags; the defaults take about 4 minutes on 2 cores (build included). */
interface Options extends RunParams {
  masters: number[];
  rounds: number;
  /** Queues, spread evenly over the masters. */
  queues: number;
  firstPort: number;
  out: string;
  /** Measure the build a previous run left in bench/results/dist/ instead of building again. */
  noBuild: boolean;
}

const USAGE = `Usage: npx tsx bench/cluster-scale.ts [flags]
  --masters 1,2,3    cluster sizes (masters, no replicas), each run in every round
  --rounds N         rounds (default 3); the table shows medians
  --tasks N          tasks per run (default 60000)
  --queues N         queues, spread evenly over the masters (default 6)
  --workers N        worker processes (default 2), each a Server over every queue
  --concurrency N    concurrency of each worker (default 50)
  --batch N          tasks per enqueueBatch call (default 1000)
  --first-port P     first port of the clusters (default 7210; 1+2+3 masters use 7210-7215)
  --out FILE         JSON of every figure (default bench/results/cluster-scale.json)
  --no-build         measure the build an earlier run left in bench/results/dist/ (no npm run build)`;

/** Parses the flags. @throws Error for an unknown flag or a bad value. */
function parseOptions(argv: readonly string[]): Options | undefined {
  const o: Options = {
    masters: [1, 2, 3],
    ...{ rounds: 3, tasks: 60_000, queues: 6, workers: 2, concurrency: 50, batch: 1000, firstPort: 7210 },
    out: resolve(BENCH_DIR, "results/cluster-scale.json"),
    noBuild: false,
  };
  const integer = (flag: string, text: string | undefined, min: number, max: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`${flag} must be an integer ${min}-${max}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === "--help" || flag === "-h") return undefined;
    if (flag === "--no-build") {
      o.noBuild = true;
      continue;
    }
    const value = argv[++i];
    if (flag === "--masters") o.masters = (value ?? "").split(",").map((v) => integer(flag, v, 1, 10));
    else if (flag === "--rounds") o.rounds = integer(flag, value, 1, 50);
    else if (flag === "--tasks") o.tasks = integer(flag, value, 1, 10_000_000);
    else if (flag === "--queues") o.queues = integer(flag, value, 1, 1000);
    else if (flag === "--workers") o.workers = integer(flag, value, 1, 50);
    else if (flag === "--concurrency") o.concurrency = integer(flag, value, 1, 10_000);
    else if (flag === "--batch") o.batch = integer(flag, value, 1, 100_000);
    else if (flag === "--first-port") o.firstPort = integer(flag, value, 1024, 65_000);
    else if (flag === "--out" && value !== undefined) o.out = resolve(value);
    else throw new Error(`unknown flag or missing value: ${flag}\n${USAGE}`);
  }
  return o;
}

const int = (v: number) => Math.round(v).toLocaleString("en-US");
const pct = (v: number) => `${Math.round(v * 100)}%`;

/** The Markdown table: medians over the rounds, one line per size. */
function formatTable(runs: readonly Run[], o: Options): string {
  const out = [
    `| masters | tasks/s | tasks/s per round | enqueue tasks/s | Redis CPU per master, % of a core | ${o.workers} workers' CPU, % of a core (sum) | cores busy (of ${cpus().length}) | CPU s per 10k tasks: Redis (all masters) / workers | Redis commands per task (incl. in scripts) | commands per socket read | load avg |`,
    "| ---: | ---: | --- | ---: | --- | ---: | ---: | --- | ---: | ---: | ---: |",
  ];
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  for (const masters of o.masters) {
    const mine = runs.filter((r) => r.masters === masters);
    if (mine.length === 0) continue;
    const m = (f: (r: Run) => number) => median(mine.map(f));
    const perMaster = Array.from({ length: masters }, (_, i) =>
      pct(m((r) => r.redisCpu[i]! / r.drainSeconds)),
    );
    const per10k = (f: (r: Run) => number[]) => m((r) => (sum(f(r)) * 10_000) / r.tasks).toFixed(3);
    out.push(
      `| ${masters} | ${int(m((r) => r.tasksPerSec))} | ${mine.map((r) => int(r.tasksPerSec)).join(", ")} | ` +
        `${int(m((r) => r.enqueuePerSec))} | ${perMaster.join(" / ")} | ` +
        `${pct(m((r) => sum(r.workerCpu) / r.drainSeconds))} | ${m((r) => r.coresBusy).toFixed(2)} | ` +
        `${per10k((r) => r.redisCpu)} / ${per10k((r) => r.workerCpu)} | ` +
        `${m((r) => r.commandsPerTask).toFixed(2)} | ${m((r) => r.commandsPerRead).toFixed(2)} | ` +
        `${m((r) => r.load1).toFixed(1)} |`,
    );
  }
  return out.join("\n");
}

/** Builds the package for the workers (bench/lib/asynq.ts), or points them at the last build. */
function prepareBuild(noBuild: boolean): string {
  const results = resolve(BENCH_DIR, "results");
  if (!noBuild) return `built the package (${buildForBench(results).toFixed(1)} s)`;
  const dist = resolve(results, "dist");
  if (!existsSync(resolve(dist, "index.mjs"))) throw new Error(`--no-build: no build in ${dist}`);
  process.env.ASYNQ_TS_BENCH_BUILD = dist;
  return `measuring the earlier build in ${dist}`;
}

/** `redis-server --version`'s `v=7.0.15`. */
function redisVersion(): string {
  const out = spawnSync("redis-server", ["--version"], { encoding: "utf8" }).stdout ?? "";
  return /v=(\S+)/.exec(out)?.[1] ?? "unknown";
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  if (o === undefined) {
    console.log(USAGE);
    return 0;
  }
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  console.log(`[scale] ${prepareBuild(o.noBuild)}; load avg ${loadavg()[0]!.toFixed(2)}`);
  let port = o.firstPort;
  for (const masters of o.masters) {
    const size = await startSize(masters, port, o.queues);
    port += masters;
    const spread = [...size.queues].map(([q, p]) => `${q}@${p}`).join(" ");
    console.log(`[scale] ${masters} master(s) at ${size.topology.url}; queues ${spread}`);
  }
  const sizes = [...started.sizes];
  const runs: Run[] = [];
  for (let r = 1; r <= o.rounds; r++) {
    for (const size of sizes) {
      const run = await runOnce(size, o, r);
      runs.push(run);
      console.log(
        `[round ${r}/${o.rounds}] ${size.masters} master(s): ${int(run.tasksPerSec)} tasks/s, enqueue ${int(run.enqueuePerSec)}/s, ` +
          `Redis CPU ${run.redisCpu.map((c) => c.toFixed(2)).join("/")} s, workers ${run.workerCpu.map((c) => c.toFixed(2)).join("/")} s ` +
          `over ${run.drainSeconds.toFixed(2)} s; load ${run.load1.toFixed(2)}`,
      );
    }
  }
  await stopEverything();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpus();
  console.log(`\n${formatTable(runs, o)}\n`);
  console.log(
    `${o.tasks} tasks over ${o.queues} queues, ${o.workers} workers x ${o.concurrency}; medians of ${o.rounds} round(s); ` +
      `${cpu.length} cores (${cpu[0]?.model ?? "unknown CPU"}), Node ${process.version}; total ${seconds.toFixed(0)} s`,
  );
  mkdirSync(dirname(o.out), { recursive: true });
  const rounded = runs.map((r) => ({
    ...r,
    ...{ tasksPerSec: round(r.tasksPerSec), enqueuePerSec: round(r.enqueuePerSec) },
    ...{ drainSeconds: round(r.drainSeconds), coresBusy: round(r.coresBusy), load1: round(r.load1, 3) },
    ...{ commandsPerTask: round(r.commandsPerTask), commandsPerRead: round(r.commandsPerRead) },
    ...{ redisCpu: r.redisCpu.map((c) => round(c)), workerCpu: r.workerCpu.map((c) => round(c)) },
  }));
  const machine = { cores: cpu.length, cpu: cpu[0]?.model, node: process.version, redis: redisVersion() };
  const queues = sizes.map((s) => ({ masters: s.masters, queues: Object.fromEntries(s.queues) }));
  const json = { startedAt, totalSeconds: round(seconds), machine, options: o, queues, runs: rounded };
  writeFileSync(o.out, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`Every figure: ${o.out}`);
  return 0;
}

// Ctrl-C, kill, or a failure anywhere: stop the workers and the clusters before leaving.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    console.error(`[scale] ${signal}: stopping every worker and redis-server started`);
    void stopEverything().finally(() => process.exit(130));
  });
}
main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    await stopEverything();
    process.exit(1);
  },
);
