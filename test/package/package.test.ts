// The published package, as an app gets it: builds the package (`npm run build`), packs it with
// `npm pack` into a temporary folder, installs the tarball into a scratch ES module app and a scratch
// CommonJS app (both outside the repository), and in each one enqueues a task with Client and processes
// it with Server + ServeMux on this worker's Redis DB, and type-checks a TypeScript file against the
// installed types with the repository's own TypeScript (ESM NodeNext; CommonJS node16 and commonjs).
// Also checks what the tarball holds, that `asynq-ts/doctor` works from both formats while the main
// entry never loads the doctor's code, that `asynq-ts/dashboard` serves its API and page assets from both
// formats while the main entry never loads it, and that the `asynq-ts` bin runs from the installed
// package while the main entry never loads the command line or its dependencies (commander, terminal-kit),
// and that `asynq-ts/metrics` and `asynq-ts/otel` work once their optional peers are installed (the ES
// module app gets prom-client and @opentelemetry/api) while the main entry loads without them (the CommonJS
// app has neither).
//
// Rewrites dist/ (gitignored) in the working tree. Installing needs ioredis in the npm cache (true after
// `npm ci`); `--prefer-offline` reaches the registry only when it is not.
import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, type ExpectStatic } from "vitest";
import { testRedisUrl } from "../support/redis.js";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TSC = join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
/** Where the apps find @types/node without installing it: the repository's own copy. */
const TYPE_ROOTS = join(REPO_ROOT, "node_modules", "@types");

/** The result of a finished command. */
interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment for child npm and node processes: this one, less the variables an `npm test` parent
 * sets for its own package (they would point a child npm at the repository instead of the app).
 */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep = new Set(["npm_config_cache", "npm_config_userconfig", "npm_config_registry"]);
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const lower = key.toLowerCase();
    if ((lower.startsWith("npm_") && !keep.has(lower)) || key === "INIT_CWD") continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** Runs a command to its end; never rejects (the caller looks at `code`). */
function run(
  command: string,
  args: string[],
  cwd: string,
  { env = childEnv(), timeoutMs = 60_000 }: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({ code, stdout, stderr: error !== null && stderr === "" ? error.message : stderr });
      },
    );
  });
}

/** Runs a command and throws with its output when it fails. */
async function mustRun(command: string, args: string[], cwd: string): Promise<Run> {
  const result = await run(command, args, cwd, { timeoutMs: 150_000 });
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} (in ${cwd}) exited ${result.code}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

/** Writes files (paths relative to `dir`, parents created). */
function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

/** Every file under `dir`, as `/`-separated paths relative to it. */
function listFiles(dir: string, prefix = ""): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? listFiles(join(dir, entry.name), `${prefix}${entry.name}/`)
      : [`${prefix}${entry.name}`],
  );
}

// --- The scratch apps -------------------------------------------------------------------------------

/**
 * The body both apps run (as an async function body): enqueue one task on their own queue, process
 * it, check what the handler saw; exit 0 only when the handler ran. `api` is the package as loaded.
 */
const ROUND_TRIP = `
  const url = process.env.ASYNQ_PACKAGE_TEST_REDIS_URL;
  if (!url) throw new Error("ASYNQ_PACKAGE_TEST_REDIS_URL is not set");
  const { Client, ServeMux, Server } = api;
  let ran;
  const handled = new Promise((resolve) => (ran = resolve));
  const mux = new ServeMux().handle("package:check", async (task) => {
    ran(Buffer.from(task.payload).toString("utf8"));
  });
  const server = new Server(url, { concurrency: 1, queues: { [QUEUE]: 1 }, logLevel: "error" });
  const client = new Client(url);
  await server.start(mux);
  const info = await client.enqueue({ type: "package:check", payload: "hello from " + QUEUE }, { queue: QUEUE });
  const timer = setTimeout(() => {
    console.error("the handler did not run within 30 s");
    process.exit(2);
  }, 30_000);
  const payload = await handled;
  clearTimeout(timer);
  await client.close();
  await server.shutdown();
  if (payload !== "hello from " + QUEUE) throw new Error("the handler saw " + JSON.stringify(payload));
  console.log("handled " + info.id);
`;

