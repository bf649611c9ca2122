// The ceiling: what redis-benchmark says the same private Redis does for the commands of the hot path.
import { spawnSync } from "node:child_process";
import type { PrivateRedis } from "./redis.js";
import { findOnPath } from "../../tools/redis.js";

/** One redis-benchmark test. */
export interface CeilingLine {
  label: string;
  /** Requests per second. */
  opsPerSec: number;
  pipeline: number;
  clients: number;
}

/** A small claim-like script: rotate a list and add to a sorted set (2 commands, as a dequeue step does). */
const SCRIPT =
  "redis.call('LMOVE', KEYS[1], KEYS[1], 'RIGHT', 'LEFT'); redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1]); return 1";

/**
 * Runs redis-benchmark (50 clients) for LPUSH, LMOVE, HSET, ZADD and EVALSHA of a 2-command script,
 * pipelined by 16, and EVALSHA without pipelining; empties the Redis afterwards.
 * @returns the lines, or an empty list (with a warning) when redis-benchmark is not installed.
 */
export async function measureCeiling(
  redis: PrivateRedis,
  requests: number,
  log: (line: string) => void,
): Promise<CeilingLine[]> {
  const binary = findOnPath("redis-benchmark");
  if (binary === undefined) {
    log("redis-benchmark not found on PATH: no ceiling line (apt-get install redis-tools)");
    return [];
  }
  await redis.admin.flushall();
  await redis.admin.rpush("bench:list", ...Array.from({ length: 1000 }, (_, i) => String(i)));
  const sha = (await redis.admin.script("LOAD", SCRIPT)) as string;
  const value = "v".repeat(100);
  const tests: [string, number, string[]][] = [
    ["LPUSH", 16, ["LPUSH", "bench:push", "__rand_int__"]],
    ["LMOVE (RPOPLPUSH)", 16, ["LMOVE", "bench:list", "bench:list", "RIGHT", "LEFT"]],
    ["HSET (100-byte value)", 16, ["HSET", "bench:h:__rand_int__", "msg", value, "state", "pending"]],
    ["ZADD", 16, ["ZADD", "bench:z", "__rand_int__", "__rand_int__"]],
    ["EVALSHA (2-command script)", 16, ["EVALSHA", sha, "2", "bench:list", "bench:z", "__rand_int__"]],
    ["EVALSHA (2-command script)", 1, ["EVALSHA", sha, "2", "bench:list", "bench:z", "__rand_int__"]],
  ];
  const lines: CeilingLine[] = [];
  for (const [label, pipeline, command] of tests) {
    const args = ["-h", redis.host, "-p", String(redis.port), "-c", "50", "-n", String(requests)];
    args.push("-r", "100000", "-P", String(pipeline), "--csv", ...command);
    const result = spawnSync(binary, args, { encoding: "utf8", timeout: 120_000 });
    const last = result.stdout.trim().split("\n").pop() ?? "";
    const ops = Number(/^"[^"]*","([\d.]+)"/.exec(last)?.[1]);
    if (result.status !== 0 || !Number.isFinite(ops)) {
      log(`redis-benchmark ${label} failed: ${result.stderr || last}`);
      continue;
    }
    lines.push({ label, opsPerSec: ops, pipeline, clients: 50 });
    log(`ceiling: ${label}, pipeline ${pipeline}: ${Math.round(ops).toLocaleString("en-US")} ops/s`);
  }
  await redis.admin.flushall();
  return lines;
}
