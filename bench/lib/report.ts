// Medians across rounds, the asynq-ts/BullMQ ratio, and the Markdown table printed and kept in README.
import type { CeilingLine } from "./ceiling.js";
import type { Lib } from "./libs.js";
import type { Metrics, Row, Scenario } from "./scenario.js";
import { median, round } from "./stats.js";

/** One run of one scenario for one library. */
export interface RunRecord {
  scenario: string;
  lib: Lib;
  round: number;
  /** 1-minute load average of the machine when the run ended. */
  load1: number;
  metrics: Metrics;
  extra?: Record<string, unknown>;
}

/** One line of the summary: medians of both libraries for a metric. */
export interface SummaryRow extends Row {
  scenario: string;
  asynq: number;
  bullmq: number;
  /** asynq-ts / BullMQ. */
  ratio: number;
  /** Who is ahead, and by how many times ("asynq-ts 1.8x"). */
  lead: string;
  samples: { asynq: number[]; bullmq: number[] };
  /** asynq-ts/BullMQ of each round both ran in (back to back, so each ratio saw the same machine). */
  roundRatios: number[];
}

function lead(row: Row, a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return "n/a";
  const aheadA = row.better === "higher" ? a > b : a < b;
  const [best, other] = aheadA ? [a, b] : [b, a];
  const name = aheadA ? "asynq-ts" : "BullMQ";
  if (best === other) return "tie";
  if (row.better === "lower" && best < Math.abs(other) / 100) return `${name} (near 0)`;
  if (best <= 0 || other <= 0) return name;
  const factor = row.better === "higher" ? best / other : other / best;
  return `${name} ${factor.toFixed(2)}x`;
}

/** Medians per scenario row, in scenario order. */
export function summarize(scenarios: readonly Scenario[], runs: readonly RunRecord[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const scenario of scenarios) {
    for (const row of scenario.rows) {
      const samples = (lib: Lib) =>
        runs
          .filter((r) => r.scenario === scenario.name && r.lib === lib)
          .map((r) => r.metrics[row.metric] ?? NaN);
      const sa = samples("asynq-ts");
      const sb = samples("bullmq");
      if (sa.length === 0 && sb.length === 0) continue;
      const roundRatios: number[] = [];
      for (const ra of runs) {
        if (ra.scenario !== scenario.name || ra.lib !== "asynq-ts") continue;
        const rb = runs.find(
          (r) => r.scenario === scenario.name && r.lib === "bullmq" && r.round === ra.round,
        );
        if (rb !== undefined)
          roundRatios.push((ra.metrics[row.metric] ?? NaN) / (rb.metrics[row.metric] ?? NaN));
      }
      const a = median(sa);
      const b = median(sb);
      rows.push({
        ...row,
        scenario: scenario.name,
        asynq: a,
        bullmq: b,
        ratio: a / b,
        lead: lead(row, a, b),
        samples: { asynq: sa, bullmq: sb },
        roundRatios,
      });
    }
  }
  return rows;
}

function format(value: number, unit: string): string {
  if (!Number.isFinite(value)) return "n/a";
  if (unit === "tasks/s" || unit === "bytes" || unit === "ops/s" || unit === "keys")
    return Math.round(value).toLocaleString("en-US");
  if (unit === "s") return value.toFixed(3);
  return value.toFixed(2);
}

function perRound(r: SummaryRow): string {
  return r.roundRatios.length < 2 ? "" : r.roundRatios.map((x) => x.toFixed(2)).join(", ");
}

/** The Markdown table of medians (and the ceiling lines under it). */
export function formatTable(rows: readonly SummaryRow[], ceiling: readonly CeilingLine[]): string {
  const out = [
    "| scenario | unit | asynq-ts | BullMQ | asynq-ts/BullMQ | ahead | ratio per round |",
    "| --- | --- | ---: | ---: | ---: | --- | --- |",
  ];
  for (const r of rows) {
    const better = r.better === "higher" ? "higher is better" : "lower is better";
    out.push(
      `| ${r.label} | ${r.unit} (${better}) | ${format(r.asynq, r.unit)} | ${format(r.bullmq, r.unit)} | ${Number.isFinite(r.ratio) ? r.ratio.toFixed(2) : "n/a"} | ${r.lead} | ${perRound(r)} |`,
    );
  }
  if (ceiling.length > 0) {
    out.push(
      "",
      "Ceiling: redis-benchmark on the same Redis (50 clients):",
      "",
      "| command | pipeline | ops/s |",
      "| --- | ---: | ---: |",
    );
    for (const c of ceiling) out.push(`| ${c.label} | ${c.pipeline} | ${format(c.opsPerSec, "ops/s")} |`);
  }
  return out.join("\n");
}