/** Checks that `import` and `require` give one copy of the package (no dual-package hazard). */
const SAME_MODULE = `
  const names = (m) => JSON.stringify(Object.keys(m).sort());
  if (names(esm) !== names(cjs)) throw new Error("import and require export different names: " + names(esm) + " / " + names(cjs));
  for (const name of Object.keys(cjs)) {
    if (esm[name] !== cjs[name]) throw new Error(name + " differs between import and require");
  }
  if (esmTesting.ManualClock !== cjsTesting.ManualClock) throw new Error("ManualClock differs");
  // The build does not keep names (keepNames: false, no __name call per closure): no exported
  // class may have been renamed by the bundler (an error names itself after its class).
  for (const m of [cjs, cjsTesting]) {
    for (const [name, value] of Object.entries(m)) {
      if (typeof value === "function" && /^[A-Z]/.test(name) && value.name !== name) {
        throw new Error("the build renamed " + name + " to " + value.name);
      }
    }
  }
  const error = new cjs.DuplicateTaskError("q", "k");
  if (!(error instanceof esm.AsynqError) || error.name !== "DuplicateTaskError" || error.code !== "ERR_DUPLICATE_TASK") {
    throw new Error("DuplicateTaskError is not what it should be: " + error.name);
  }
  if (new cjsTesting.ManualClock(5).now() !== 5) throw new Error("ManualClock does not work");
`;

/**
 * The body both apps run for the doctor entry (as an async function body): loading the main entry
 * loads none of the doctor's code; the doctor's errors are the main entry's classes; an audit of the
 * app's own queue (one pending task) is clean. The app defines `api` (the main entry), `QUEUE`,
 * `DOCTOR_MARK`, `loadDoctor` (loads the doctor entry the app's way: import or require) and
 * `loadOtherDoctor` (the other way).
 */
const DOCTOR_RUN = `
  const url = process.env.ASYNQ_PACKAGE_TEST_REDIS_URL;
  if (!url) throw new Error("ASYNQ_PACKAGE_TEST_REDIS_URL is not set");
  const { createRequire } = await import("node:module");
  const { readFileSync } = await import("node:fs");
  const { basename, sep } = await import("node:path");
  const require = createRequire(import.meta.url ?? __filename);
  const loaded = () =>
    Object.keys(require.cache).filter((f) => f.split(sep).join("/").includes("/node_modules/asynq-ts/"));
  if (!loaded().some((f) => basename(f) === "index.cjs")) throw new Error("the main entry was not loaded");
  const cliCode = Object.keys(require.cache)
    .map((f) => f.split(sep).join("/"))
    .filter((f) => ["/node_modules/commander/", "/node_modules/terminal-kit/", "/asynq-ts/dist/cli.cjs"].some((p) => f.includes(p)));
  if (cliCode.length > 0) throw new Error("the main entry loaded the command line: " + cliCode.join(", "));
  for (const file of loaded()) {
    if (basename(file) === "doctor.cjs" || readFileSync(file, "utf8").includes(DOCTOR_MARK)) {
      throw new Error("the main entry loaded the doctor's code: " + file);
    }
  }
  const doctorApi = await loadDoctor();
  if (!loaded().some((f) => basename(f) === "doctor.cjs")) throw new Error("the doctor entry was not loaded");
  const other = await loadOtherDoctor();
  if (other.doctor !== doctorApi.doctor || other.formatReport !== doctorApi.formatReport) {
    throw new Error("import and require give different doctors");
  }
  const refused = await doctorApi.doctor(url, { batch: 1 }).then(() => undefined, (error) => error);
  if (!(refused instanceof api.ValidationError) || !(refused instanceof api.AsynqError)) {
    throw new Error("the doctor's ValidationError is not the main entry's: " + String(refused));
  }
  const client = new api.Client(url);
  await client.enqueue({ type: "package:doctor" }, { queue: QUEUE });
  await client.close();
  const report = await doctorApi.doctor(url, { queues: [QUEUE] });
  const text = doctorApi.formatReport(report);
  if (!report.clean || report.queues.length !== 1 || report.queues[0].tasks.pending !== 1) {
    throw new Error("unexpected doctor report: " + text);
  }
  if (!text.includes(DOCTOR_MARK)) throw new Error("formatReport lacks " + JSON.stringify(DOCTOR_MARK));
  console.log("doctor clean");
`;

/**
 * The body both apps run for the dashboard entry (as an async function body): the main entry loaded
 * none of it; both formats give the same createDashboard; served by node:http, it answers its API
 * (the app's queue listed) and its page's assets (read from the installed package). The app defines
 * `api`, `QUEUE`, `loadDashboard` and `loadOtherDashboard`.
 */
