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
import { layerBuild } from "./tsup-layer.js";

export default defineConfig(
  layerBuild({
    entry: { dashboard: "src/dashboard/index.ts" },
    folder: "dashboard",
    allowed: ["../index.js", "../doctor/index.js"],
    dts: true,
  }),
);
