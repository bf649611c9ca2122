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

/** Library modules the CLI may import, and the bundle that provides each at run time. */
const PUBLIC_ENTRIES: Record<string, string> = {
  "../index.js": "./index.cjs",
  "../doctor/index.js": "./doctor.cjs",
  "../dashboard/index.js": "./dashboard.cjs",
  "../metrics/index.js": "./metrics.cjs",
};

export default defineConfig({
  entry: { cli: "src/cli/main.ts" },
  outDir: "dist",
  format: ["cjs"],
  platform: "node",
  target: "node20",
  tsconfig: "tsconfig.build.json",
  dts: false,
  shims: true,
  keepNames: false,
  removeNodeProtocol: false,
  splitting: false,
  sourcemap: false,
  clean: false,
  esbuildPlugins: [
    {
      name: "public-entries",
      setup(build) {
        build.onResolve(
          { filter: /^\.\.\/(index|doctor\/index|dashboard\/index|metrics\/index)\.js$/ },
          (args) => {
            const target = PUBLIC_ENTRIES[args.path];
            if (target === undefined || !/[\\/]src[\\/]cli$/.test(args.resolveDir)) return undefined;
            return { path: target, external: true };
          },
        );
        // Anything else of the library would be bundled as a second copy: refuse it.
        build.onResolve({ filter: /^\.\.\// }, (args) => {
          if (!/[\\/]src[\\/]cli$/.test(args.resolveDir)) return undefined;
          return {
            errors: [
              {
                text: `src/cli may import the library only through ../index.js, ../doctor/index.js, ../dashboard/index.js and ../metrics/index.js, not ${args.path}`,
              },
            ],
          };
        });
      },
    },
  ],
});
