// The shape shared by every scenario, the sizes of a run, and the context a scenario runs in.
import type { Lib } from "./libs.js";
import type { PrivateRedis } from "./redis.js";

/** Task counts and rates of one benchmark run (full or smoke). */
export interface Sizes {
  /** Tasks enqueued one at a time. */
  enqueue: number;
  /** Concurrent enqueue calls awaited together. */
  chunk: number;
  /** Tasks enqueued in batches. */
  batch: number;
  /** Tasks per batch call. */
  batchSize: number;
  /** Tasks pre-filled for the processing scenarios at concurrency >= 10. */
  process: number;
  /** Tasks pre-filled for processing at concurrency 1 (slower: fewer tasks keep the run short). */
  processC1: number;
  /** Tasks measured by the latency scenario (after a warm-up of `latencyWarmup`). */
  latency: number;
  latencyWarmup: number;
  /** Producer rate of the latency scenario, tasks per second. */
  latencyRate: number;
  /** Tasks per phase of the command-count scenario. */
  commands: number;
  /** Requests per redis-benchmark test of the ceiling. */
  ceiling: number;
}

export const FULL: Sizes = {
  enqueue: 100_000,
  chunk: 1000,
  batch: 100_000,
  batchSize: 1000,
  process: 100_000,
  processC1: 100_000,
  latency: 5000,
  latencyWarmup: 200,
  latencyRate: 500,
  commands: 2000,
  ceiling: 200_000,
};

export const SMOKE: Sizes = {
  enqueue: 500,
  chunk: 1000,
  batch: 500,
  batchSize: 1000,
  process: 500,
  processC1: 500,
  latency: 250,
  latencyWarmup: 20,
  latencyRate: 500,
  commands: 200,
  ceiling: 10_000,
};

/** What a scenario run gets. */
export interface Context {
  redis: PrivateRedis;
  sizes: Sizes;
  /** 1-based round number. */
  round: number;
  /** Where worker children write CPU profiles (`--cpu-prof`), if asked. */
  cpuProfDir: string | undefined;
  /** BullMQ workers delete a job on completion (`removeOnComplete: { count: 0 }`), as asynq-ts does. */
  bullRemoveOnComplete: boolean;
  /** asynq-ts workers run with metrics and tracing on (`--observe`). */
  observe: boolean;
  log: (line: string) => void;
}

/** Figures of one run, by metric name. */
export type Metrics = Record<string, number>;

/** What one run of a scenario for one library returns. */
export interface RunResult {
  metrics: Metrics;
  /** Anything else worth keeping in the JSON (breakdowns). */
  extra?: Record<string, unknown>;
}

/** One line of the summary table: a metric of a scenario. */
export interface Row {
  metric: string;
  label: string;
  unit: string;
  better: "higher" | "lower";
}

/** A benchmark scenario, run for each library in each round. */
export interface Scenario {
  /** Name for `--scenario`. */
  name: string;
  title: string;
  /** Run in the first round only (deterministic counts). */
  once?: boolean;
  /** Left out of `--smoke` unless named with `--scenario` (default: included). */
  inSmoke?: boolean;
  /** Worker processes x concurrency of a processing scenario: a line of the layouts table. */
  layout?: { processes: number; concurrency: number };
  rows: Row[];
  run(lib: Lib, ctx: Context): Promise<RunResult>;
}
