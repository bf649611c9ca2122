// Support of the command line tests: a private build of the package (so that test/package, which
// rebuilds dist/ in the working tree, never races with them), and running the built binary as a child
// process on this worker's Redis DB.
//
// The build is made once per vitest run, in a temporary copy of the repository's build inputs with
// node_modules linked: the first test worker to get there builds it (a directory created with mkdir is
// the lock), the others wait for its marker file. Copies of earlier runs are removed.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client, Inspector } from "../../src/index.js";
import { testRedisUrl } from "../support/redis.js";

const execFileAsync = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BUILD_INPUTS = ["package.json", "tsconfig.json", "tsconfig.build.json", "tools", "src"];
const PREFIX = "asynq-ts-cli-build-";

/** Removes build copies of runs whose vitest process is gone. */
function removeStale(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(name.slice(PREFIX.length));
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {
      alive = false;
    }
    if (!alive) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

/** The built binary (dist/cli.cjs of the private build), built on first call in this vitest run. */
export async function builtCli(): Promise<string> {
  // Test files run in forked workers of one vitest process: their parent's PID names the run.
  const dir = join(tmpdir(), `${PREFIX}${process.ppid}`);
  const marker = join(dir, "built");
  const cli = join(dir, "dist", "cli.cjs");
  try {
    mkdirSync(dir);
  } catch {
    // Another worker builds: wait for it (the build takes seconds).
    const deadline = Date.now() + 120_000;
    while (!existsSync(marker)) {
      if (Date.now() > deadline) throw new Error(`the CLI build in ${dir} did not finish`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return cli;
  }
  removeStale();
  for (const input of BUILD_INPUTS) {
    cpSync(join(REPO_ROOT, input), join(dir, input), {
      recursive: true,
      filter: (src) => !src.endsWith(".test.ts"),
    });
  }
  symlinkSync(join(REPO_ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  // Not execFileSync: a worker blocked for the whole build misses vitest's RPC deadlines.
  await execFileAsync("npm", ["run", "build", "--silent"], { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
  writeFileSync(marker, "");
  return cli;
}

/** The outcome of one run of the binary. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Extra environment (REDIS_URL is this worker's DB unless given). */
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
}

/** Runs `asynq-ts <args>` on this worker's Redis DB; never rejects. */
export async function runCli(args: string[], options: RunOptions = {}): Promise<CliRun> {
  const cli = await builtCli();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REDIS_URL: testRedisUrl(),
    NO_COLOR: undefined,
    FORCE_COLOR: undefined,
  };
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [cli, ...args],
      { env, timeout: options.timeoutMs ?? 20_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** Runs the binary and parses its stdout as JSON; throws with its stderr when it fails. */
export async function cliJson<T = unknown>(args: string[], options: RunOptions = {}): Promise<T> {
  const run = await runCli([...args, "--json"], options);
  if (run.code !== 0) throw new Error(`asynq-ts ${args.join(" ")} exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** No stack trace, one line: what every failure must print on stderr. */
export function isOneLineError(stderr: string): boolean {
  const lines = stderr.trimEnd().split("\n");
  return lines.length === 1 && lines[0]!.startsWith("error:") && !/\n\s+at /.test(stderr);
}

/** Enqueues one task on `url` through a Client of its own. */
export async function enqueueOn(url: string, ...args: Parameters<Client["enqueue"]>) {
  const client = new Client(url);
  try {
    return await client.enqueue(...args);
  } finally {
    await client.close();
  }
}

/** Runs `fn` with an Inspector of its own on `url`. */
export async function inspectOn<T>(url: string, fn: (inspector: Inspector) => Promise<T>): Promise<T> {
  const inspector = new Inspector(url);
  try {
    return await fn(inspector);
  } finally {
    await inspector.close();
  }
}
