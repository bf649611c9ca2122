// Build of the published package (`npm run build`, then tools/finish-build.mjs): one CommonJS bundle
// per entry point, made by tsup (esbuild for the code, rollup-plugin-dts for the types), and a one-line
// ES module beside each that re-exports it, so that `import` and `require` get the very same classes
// (no dual-package hazard: `instanceof` holds whichever way a module of the app loaded us).
//
//   dist/index.cjs    dist/index.d.cts    the implementation and its types (for `require`)
//   dist/index.mjs    dist/index.d.mts    `export * from "./index.cjs"` (for `import`)
//   dist/testing.*                        the same for `asynq-ts/testing`
//   dist/doctor.*                         the same for `asynq-ts/doctor`
//   dist/sandbox-runner.cjs               a sandboxed handler's thread (no ES module face)
//   dist/chunk-<hash>.cjs                 code shared by the entries (errors, wire format, scripts, ...)
//   dist/<name>-<hash>.d.cts              types shared by the entries
//   dist/<domain>/*.lua                   the Lua scripts, read at run time
//
// Shared code is split into chunks (`splitting`) rather than copied into each entry: a copy would
// give `asynq-ts/doctor` error classes of its own, and `instanceof ValidationError` would fail on an
// error it throws. The main entry never loads the doctor's code. `treeshake` hands the split output
// to rollup for the CommonJS conversion (without it, tsup's experimental CommonJS splitting rewrites
// every `?.` and `??` into helper calls).
//
// The Lua files are found with `new URL("./<domain>/<name>.lua", import.meta.url)` (src/broker/scripts.ts).
// `shims` turns `import.meta.url` into the file URL of the bundle or chunk that holds it, so from
// dist/ they are read in dist/<domain>/, as from src/broker/scripts.ts they are read in
// src/broker/<domain>/. Entries and chunks are therefore all written at the top of dist/.
import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    testing: "src/testing/index.ts",
    doctor: "src/doctor/index.ts",
    // The thread side of sandboxed handlers (src/sandbox/runner-location.ts starts it by this name).
    // An entry here, not a layer: its errors then come from the chunk the main entry loads, so a
    // handler module that requires asynq-ts gets, in its thread, the very classes the runner uses.
    "sandbox-runner": "src/sandbox/runner.ts",
  },
  outDir: "dist",
  format: ["cjs"],
  platform: "node",
  target: "node20",
  tsconfig: "tsconfig.build.json",
  dts: true,
  shims: true,
  // No keepNames: it wraps every function the code creates in a `__name` call, closures made per
  // task included (about 2% of a worker's CPU at concurrency 1). Error classes name themselves after
  // their constructor (`new.target.name`); the bundler renames a class only when two share a name,
  // and test/package checks that no exported class was renamed.
  keepNames: false,
  removeNodeProtocol: false,
  splitting: true,
  treeshake: true,
  sourcemap: false,
  clean: true,
});