/** One line of the layouts table: a processing scenario's medians. */
export interface LayoutRow {
  scenario: string;
  processes: number;
  concurrency: number;
  tasksPerSec: { asynq: number; bullmq: number };
  /** asynq-ts / BullMQ tasks/s. */
  ratio: number;
  /** Worker CPU seconds per 10k tasks, summed over the worker processes. */
  workerCpuPer10k: { asynq: number; bullmq: number };
  /** asynq-ts only: script calls and dequeue collisions per task. */
  scriptCallsPerTask: number;
  collisionsPerTask: number;
}

/** Medians of the processing scenarios (those with a layout), one line per layout, in scenario order. */
export function summarizeLayouts(scenarios: readonly Scenario[], runs: readonly RunRecord[]): LayoutRow[] {
  const rows: LayoutRow[] = [];
  for (const scenario of scenarios) {
    if (scenario.layout === undefined) continue;
    const of = (lib: Lib, metric: string) =>
      median(
        runs
          .filter((r) => r.scenario === scenario.name && r.lib === lib)
          .map((r) => r.metrics[metric] ?? NaN),
      );
    if (!runs.some((r) => r.scenario === scenario.name)) continue;
    const tasksPerSec = { asynq: of("asynq-ts", "tasksPerSec"), bullmq: of("bullmq", "tasksPerSec") };
    rows.push({
      scenario: scenario.name,
      ...scenario.layout,
      tasksPerSec,
      ratio: tasksPerSec.asynq / tasksPerSec.bullmq,
      workerCpuPer10k: { asynq: of("asynq-ts", "workerCpuPer10k"), bullmq: of("bullmq", "workerCpuPer10k") },
      scriptCallsPerTask: of("asynq-ts", "scriptCallsPerTask"),
      collisionsPerTask: of("asynq-ts", "collisionsPerTask"),
    });
  }
  return rows;
}

/** The Markdown table of the processing layouts (processes x concurrency). */
export function formatLayoutTable(rows: readonly LayoutRow[]): string {
  const fixed = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : "n/a");
  const out = [
    "| layout (processes x concurrency) | asynq-ts tasks/s | BullMQ tasks/s | asynq-ts/BullMQ | worker CPU per 10k tasks, s (asynq-ts / BullMQ) | asynq-ts script calls per task | asynq-ts dequeue collisions per task |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    out.push(
      `| ${r.processes} x ${r.concurrency} | ${format(r.tasksPerSec.asynq, "tasks/s")} | ${format(r.tasksPerSec.bullmq, "tasks/s")} | ${fixed(r.ratio, 2)} | ${fixed(r.workerCpuPer10k.asynq, 3)} / ${fixed(r.workerCpuPer10k.bullmq, 3)} | ${fixed(r.scriptCallsPerTask, 3)} | ${fixed(r.collisionsPerTask, 3)} |`,
    );
  }
  return out.join("\n");
}

/** Rounds every number of a layouts summary for the JSON. */
export function roundedLayouts(rows: readonly LayoutRow[]): unknown[] {
  return rows.map((r) => ({
    ...r,
    tasksPerSec: { asynq: round(r.tasksPerSec.asynq), bullmq: round(r.tasksPerSec.bullmq) },
    ratio: round(r.ratio),
    workerCpuPer10k: { asynq: round(r.workerCpuPer10k.asynq), bullmq: round(r.workerCpuPer10k.bullmq) },
    scriptCallsPerTask: round(r.scriptCallsPerTask),
    collisionsPerTask: round(r.collisionsPerTask),
  }));
}

/** Rounds every number of a summary for the JSON. */
export function roundedSummary(rows: readonly SummaryRow[]): unknown[] {
  return rows.map((r) => ({
    scenario: r.scenario,
    metric: r.metric,
    label: r.label,
    unit: r.unit,
    better: r.better,
    asynq: round(r.asynq),
    bullmq: round(r.bullmq),
    ratio: round(r.ratio),
    lead: r.lead,
    samples: { asynq: r.samples.asynq.map((v) => round(v)), bullmq: r.samples.bullmq.map((v) => round(v)) },
    roundRatios: r.roundRatios.map((v) => round(v)),
  }));
}
