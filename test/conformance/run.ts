// The conformance runner: `npm run test:conformance -- <flavour>|all [vitest args…]` starts the
// flavour's topology (test/support/topologies), runs its test files (files.ts) on it with
// test/conformance/vitest.config.ts, and stops it. Exit code: vitest's (the first failing flavour's).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { FLAVOURS, isFlavour, startFlavour, type Flavour } from "../support/topologies/index.js";
import { FILES } from "./files.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

async function runFlavour(flavour: Flavour, extra: readonly string[]): Promise<number> {
  const started = Date.now();
  console.log(`[conformance] ${flavour}: starting the topology`);
  const topology = await startFlavour(flavour);
  try {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      FLAVOUR: flavour,
      CONFORMANCE_URL: topology.url,
      CONFORMANCE_ADMIN_URL: topology.adminUrl,
    };
    // Test processes trust the TLS flavour's CA, so that a plain rediss:// URL verifies the server.
    if (topology.caFile !== undefined) env.NODE_EXTRA_CA_CERTS = topology.caFile;
    const files = extra.some((a) => !a.startsWith("-")) ? [] : (FILES[flavour] ?? []);
    const args = ["vitest", "run", "--config", "test/conformance/vitest.config.ts", ...files, ...extra];
    const code = await new Promise<number>((resolve) => {
      const child = spawn("npx", args, { cwd: ROOT, env, stdio: "inherit" });
      child.once("exit", (status) => resolve(status ?? 1));
    });
    console.log(
      `[conformance] ${flavour}: exit ${code} after ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    return code;
  } finally {
    await topology.stop();
  }
}

const [which = "", ...extra] = process.argv.slice(2);
const flavours: Flavour[] = which === "all" ? [...FLAVOURS] : isFlavour(which) ? [which] : [];
if (flavours.length === 0) {
  console.error(`usage: npm run test:conformance -- <${FLAVOURS.join("|")}|all> [vitest args or files]`);
  process.exit(2);
}
let failed = 0;
for (const flavour of flavours) {
  const code = await runFlavour(flavour, extra);
  if (code !== 0 && failed === 0) failed = code;
}
process.exit(failed);