const DASHBOARD_RUN = `
  const url = process.env.ASYNQ_PACKAGE_TEST_REDIS_URL;
  if (!url) throw new Error("ASYNQ_PACKAGE_TEST_REDIS_URL is not set");
  const { createRequire } = await import("node:module");
  const { basename, sep } = await import("node:path");
  const http = await import("node:http");
  const require = createRequire(import.meta.url ?? __filename);
  const loaded = () =>
    Object.keys(require.cache).filter((f) => f.split(sep).join("/").includes("/node_modules/asynq-ts/"));
  if (loaded().some((f) => basename(f) === "dashboard.cjs")) throw new Error("the main entry loaded the dashboard");
  const dash = await loadDashboard();
  const other = await loadOtherDashboard();
  if (dash.createDashboard !== other.createDashboard) throw new Error("import and require give different dashboards");
  const client = new api.Client(url);
  await client.enqueue({ type: "package:dashboard" }, { queue: QUEUE });
  await client.close();
  const inspector = new api.Inspector(url);
  const handler = dash.createDashboard({ inspector, basePath: "/ops" });
  const server = http.createServer((req, res) => void handler(req, res));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = "http://127.0.0.1:" + server.address().port + "/ops";
  try {
    const queues = await (await fetch(base + "/api/queues")).json();
    if (!queues.queues.some((q) => q.queue === QUEUE && q.pending === 1)) throw new Error("unexpected queues: " + JSON.stringify(queues));
    const missing = await fetch(base + "/api/queues/no-such-queue");
    if (missing.status !== 404) throw new Error("an unknown queue answered " + missing.status);
    for (const asset of ["app.js", "app.css", "chart.umd.min.js"]) {
      const res = await fetch(base + "/assets/" + asset);
      if (res.status !== 200 || (await res.text()).length < 100) throw new Error(asset + " answered " + res.status);
    }
  } finally {
    server.close();
    await handler.close();
    await inspector.close();
  }
  console.log("dashboard ok");
`;

/**
 * The body both apps run for sandboxed handlers (as an async function body): a Server runs a handler
 * module in a worker thread started from the installed dist/sandbox-runner.cjs; its result write and
 * its SkipRetry (the installed package's class, from the thread) reach Redis. The app defines `api`,
 * `QUEUE` and `HANDLER` (the module's file URL).
 */
const SANDBOX_RUN = `
  const url = process.env.ASYNQ_PACKAGE_TEST_REDIS_URL;
  if (!url) throw new Error("ASYNQ_PACKAGE_TEST_REDIS_URL is not set");
  const handler = api.sandboxed(HANDLER);
  await handler.ready();
  const server = new api.Server(url, { concurrency: 1, queues: { [QUEUE]: 1 }, logLevel: "error" });
  const client = new api.Client(url);
  const inspector = new api.Inspector(url);
  await server.start(handler);
  const ok = await client.enqueue({ type: "sandbox:ok", payload: "ping" }, { queue: QUEUE, retention: 60000 });
  const skip = await client.enqueue({ type: "sandbox:skip" }, { queue: QUEUE, maxRetry: 5 });
  let done;
  for (const until = Date.now() + 30000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
    done = [await inspector.getTaskInfo(QUEUE, ok.id), await inspector.getTaskInfo(QUEUE, skip.id)];
    if (done[0].state === "completed" && done[1].state === "archived") break;
  }
  await server.shutdown();
  await Promise.all([handler.close(), client.close(), inspector.close()]);
  const result = Buffer.from(done[0].result ?? []).toString("utf8");
  if (result !== "pong ping") throw new Error("unexpected result: " + JSON.stringify(done[0]));
  if (done[1].state !== "archived" || done[1].lastError !== "skipped in a thread") {
    throw new Error("unexpected skipped task: " + JSON.stringify(done[1]));
  }
  console.log("sandbox ok");
`;

/** The handler module the sandbox apps run (an ES module that loads the installed package). */
const SANDBOX_HANDLER = `import { SkipRetry } from "asynq-ts";
export default async function (task, ctx) {
  if (task.type === "sandbox:skip") throw new SkipRetry("skipped in a thread");
  await ctx.result.write("pong " + new TextDecoder().decode(task.payload));
}
`;

