// Entry of `npm run bench`: asynq-ts side by side with BullMQ on one private Redis (issue 7).
// Starts its own redis-server, measures the redis-benchmark ceiling, runs every scenario for both
// libraries alternating A B A B for N rounds (the Redis emptied before each run), prints the table of
// medians and writes every figure to bench/results/latest.json. See bench/README.md.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, USAGE } from "./lib/args.js";
import { buildForBench } from "./lib/asynq.js";
import { measureCeiling, type CeilingLine } from "./lib/ceiling.js";
import { LIBS } from "./lib/libs.js";
import { startPrivateRedis } from "./lib/redis.js";
import {
  formatLayoutTable,
  formatTable,
  roundedLayouts,
  roundedSummary,
  summarize,
  summarizeLayouts,
  type RunRecord,
} from "./lib/report.js";
import { FULL, SMOKE, type Scenario } from "./lib/scenario.js";
import { round } from "./lib/stats.js";
import { commands } from "./scenarios/commands.js";
import { enqueueBatch, enqueueOne } from "./scenarios/enqueue.js";
import { latency } from "./scenarios/latency.js";
import {
  process10x5,
  process2x50,
  process4x25,
  processC1,
  processC10,
  processC100,
} from "./scenarios/process.js";

const ALL: readonly Scenario[] = [
  enqueueOne,
  enqueueBatch,
  processC1,
  processC10,
  processC100,
  process2x50,
  process4x25,
  process10x5,
  latency,
  commands,
];
const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

/** The commit checked out, and the files of src/ that differ from it (what was measured). */
function gitState(): { commit: string; srcChanges: string[] } {
  try {
    const git = (...args: string[]) => execFileSync("git", args, { encoding: "utf8", stdio: "pipe" }).trim();
    const changes = git("status", "--porcelain", "--", "src");
    return {
      commit: git("rev-parse", "--short", "HEAD"),
      srcChanges: changes === "" ? [] : changes.split("\n"),
    };
  } catch {
    return { commit: "unknown", srcChanges: [] };
  }
}

