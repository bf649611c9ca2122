// Build of the `asynq-ts/metrics` and `asynq-ts/otel` entries (dist/metrics.cjs, dist/otel.cjs and
// their types), run by `npm run build` after tools/tsup.config.ts: one CommonJS bundle each.
//
// Like the command line and the dashboard (tools/tsup.cli.config.ts, tools/tsup.dashboard.config.ts),
// they use the library through its public entry only: their imports of src/index.ts become
// `require("./index.cjs")`, the bundle an app loads. Their peers (prom-client, @opentelemetry/api,
// optional peer dependencies) stay external, and since no library entry imports src/metrics/ or
// src/otel/, `import "asynq-ts"` loads neither them nor their peers. Their types name the library's
// types structurally (a Pick of the Server's methods), so objects from `asynq-ts` fit.
import { defineConfig, type Options } from "tsup";

// One build per entry: built together, their shared types would go to a chunk of their own.
const build = (entry: Record<string, string>): Options => ({
  entry,
  outDir: "dist",
  format: ["cjs"],
  platform: "node",
  target: "node20",
  tsconfig: "tsconfig.build.json",
  dts: true,
  shims: true,
  keepNames: false,
  removeNodeProtocol: false,
  splitting: false,
  sourcemap: false,
  clean: false,
  external: ["prom-client", "@opentelemetry/api"],
  esbuildPlugins: [
    {
      name: "public-entries",
      setup(build) {
        build.onResolve({ filter: /^\.\.\/index\.js$/ }, (args) => {
          if (!/[\\/]src[\\/](metrics|otel)$/.test(args.resolveDir)) return undefined;
          return { path: "./index.cjs", external: true };
        });
        // Anything else of the library would be bundled as a second copy: refuse it.
        build.onResolve({ filter: /^\.\.\// }, (args) => {
          if (!/[\\/]src[\\/](metrics|otel)$/.test(args.resolveDir)) return undefined;
          return {
            errors: [
              {
                text: `src/metrics and src/otel may import the library only through ../index.js, not ${args.path}`,
              },
            ],
          };
        });
      },
    },
  ],
});

export default defineConfig([
  build({ metrics: "src/metrics/index.ts" }),
  build({ otel: "src/otel/index.ts" }),
]);