/** The optional peer dependencies, at the versions the repository tests with. */
const OPTIONAL_PEERS = ["prom-client", "@opentelemetry/api"].map((name) => {
  const { version } = JSON.parse(
    readFileSync(join(REPO_ROOT, "node_modules", name, "package.json"), "utf8"),
  ) as { version: string };
  return `${name}@${version}`;
});

/** The ES module app's use of the observability entries: queue gauges of a queue, and a traced enqueue. */
const OBSERVABILITY_APP = `import * as api from "asynq-ts";
import { registerQueueMetrics, QUEUE_METRICS } from "asynq-ts/metrics";
import { otelTracer, otelMiddleware } from "asynq-ts/otel";
import { Registry } from "prom-client";
const url = process.env.ASYNQ_PACKAGE_TEST_REDIS_URL;
const QUEUE = "observed";
const client = new api.Client(url, { tracer: otelTracer() });
await client.enqueue({ type: "package:metrics" }, { queue: QUEUE });
await client.close();
if (typeof otelMiddleware() !== "function") throw new Error("otelMiddleware is not a middleware");
const inspector = new api.Inspector(url);
try {
  const registry = new Registry();
  registerQueueMetrics(inspector, { registry, queues: [QUEUE] });
  const text = await registry.metrics();
  const line = QUEUE_METRICS.tasksEnqueued + '{queue="observed",state="pending"} 1';
  if (!text.includes(line)) throw new Error("no " + line + " in:\\n" + text);
} finally {
  await inspector.close();
}
console.log("observability ok");
`;

/** The CommonJS app has no optional peer: the main entry loads, the metrics entry names what it lacks. */
const WITHOUT_PEERS_APP = `const api = require("asynq-ts");
if (typeof api.Client !== "function") throw new Error("no Client");
for (const [entry, peer] of [["asynq-ts/metrics", "prom-client"], ["asynq-ts/otel", "@opentelemetry/api"]]) {
  try {
    require(entry);
    throw new Error(entry + " loaded without " + peer);
  } catch (error) {
    if (!String(error.message).includes(peer)) throw error;
  }
}
console.log("main entry ok without peers");
`;

/** Text found only in the doctor's code (formatReport's first line): the main bundle must not hold it. */
const DOCTOR_MARK = "asynq doctor at";

/** A TypeScript file using the public types; `@ts-expect-error` fails if the types resolve to `any`. */
const TYPED_USE = `import { Client, DuplicateTaskError, ServeMux, Server, type TaskInfo } from "asynq-ts";
import { ManualClock } from "asynq-ts/testing";
import { doctor, formatReport, type DoctorReport } from "asynq-ts/doctor";
import { createDashboard, type DashboardHandler } from "asynq-ts/dashboard";
import { Inspector } from "asynq-ts";

// An Inspector of the main entry fits the dashboard's options (its types are structural).
export const dashboard: DashboardHandler = createDashboard({ inspector: new Inspector("redis://x"), readOnly: true });
// @ts-expect-error: readOnly is a boolean
export const badDashboard = createDashboard({ redis: "redis://x", readOnly: "yes" });

export async function audit(url: string): Promise<string> {
  const report: DoctorReport = await doctor(url, { queues: ["low"], batch: 500 });
  return formatReport(report);
}

export async function enqueueOne(client: Client): Promise<TaskInfo | undefined> {
  try {
    return await client.enqueue({ type: "email:welcome", payload: { userId: 42 } }, { queue: "low", maxRetry: 3 });
  } catch (error) {
    if (error instanceof DuplicateTaskError) return undefined;
    throw error;
  }
}

export async function serve(url: string): Promise<Server> {
  const mux = new ServeMux().handle("email:welcome", async (task, ctx) => {
    await ctx.result.write({ type: task.type, bytes: task.payload.length });
  });
  const server = new Server(url, { concurrency: 2, clock: new ManualClock() });
  await server.start(mux);
  return server;
}

// Were the types not found (\`any\`), these would be no errors, and tsc would fail on the comments.
// @ts-expect-error: maxRetry is a number
export const wrong = (client: Client) => client.enqueue({ type: "t" }, { maxRetry: "3" });
// @ts-expect-error: advance takes milliseconds
new ManualClock().advance("1s");
// @ts-expect-error: fix is a boolean
export const badAudit = (url: string) => doctor(url, { fix: "yes" });
`;

