// The asynq-ts the benchmark measures: the package as published (the tsup build of src/), not src/
// run through tsx. BullMQ is measured from its published JavaScript too; tsx's transform adds what the
// build does not (a `__name` call for every closure it creates, about 2% of a worker's CPU at
// concurrency 1 in a profile). run.ts builds the package once per run and copies it to
// bench/results/dist/ (so that a test run rebuilding dist/ meanwhile cannot pull it from under a
// worker); the children find it through ASYNQ_TS_BENCH_BUILD.
import { spawnSync } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type * as AsynqTs from "../../src/index.js";
import type * as AsynqTsMetrics from "../../src/metrics/index.js";
import type * as AsynqTsOtel from "../../src/otel/index.js";

/** The public API of asynq-ts, as `import "asynq-ts"` gives it. */
export type AsynqTsModule = typeof AsynqTs;

/** The entries of the build besides the main one that the benchmark loads. */
interface Entries {
  metrics: typeof AsynqTsMetrics;
  otel: typeof AsynqTsOtel;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BUILD_ENV = "ASYNQ_TS_BENCH_BUILD";

/**
 * Builds the package (`npm run build`) and copies dist/ to `<resultsDir>/dist`; sets the variable
 * the worker children read. Returns the build's duration in seconds.
 * @throws Error when the build fails (its output is in the message).
 */
export function buildForBench(resultsDir: string): number {
  const started = performance.now();
  const built = spawnSync("npm", ["run", "build"], { cwd: REPO_ROOT, encoding: "utf8" });
  if (built.status !== 0) throw new Error(`npm run build failed:\n${built.stdout}\n${built.stderr}`);
  const copy = resolve(resultsDir, "dist");
  rmSync(copy, { recursive: true, force: true });
  cpSync(resolve(REPO_ROOT, "dist"), copy, { recursive: true });
  process.env[BUILD_ENV] = copy;
  return (performance.now() - started) / 1000;
}

/**
 * Loads the build made by {@link buildForBench} (in this process or its parent).
 * @throws Error when no build was made.
 */
export async function loadAsynqTs(): Promise<AsynqTsModule> {
  return (await import(buildFile("index.mjs"))) as AsynqTsModule;
}

/**
 * Loads another entry of the build made by {@link buildForBench}: `asynq-ts/metrics` or `asynq-ts/otel`.
 * @throws Error when no build was made.
 */
export async function loadAsynqTsEntry<E extends keyof Entries>(entry: E): Promise<Entries[E]> {
  return (await import(buildFile(`${entry}.mjs`))) as Entries[E];
}

function buildFile(name: string): string {
  const dir = process.env[BUILD_ENV];
  if (dir === undefined) throw new Error(`${BUILD_ENV} is not set: run the benchmark through bench/run.ts`);
  return pathToFileURL(resolve(dir, name)).href;
}
