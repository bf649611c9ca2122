// Second step of `npm run build`, after tsup (tools/tsup.config.ts) has written dist/<entry>.cjs and
// dist/<entry>.d.cts: copies the Lua scripts to dist/scripts/, where the bundles read them, and writes
// the ES module face of each entry point, a re-export of its CommonJS bundle (one copy of every class
// whichever way the package is loaded).
import { cpSync, readdirSync, writeFileSync } from "node:fs";

cpSync("src/broker/scripts", "dist/scripts", { recursive: true });

for (const file of readdirSync("dist")) {
  if (!file.endsWith(".cjs")) continue;
  const name = file.slice(0, -".cjs".length);
  const reexport = `export * from "./${name}.cjs";\n`;
  writeFileSync(`dist/${name}.mjs`, reexport);
  writeFileSync(`dist/${name}.d.mts`, reexport);
}
