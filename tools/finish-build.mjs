// Last step of `npm run build`, after tsup (tools/tsup*.config.ts) has written dist/<entry>.cjs and
// dist/<entry>.d.cts: copies the Lua scripts of src/broker/<domain>/ to dist/<domain>/, where the
// bundles read them (the same paths relative to the bundle as to src/broker/scripts.ts), copies the
// dashboard's page assets of src/dashboard/assets/ and Chart.js's standalone build to dist/assets/ (read
// by dist/dashboard.cjs as src/dashboard/static.ts reads them beside itself), and writes
// the ES module face of each entry point (not of the shared chunks), a re-export of its CommonJS
// bundle (one copy of every class whichever way the package is loaded).
import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";

for (const entry of readdirSync("src/broker", { withFileTypes: true, recursive: true })) {
  if (!entry.isFile() || !entry.name.endsWith(".lua")) continue;
  const from = `${entry.parentPath ?? entry.path}/${entry.name}`;
  cpSync(from, `dist/${from.slice("src/broker/".length)}`);
}

cpSync("src/dashboard/assets", "dist/assets", { recursive: true });
// Chart.js 4 (MIT, its licence header kept), the dashboard's charts: its standalone build, without the
// pointer to its source map (not shipped).
const chart = readFileSync("node_modules/chart.js/dist/chart.umd.min.js", "utf8");
writeFileSync("dist/assets/chart.umd.min.js", chart.replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, "\n"));

for (const file of readdirSync("dist")) {
  // Shared chunks (chunk-<hash>.cjs) are required by the entries, never imported by an app; nor is
  // the command line (cli.cjs, the bin: tools/tsup.cli.config.ts), nor sandbox-runner.cjs,
  // a worker thread's main module (src/sandbox/runner-location.ts).
  const internal = file.startsWith("chunk-") || file === "cli.cjs" || file === "sandbox-runner.cjs";
  if (!file.endsWith(".cjs") || internal) continue;
  const name = file.slice(0, -".cjs".length);
  const reexport = `export * from "./${name}.cjs";\n`;
  writeFileSync(`dist/${name}.mjs`, reexport);
  writeFileSync(`dist/${name}.d.mts`, reexport);
}
