// Finds a Redis for development, tests, the demo and CI, and starts a private one when none answers.
//
// Order: $REDIS_URL if set; else 127.0.0.1:6379 if it answers PING; else a private `redis-server` on a
// free loopback port with no persistence, stopped when this process exits. When `redis-server` is not
// installed: as root on Debian we run `apt-get install -y redis-server`; otherwise we fail with the
// exact command to run.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/** A Redis to use, and how to let go of it. */
export interface RedisHandle {
  /** `redis://host:port` (no DB index: callers choose their own). */
  url: string;
  /** Where it came from. */
  source: "REDIS_URL" | "localhost:6379" | "private";
  /** Stops the private server if we started one; a no-op otherwise. */
  stop(): Promise<void>;
}

const INSTALL_COMMAND = "sudo apt-get install -y redis-server";

/** Sends PING over a raw socket and resolves true on `+PONG` (or a NOAUTH reply: something answers). */
export function ping(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let answer = "";
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1");
      if (answer.includes("\r\n")) done(answer.startsWith("+PONG") || answer.includes("NOAUTH"));
    });
  });
}

/** The path of an executable found on PATH (or the usual system folders), if any. */
export function findOnPath(name: string): string | undefined {
  const dirs = (process.env.PATH ?? "").split(delimiter).concat(["/usr/bin", "/usr/sbin", "/usr/local/bin"]);
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (dir !== "" && existsSync(candidate)) return candidate;
  }
  return undefined;
}

function installRedisServer(): string {
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot || !existsSync("/etc/debian_version")) {
    throw new Error(
      `redis-server is not installed and no Redis answers on 127.0.0.1:6379. Run: ${INSTALL_COMMAND}`,
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const install = (): boolean =>
    spawnSync("apt-get", ["install", "-y", "--no-install-recommends", "redis-server"], {
      stdio: "inherit",
      env,
    }).status === 0;
  if (!install()) {
    spawnSync("apt-get", ["update"], { stdio: "inherit", env });
    if (!install()) throw new Error(`apt-get could not install redis-server. Run: ${INSTALL_COMMAND}`);
  }
  const path = findOnPath("redis-server");
  if (path === undefined)
    throw new Error(`redis-server is still missing after apt-get. Run: ${INSTALL_COMMAND}`);
  return path;
}

/** A free loopback TCP port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function startPrivate(binary: string): Promise<RedisHandle> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "asynq-ts-redis-"));
  const child: ChildProcess = spawn(
    binary,
    // 32 databases so that test workers each own a DB index (see test/support/redis.ts).
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      "--databases",
      "32",
    ],
    { stdio: "ignore" },
  );
  const killNow = (): void => {
    if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", killNow);
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited at start with code ${child.exitCode}`);
    if (await ping("127.0.0.1", port)) break;
    await new Promise((r) => setTimeout(r, 50));
    if (i === 99) throw new Error(`redis-server on port ${port} did not answer PING within 5 s`);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    source: "private",
    stop: () =>
      new Promise<void>((resolve) => {
        process.removeListener("exit", killNow);
        if (child.exitCode !== null) {
          killNow();
          resolve();
          return;
        }
        child.once("exit", () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}

/**
 * Returns a Redis to use, starting a private server when needed.
 * @throws Error when no Redis answers and `redis-server` can be neither found nor installed.
 */
export async function ensureRedis(log: (line: string) => void = () => {}): Promise<RedisHandle> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv !== undefined && fromEnv !== "") {
    log(`Using Redis at REDIS_URL=${fromEnv}`);
    return { url: fromEnv, source: "REDIS_URL", stop: () => Promise.resolve() };
  }
  if (await ping("127.0.0.1", 6379)) {
    log("Using the Redis that answers on 127.0.0.1:6379");
    return { url: "redis://127.0.0.1:6379", source: "localhost:6379", stop: () => Promise.resolve() };
  }
  const binary = findOnPath("redis-server") ?? installRedisServer();
  const handle = await startPrivate(binary);
  log(`Started a private redis-server at ${handle.url} (no persistence); it stops when this process exits`);
  return handle;
}

// `npx tsx tools/redis.ts --check`: makes sure a Redis can be had (installing redis-server if it must)
// and says which one, then exits (a private server it started is stopped again).
if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const handle = await ensureRedis((line) => console.log(`[redis] ${line}`));
  await handle.stop();
}