function tsconfig(compilerOptions: Record<string, unknown>): string {
  const base = { strict: true, noEmit: true, target: "ES2022", typeRoots: [TYPE_ROOTS], types: ["node"] };
  return JSON.stringify({ compilerOptions: { ...base, ...compilerOptions }, files: ["check.ts"] }, null, 2);
}

const ESM_APP: Record<string, string> = {
  "package.json": JSON.stringify({ name: "esm-app", private: true, type: "module" }),
  "app.js": `import { createRequire } from "node:module";
import * as esm from "asynq-ts";
import * as esmTesting from "asynq-ts/testing";
const require = createRequire(import.meta.url);
const cjs = require("asynq-ts");
const cjsTesting = require("asynq-ts/testing");
${SAME_MODULE}
const api = esm;
const QUEUE = "esm";
${ROUND_TRIP}
`,
  "observability.js": OBSERVABILITY_APP,
  "doctor.js": `import * as api from "asynq-ts";
const DOCTOR_MARK = ${JSON.stringify(DOCTOR_MARK)};
const QUEUE = "esm-doctor";
const loadDoctor = () => import("asynq-ts/doctor");
const loadOtherDoctor = async () => (await import("node:module")).createRequire(import.meta.url)("asynq-ts/doctor");
${DOCTOR_RUN}
`,
  "dashboard.js": `import * as api from "asynq-ts";
const QUEUE = "esm-dashboard";
const loadDashboard = () => import("asynq-ts/dashboard");
const loadOtherDashboard = async () => (await import("node:module")).createRequire(import.meta.url)("asynq-ts/dashboard");
${DASHBOARD_RUN}
`,
  "sandbox.js": `import * as api from "asynq-ts";
const QUEUE = "esm-sandbox";
const HANDLER = new URL("./handler.mjs", import.meta.url);
${SANDBOX_RUN}
`,
  "handler.mjs": SANDBOX_HANDLER,
  "check.ts": TYPED_USE,
  "tsconfig.json": tsconfig({ module: "NodeNext", moduleResolution: "NodeNext" }),
};

const CJS_APP: Record<string, string> = {
  "package.json": JSON.stringify({ name: "cjs-app", private: true, type: "commonjs" }),
  "app.js": `const cjs = require("asynq-ts");
const cjsTesting = require("asynq-ts/testing");
async function main() {
  const esm = await import("asynq-ts");
  const esmTesting = await import("asynq-ts/testing");
  ${SAME_MODULE}
  const api = cjs;
  const QUEUE = "cjs";
  ${ROUND_TRIP}
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
`,
  "without-peers.js": WITHOUT_PEERS_APP,
  "doctor.js": `const api = require("asynq-ts");
const DOCTOR_MARK = ${JSON.stringify(DOCTOR_MARK)};
const QUEUE = "cjs-doctor";
const loadDoctor = async () => require("asynq-ts/doctor");
const loadOtherDoctor = () => import("asynq-ts/doctor");
async function main() {
  ${DOCTOR_RUN.replace("import.meta.url ?? __filename", "__filename")}
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
`,
  "dashboard.js": `const api = require("asynq-ts");
const QUEUE = "cjs-dashboard";
const loadDashboard = async () => require("asynq-ts/dashboard");
const loadOtherDashboard = () => import("asynq-ts/dashboard");
async function main() {
  ${DASHBOARD_RUN.replace("import.meta.url ?? __filename", "__filename")}
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
`,
  "sandbox.js": `const api = require("asynq-ts");
const QUEUE = "cjs-sandbox";
const HANDLER = require("node:path").join(__dirname, "handler.mjs");
async function main() {
  ${SANDBOX_RUN}
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
`,
  "handler.mjs": SANDBOX_HANDLER,
  "check.ts": TYPED_USE,
  // A CommonJS file under node16 resolution: an ESM-only package would fail here with TS1479. The
  // declaration files themselves are checked in the ESM app; here what matters is how check.ts resolves.
  "tsconfig.json": tsconfig({ module: "Node16", moduleResolution: "Node16", skipLibCheck: true }),
  // The classic CommonJS setting (node10 resolution: `types` and `typesVersions`, not `exports`).
  "tsconfig.commonjs.json": tsconfig({ module: "CommonJS", moduleResolution: "Node10", skipLibCheck: true }),
};

// --- The tests --------------------------------------------------------------------------------------

