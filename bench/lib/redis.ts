// The benchmark's private redis-server (a free loopback port, no persistence) and INFO readers.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { findOnPath, freePort, ping } from "../../tools/redis.js";

/** A private redis-server started by the benchmark. */
export interface PrivateRedis {
  /** `redis://127.0.0.1:<port>/0` */
  url: string;
  host: string;
  port: number;
  /** The server's version, from INFO server. */
  version: string;
  /** An admin connection (FLUSHALL, INFO, CONFIG); closed by `stop()`. */
  admin: Redis;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** The major version of a redis-server binary (`redis-server --version` says `v=7.0.15`); 0 if unknown. */
function serverMajorVersion(binary: string): number {
  const out = spawnSync(binary, ["--version"], { encoding: "utf8" }).stdout ?? "";
  return Number(/v=(\d+)\./.exec(out)?.[1] ?? 0);
}

/**
 * Starts a redis-server on a free loopback port with `--save '' --appendonly no`; it is killed when
 * this process exits. The shared 6379 is never used.
 * @throws Error when redis-server is not installed or does not answer PING within 5 s.
 */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const binary = findOnPath("redis-server");
  if (binary === undefined) {
    throw new Error("redis-server is not installed. Run: sudo apt-get install -y redis-server");
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "asynq-ts-bench-redis-"));
  // No per-command latency histograms (Redis 7): they are allocated on first use of each command and
  // would show up in the used_memory deltas of the memory scenario.
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  if (serverMajorVersion(binary) >= 7) args.push("--latency-tracking", "no");
  const child: ChildProcess = spawn(binary, [...args, "--dir", dir], { stdio: "ignore" });
  const killNow = (): void => {
    if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", killNow);
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited at start with code ${child.exitCode}`);
    if (await ping("127.0.0.1", port)) break;
    if (i === 100) throw new Error(`redis-server on port ${port} did not answer PING within 5 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = `redis://127.0.0.1:${port}/0`;
  const admin = new Redis(url, { maxRetriesPerRequest: 1 });
  const version = /redis_version:(\S+)/.exec(await admin.info("server"))?.[1] ?? "unknown";
  return {
    url,
    host: "127.0.0.1",
    port,
    version,
    admin,
    stop: async () => {
      admin.disconnect();
      process.removeListener("exit", killNow);
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Numeric fields of one INFO section. */
export async function infoNumbers(redis: Redis, section: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const match of (await redis.info(section)).matchAll(/^(\w+):([\d.]+)\r?$/gm)) {
    out.set(match[1]!, Number(match[2]));
  }
  return out;
}

/** `used_memory` in bytes. */
export async function usedMemory(redis: Redis): Promise<number> {
  return (await infoNumbers(redis, "memory")).get("used_memory") ?? 0;
}

/** CPU seconds Redis has used so far (main thread and children: `used_cpu_sys + used_cpu_user`). */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const cpu = await infoNumbers(redis, "cpu");
  return (cpu.get("used_cpu_sys") ?? 0) + (cpu.get("used_cpu_user") ?? 0);
}

/** `calls` per command from INFO commandstats (commands run inside scripts included). */
export async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const match of (await redis.info("commandstats")).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    out.set(match[1]!, Number(match[2]));
  }
  return out;
}

/**
 * Empties the private Redis (every DB: it is ours alone) and resets INFO counters.
 * @throws Error when a MONITOR client is still connected (it would slow every later run down).
 */
export async function resetRedis(redis: Redis): Promise<void> {
  // A MONITOR client closed just now may take a moment to leave.
  for (let i = 0; / flags=\w*O/.test((await redis.client("LIST")) as string); i++) {
    if (i === 50) throw new Error("a MONITOR client is still connected to the bench Redis");
    await new Promise((r) => setTimeout(r, 20));
  }
  await redis.flushall();
  await redis.config("SET", "notify-keyspace-events", "");
  await redis.config("RESETSTAT");
}
