// Where the thread side of a sandboxed handler (runner.ts) is, and how a thread starts it. In the
// package, the build (tools/tsup.config.ts) writes it to dist/sandbox-runner.cjs, beside the bundle or
// chunk that holds this code (`import.meta.url` is that file's URL there: tsup's `shims`). In the
// repository (vitest, tsx), this file is src/sandbox/runner-location.ts: the runner is bundled once
// per process from runner.ts with esbuild (a build dependency), and each thread evaluates that code.
// (Loading runner.ts through tsx in each thread works too, but costs every new thread ~1 s; Node 20
// does not apply `--import` module hooks in worker threads, so tsx would have to be its CJS hook.)
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** What a thread runs: the runner's file, or (from the sources) the runner's bundled code. */
export interface RunnerLocation {
  /** Worker's first argument: a file URL, or code when `eval` is true. */
  readonly main: URL | string;
  readonly eval: boolean;
}

let located: RunnerLocation | undefined;

/** Finds the runner (once). */
export function runnerLocation(): RunnerLocation {
  return (located ??= locate());
}

/** The part of esbuild's API used here. */
interface Esbuild {
  buildSync(options: Record<string, unknown>): { outputFiles: Array<{ text: string }> };
}

function locate(): RunnerLocation {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return { main: new URL("./sandbox-runner.cjs", here), eval: false };
  const esbuild = createRequire(here)("esbuild") as Esbuild;
  const built = esbuild.buildSync({
    entryPoints: [fileURLToPath(new URL("./runner.ts", here))],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    write: false,
    logLevel: "silent",
  });
  return { main: built.outputFiles[0]!.text, eval: true };
}
