// Build of the `asynq-ts/dashboard` entry (dist/dashboard.cjs and dist/dashboard.d.cts), run by
// `npm run build` after tools/tsup.config.ts: one CommonJS bundle of src/dashboard/, with its types.
//
// Like the command line (tools/tsup.cli.config.ts), the dashboard uses the library through its public
// entries only: its imports of src/index.ts and src/doctor/index.ts become `require("./index.cjs")` and
// `require("./doctor.cjs")`, the bundles an app loads (one copy of every class: `instanceof` holds on
// the errors the Inspector throws). It is not an entry of tools/tsup.config.ts: splitting would move
// code the dashboard shares with the main entry into new chunks, and the main entry must load none of
// the dashboard's code. Its types are bundled by rollup-plugin-dts with the library's types it names
// inlined; they are structural (DashboardInspector is a Pick of the Inspector's methods), so an
// Inspector from `asynq-ts` fits. Its page's assets (src/dashboard/assets/) are copied to dist/assets/
// by tools/finish-build.mjs.
import { defineConfig } from "tsup";

/** Library modules the dashboard may import, and the bundle that provides each at run time. */
const PUBLIC_ENTRIES: Record<string, string> = {
  "../index.js": "./index.cjs",
  "../doctor/index.js": "./doctor.cjs",
};

export default defineConfig({
  entry: { dashboard: "src/dashboard/index.ts" },
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
  esbuildPlugins: [
    {
      name: "public-entries",
      setup(build) {
        build.onResolve({ filter: /^\.\.\/(index|doctor\/index)\.js$/ }, (args) => {
          const target = PUBLIC_ENTRIES[args.path];
          if (target === undefined || !/[\\/]src[\\/]dashboard$/.test(args.resolveDir)) return undefined;
          return { path: target, external: true };
        });
        // Anything else of the library would be bundled as a second copy: refuse it.
        build.onResolve({ filter: /^\.\.\// }, (args) => {
          if (!/[\\/]src[\\/]dashboard$/.test(args.resolveDir)) return undefined;
          return {
            errors: [
              {
                text: `src/dashboard may import the library only through ../index.js and ../doctor/index.js, not ${args.path}`,
              },
            ],
          };
        });
      },
    },
  ],
});