/** One file of `npm pack --json`. */
interface PackedFile {
  path: string;
  size: number;
}

let work = "";
let tarball = "";
let packed: PackedFile[] = [];
let esmApp = "";
let cjsApp = "";
let redis: Redis | undefined;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "asynq-ts-package-"));
  redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  await redis.flushdb();

  await mustRun("npm", ["run", "build"], REPO_ROOT);
  const pack = await mustRun(
    "npm",
    ["pack", "--ignore-scripts", "--json", "--pack-destination", work],
    REPO_ROOT,
  );
  const [info] = JSON.parse(pack.stdout) as [{ filename: string; files: PackedFile[] }];
  tarball = join(work, info.filename);
  packed = info.files;

  esmApp = join(work, "esm-app");
  cjsApp = join(work, "cjs-app");
  writeFiles(esmApp, ESM_APP);
  writeFiles(cjsApp, CJS_APP);
  const install = ["install", tarball, "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"];
  await Promise.all([mustRun("npm", install, esmApp), mustRun("npm", install, cjsApp)]);
  // The optional peers of asynq-ts/metrics and asynq-ts/otel, in the ES module app only.
  await mustRun("npm", [...install.filter((a) => a !== tarball), ...OPTIONAL_PEERS], esmApp);
}, 180_000);

/** Both apps, for the tests that run in each. */
const BOTH_APPS = [
  { kind: "ES module", app: () => esmApp },
  { kind: "CommonJS", app: () => cjsApp },
];