function headline(scenario: Scenario, metrics: Record<string, number>): string {
  return scenario.rows
    .slice(0, 3)
    .map((row) => `${row.metric}=${round(metrics[row.metric] ?? NaN, 4)}`)
    .join(" ");
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log(`${USAGE}\n\nScenarios: ceiling, ${ALL.map((s) => s.name).join(", ")}`);
    return 0;
  }
  if (args.report !== undefined) {
    const saved = JSON.parse(readFileSync(args.report, "utf8")) as {
      runs: RunRecord[];
      ceiling: CeilingLine[];
      args: { rounds: number; bullRemoveOnComplete?: boolean };
      totalSeconds: number;
      machine: { cores: number; cpu: string; node: string; redis: string };
      bullmq: string;
    };
    const m = saved.machine;
    console.log(formatTable(summarize(ALL, saved.runs), saved.ceiling));
    const layouts = summarizeLayouts(ALL, saved.runs);
    if (layouts.length > 0) console.log(`\nProcessing layouts:\n\n${formatLayoutTable(layouts)}`);
    console.log(
      `\nMedians of ${saved.args.rounds} round(s); ${m.cores} cores (${m.cpu}), Node ${m.node}, Redis ${m.redis}; BullMQ ${saved.bullmq}${saved.args.bullRemoveOnComplete === true ? " (removeOnComplete)" : ""}; total ${Math.round(saved.totalSeconds)} s`,
    );
    return 0;
  }
  const unknown = args.scenarios.filter((n) => n !== "ceiling" && !ALL.some((s) => s.name === n));
  if (unknown.length > 0) throw new Error(`unknown scenario(s): ${unknown.join(", ")}`);
  const chosen =
    args.scenarios.length === 0
      ? ALL.filter((s) => !args.smoke || s.inSmoke !== false)
      : ALL.filter((s) => args.scenarios.includes(s.name));
  const withCeiling = args.scenarios.length === 0 || args.scenarios.includes("ceiling");
  const base = args.smoke ? SMOKE : FULL;
  const sizes = args.tasks === undefined ? base : { ...base, process: args.tasks, processC1: args.tasks };
  const resultsDir = resolve(BENCH_DIR, "results");
  const out = resolve(args.out ?? resolve(resultsDir, args.smoke ? "smoke.json" : "latest.json"));
  const cpuProfDir = args.cpuProf ? resolve(resultsDir, "profiles") : undefined;
  if (cpuProfDir !== undefined) mkdirSync(cpuProfDir, { recursive: true });
  const log = (line: string) => console.log(line);
  const startedAt = new Date();
  const git = gitState();
  const t0 = performance.now();

  if (chosen.some((s) => s.name !== "ceiling")) {
    const seconds = buildForBench(resultsDir);
    log(`[bench] built the package from src/ (npm run build, ${seconds.toFixed(1)} s); measuring that build`);
  }
  const redis = await startPrivateRedis();
  log(
    `[bench] private redis-server ${redis.version} at ${redis.url}; ${args.rounds} round(s)${args.smoke ? " (smoke)" : ""}${args.bullRemoveOnComplete ? "; BullMQ removeOnComplete" : ""}${args.observe ? "; asynq-ts with metrics and tracing on" : ""}`,
  );
  const runs: RunRecord[] = [];
  const failures: string[] = [];
  let ceiling: CeilingLine[] = [];
  try {
    if (withCeiling) ceiling = await measureCeiling(redis, sizes.ceiling, log);
    for (let r = 1; r <= args.rounds; r++) {
      for (const scenario of chosen) {
        if (scenario.once === true && r > 1) continue;
        for (const lib of LIBS) {
          const started = performance.now();
          try {
            const result = await scenario.run(lib, {
              redis,
              sizes,
              round: r,
              cpuProfDir,
              bullRemoveOnComplete: args.bullRemoveOnComplete,
              observe: args.observe,
              log,
            });
            // The 1-minute load average when the run ended: a busy machine shows up here.
            runs.push({ scenario: scenario.name, lib, round: r, load1: loadavg()[0] ?? 0, ...result });
            const took = ((performance.now() - started) / 1000).toFixed(1);
            log(
              `[round ${r}/${args.rounds}] ${scenario.name} ${lib}: ${headline(scenario, result.metrics)} (${took} s)`,
            );
          } catch (error) {
            const message = `${scenario.name} ${lib} round ${r}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
            failures.push(message);
            console.error(`[bench] FAILED ${message}`);
          }
        }
      }
    }
  } finally {
    await redis.stop();
  }

  const summary = summarize(chosen, runs);
  const layouts = summarizeLayouts(chosen, runs);
  const seconds = (performance.now() - t0) / 1000;
  const table = formatTable(summary, ceiling);
  const cpu = cpus();
  const machine = `${cpu.length} cores (${cpu[0]?.model ?? "unknown CPU"}), Node ${process.version}, Redis ${redis.version}`;
  const bullmqVersion = (
    JSON.parse(readFileSync(resolve(BENCH_DIR, "../node_modules/bullmq/package.json"), "utf8")) as {
      version: string;
    }
  ).version;
  console.log(`\n${table}\n`);
  if (layouts.length > 0) console.log(`Processing layouts:\n\n${formatLayoutTable(layouts)}\n`);
  const bullNote = args.bullRemoveOnComplete ? " (removeOnComplete)" : "";
  console.log(
    `Medians of ${args.rounds} round(s); ${machine}; BullMQ ${bullmqVersion}${bullNote}; total ${seconds.toFixed(0)} s`,
  );

  mkdirSync(dirname(out), { recursive: true });
  const json = {
    startedAt: startedAt.toISOString(),
    totalSeconds: round(seconds),
    ...git,
    machine: { cores: cpu.length, cpu: cpu[0]?.model, node: process.version, redis: redis.version },
    bullmq: bullmqVersion,
    args,
    sizes,
    ceiling,
    summary: roundedSummary(summary),
    layouts: roundedLayouts(layouts),
    runs: runs.map((r) => ({
      ...r,
      metrics: Object.fromEntries(Object.entries(r.metrics).map(([k, v]) => [k, round(v)])),
    })),
    failures,
  };
  writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`Every figure: ${out}`);
  if (failures.length > 0) {
    console.error(`[bench] ${failures.length} run(s) failed`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
