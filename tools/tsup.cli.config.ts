// Build of the `asynq-ts` command line (dist/cli.cjs, the package's bin), run by `npm run build`
// after tools/tsup.config.ts: one CommonJS bundle of src/cli/, with a shebang, no types.
//
// The command line uses the library through its public entries only: its imports of src/index.ts and
// src/doctor/index.ts become `require("./index.cjs")` and `require("./doctor.cjs")` (and of
// src/dashboard/index.ts, `require("./dashboard.cjs")`: tools/tsup.dashboard.config.ts; of
// src/metrics/index.ts, `require("./metrics.cjs")`: tools/tsup.observability.config.ts), the very bundles
// an app loads (one copy of every class, `instanceof` holds). Its own dependencies (commander,
// terminal-kit) stay external (package.json `dependencies`), and since no library entry imports
// src/cli/, `import "asynq-ts"` never loads them. terminal-kit is required only when `dash` runs.
import { defineConfig } from "tsup";
import { layerBuild } from "./tsup-layer.js";

export default defineConfig(
  layerBuild({
    entry: { cli: "src/cli/main.ts" },
    folder: "cli",
    allowed: ["../index.js", "../doctor/index.js", "../dashboard/index.js", "../metrics/index.js"],
    dts: false,
  }),
);
