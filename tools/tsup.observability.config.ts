// Build of the `asynq-ts/metrics` and `asynq-ts/otel` entries (dist/metrics.cjs, dist/otel.cjs and
// their types), run by `npm run build` after tools/tsup.config.ts: one CommonJS bundle each.
//
// Like the command line and the dashboard (tools/tsup.cli.config.ts, tools/tsup.dashboard.config.ts),
// they use the library through its public entry only: their imports of src/index.ts become
// `require("./index.cjs")`, the bundle an app loads. Their peers (prom-client, @opentelemetry/api,
// optional peer dependencies) stay external, and since no library entry imports src/metrics/ or
// src/otel/, `import "asynq-ts"` loads neither them nor their peers. Their types name the library's
// types structurally (a Pick of the Server's methods), so objects from `asynq-ts` fit.
import { defineConfig } from "tsup";
import { layerBuild } from "./tsup-layer.js";

// One build per entry: built together, their shared types would go to a chunk of their own.
const external = ["prom-client", "@opentelemetry/api"];
export default defineConfig([
  layerBuild({
    entry: { metrics: "src/metrics/index.ts" },
    folder: "metrics",
    allowed: ["../index.js"],
    dts: true,
    external,
  }),
  layerBuild({
    entry: { otel: "src/otel/index.ts" },
    folder: "otel",
    allowed: ["../index.js"],
    dts: true,
    external,
  }),
]);