/** Runs a script of an app on this worker's Redis DB; resolves with its stdout once it exited with 0. */
async function runAppScript(app: string, script: string, expect: ExpectStatic): Promise<string> {
  const result = await run(process.execPath, [script], app, {
    env: childEnv({ ASYNQ_PACKAGE_TEST_REDIS_URL: testRedisUrl() }),
    timeoutMs: 50_000,
  });
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

/** A file of the installed package's dist/ (both apps install the same tarball). */
function readDist(file: string): string {
  return readFileSync(join(esmApp, "node_modules", "asynq-ts", "dist", file), "utf8");
}

/** The files that loading these bundles loads: themselves and, transitively, the package files they require. */
function loadedFiles(...entries: string[]): string[] {
  const seen: string[] = [];
  const visit = (file: string): void => {
    if (seen.includes(file)) return;
    seen.push(file);
    for (const [, next] of readDist(file).matchAll(/require\(["']\.\/([\w.-]+\.cjs)["']\)/g)) visit(next!);
  };
  for (const entry of entries) visit(entry);
  return seen;
}

afterAll(async () => {
  if (redis !== undefined) {
    await redis.flushdb().catch(() => {});
    redis.disconnect();
  }
  if (work !== "") rmSync(work, { recursive: true, force: true });
});

describe("the packed tarball", () => {
  it("holds both formats with their types, the Lua scripts, LICENSE and README, and nothing else", () => {
    const paths = packed.map((f) => f.path).sort();
    for (const required of ["LICENSE", "README.md", "package.json"]) expect(paths).toContain(required);
    for (const entry of ["index", "testing", "doctor", "dashboard"]) {
      for (const ext of [".cjs", ".d.cts", ".mjs", ".d.mts"]) expect(paths).toContain(`dist/${entry}${ext}`);
    }
    // The command line: the bin, with no ES module face and no types (it is not imported).
    expect(paths).toContain("dist/cli.cjs");
    expect(paths.filter((p) => p.startsWith("dist/cli.") && p !== "dist/cli.cjs")).toEqual([]);

    // Every Lua file of the broker's domain folders, at the same path relative to dist/.
    const brokerDir = join(REPO_ROOT, "src", "broker");
    const lua = listFiles(brokerDir)
      .filter((p) => p.endsWith(".lua"))
      .map((p) => `dist/${p}`);
    expect(lua.length).toBeGreaterThan(40);
    expect(paths.filter((p) => p.endsWith(".lua"))).toEqual(lua.sort());

    const unexpected = paths.filter(
      (p) =>
        !["LICENSE", "README.md", "package.json"].includes(p) &&
        !/^dist\/[\w-]+\.(cjs|mjs|d\.cts|d\.mts)$/.test(p) &&
        !/^dist\/[a-z]+\/[a-z_]+\.lua$/.test(p) &&
        !/^dist\/assets\/[a-z.-]+\.(js|css)$/.test(p),
    );
    // The dashboard's page: every asset of src/dashboard/assets/ and Chart.js, in dist/assets/.
    const assets = [...readdirSync(join(REPO_ROOT, "src", "dashboard", "assets")), "chart.umd.min.js"].map(
      (f) => `dist/assets/${f}`,
    );
    expect(assets).toContain("dist/assets/app.js");
    expect(paths.filter((p) => p.startsWith("dist/assets/"))).toEqual(assets.sort());
    expect(unexpected).toEqual([]);
    expect(paths.filter((p) => /(\.test\.|(^|\/)test\/|\.tsbuildinfo$)/.test(p))).toEqual([]);
  });

  it("has every file package.json points at, and no source map pointing at a missing file", () => {
    const installed = join(esmApp, "node_modules", "asynq-ts");
    const pkg = JSON.parse(readFileSync(join(installed, "package.json"), "utf8")) as Record<string, unknown>;
    const targets: string[] = [];
    const collect = (value: unknown): void => {
      if (typeof value === "string") targets.push(value);
      else if (value !== null && typeof value === "object") Object.values(value).forEach(collect);
    };
    collect([pkg.main, pkg.types, pkg.exports, pkg.bin]);
    for (const target of targets) expect(existsSync(join(installed, target)), target).toBe(true);

    const files = listFiles(installed);
    for (const file of files.filter((f) => /\.(c|m)?js$|\.d\.(c|m)?ts$/.test(f))) {
      const text = readFileSync(join(installed, file), "utf8");
      for (const [, map] of text.matchAll(/[#@] sourceMappingURL=(\S+)/g)) {
        expect(files, `${file} points at ${map}`).toContain(posix.join(posix.dirname(file), map!));
      }
    }
    for (const file of files.filter((f) => f.endsWith(".map"))) {
      const map = JSON.parse(readFileSync(join(installed, file), "utf8")) as { sources: string[] };
      for (const source of map.sources) {
        expect(files, `${file} points at ${source}`).toContain(
          posix.normalize(posix.join(posix.dirname(file), source)),
        );
      }
    }
  });
});

describe("the doctor entry", () => {
  it("is a bundle of its own: the main entry loads none of its code, and it shares the main entry's", () => {
    const main = loadedFiles("index.cjs");
    expect(main).not.toContain("doctor.cjs");
    for (const file of main) expect(readDist(file), file).not.toContain(DOCTOR_MARK);
    expect(readDist("doctor.cjs")).toContain(DOCTOR_MARK);
    // The error classes live once, in code both entries load (no copy in the doctor's bundle).
    const shared = loadedFiles("doctor.cjs").filter((f) => main.includes(f));
    const definesValidationError = /\bclass ValidationError\b|\bValidationError = class\b/;
    expect(shared.some((f) => definesValidationError.test(readDist(f)))).toBe(true);
    expect(readDist("doctor.cjs")).not.toMatch(definesValidationError);
  });

  it.concurrent.for(BOTH_APPS)(
    "$kind: loads apart from the main entry, shares its classes, audits a queue",
    { timeout: 60_000 },
    async ({ app }, { expect }) => {
      expect(await runAppScript(app(), "doctor.js", expect)).toBe("doctor clean\n");
    },
  );
});

describe("the dashboard entry", () => {
  it("is a bundle of its own: the main entry never requires it, and it uses the main entry's classes", () => {
    const seen = loadedFiles("index.cjs", "doctor.cjs", "testing.cjs");
    expect(seen).not.toContain("dashboard.cjs");
    for (const file of seen) expect(readDist(file), file).not.toContain("asynq-ts dashboard");
    const dashboard = readDist("dashboard.cjs");
    expect(dashboard).toContain("asynq-ts dashboard");
    expect(dashboard).toMatch(/require\("\.\/index\.cjs"\)/);
    expect(dashboard).not.toMatch(/class (Inspector|ValidationError)\b/);
  });

  it.concurrent.for(BOTH_APPS)(
    "$kind: loads apart from the main entry and serves its API and assets",
    { timeout: 60_000 },
    async ({ app }, { expect }) => {
      expect(await runAppScript(app(), "dashboard.js", expect)).toBe("dashboard ok\n");
    },
  );
});

describe("sandboxed handlers", () => {
  it("ship their thread's runner, with no ES module face", () => {
    const paths = packed.map((f) => f.path);
    expect(paths).toContain("dist/sandbox-runner.cjs");
    expect(paths).not.toContain("dist/sandbox-runner.mjs");
  });

  it.concurrent.for(BOTH_APPS)(
    "$kind: a Server runs a handler module in a worker thread",
    { timeout: 60_000 },
    async ({ app }, { expect }) => {
      expect(await runAppScript(app(), "sandbox.js", expect)).toBe("sandbox ok\n");
    },
  );
});

describe("the metrics and otel entries", () => {
  it("are bundles of their own: no other entry requires them or their optional peers", () => {
    const seen = loadedFiles("index.cjs", "doctor.cjs", "testing.cjs", "dashboard.cjs");
    expect(seen).not.toContain("metrics.cjs");
    expect(seen).not.toContain("otel.cjs");
    for (const file of seen) {
      expect(readDist(file), file).not.toMatch(/require\(["'](prom-client|@opentelemetry\/api)["']\)/);
    }
    for (const [file, peer] of [
      ["metrics.cjs", "prom-client"],
      ["otel.cjs", "@opentelemetry/api"],
    ] as const) {
      expect(readDist(file)).toContain(`require("${peer}")`);
      // It uses the main entry's types only: no copy of its classes.
      expect(readDist(file)).not.toMatch(/class (Inspector|Server|ValidationError)\b/);
    }
  });

  it("ES module app with the peers installed: queue gauges of its queue, and a traced enqueue", async () => {
    expect(await runAppScript(esmApp, "observability.js", expect)).toBe("observability ok\n");
  });

  it("CommonJS app without the peers: the main entry loads; the entries name the missing peer", async () => {
    const result = await run(process.execPath, ["without-peers.js"], cjsApp);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe("main entry ok without peers\n");
  });
});

describe("the command line", () => {
  it("is a bundle of its own: the main entry never requires it, commander or terminal-kit", () => {
    const files = loadedFiles("index.cjs", "doctor.cjs", "testing.cjs");
    expect(files).not.toContain("cli.cjs");
    for (const file of files) {
      expect(readDist(file), file).not.toMatch(/require\(["'](commander|terminal-kit)["']\)/);
    }
    // The bin uses the library through its public bundles, not a copy of its own.
    const cli = readDist("cli.cjs");
    expect(cli.startsWith("#!/usr/bin/env node\n")).toBe(true);
    expect(cli).toMatch(/require\("\.\/index\.cjs"\)/);
    expect(cli).not.toMatch(/class (Inspector|ValidationError)\b/);
  });

  it.concurrent.for(BOTH_APPS)(
    "$kind app: the installed asynq-ts bin prints its version and reads Redis",
    { timeout: 60_000 },
    async ({ app }, { expect }) => {
      const bin = join(app(), "node_modules", ".bin", "asynq-ts");
      const version = await run(bin, ["--version"], app());
      expect(version.code, version.stderr).toBe(0);
      expect(version.stdout).toBe(
        `${(JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version}\n`,
      );
      const stats = await run(bin, ["stats", "--json"], app(), {
        env: childEnv({ REDIS_URL: testRedisUrl() }),
      });
      expect(stats.code, stats.stderr).toBe(0);
      expect(JSON.parse(stats.stdout)).toHaveProperty("totals");
    },
  );
});

// The apps use queues of their own, so they can run at the same time on one DB.
describe.concurrent(
  "an app with the tarball installed enqueues a task with Client and processes it with Server and ServeMux",
  () => {
    it.for(BOTH_APPS)("$kind", { timeout: 60_000 }, async ({ app }, { expect }) => {
      expect(await runAppScript(app(), "app.js", expect)).toMatch(/^handled [0-9a-f-]{36}\n$/);
    });
  },
);

// The ESM app also checks our declaration files (no skipLibCheck there).
describe.concurrent("a TypeScript app type-checks against the packed types", () => {
  it.for([
    { kind: "ESM (NodeNext)", app: () => esmApp, project: "tsconfig.json" },
    { kind: "CommonJS (Node16)", app: () => cjsApp, project: "tsconfig.json" },
    { kind: "CommonJS (module commonjs)", app: () => cjsApp, project: "tsconfig.commonjs.json" },
  ])("$kind", { timeout: 120_000 }, async ({ app, project }, { expect }) => {
    const result = await run(process.execPath, [TSC, "-p", project], app(), { timeoutMs: 110_000 });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.code).toBe(0);
  });
});
