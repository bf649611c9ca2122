// `asynq-ts stats [--json] [--watch [seconds]]`: task counts by state and by queue, today's processed
// and failed counts, servers and workers, and what Redis says of itself (asynq's `stats`).
import type { Command } from "commander";
import { NotClusterError, type Inspector, type QueueInfo } from "../index.js";
import { withInspector } from "./connection.js";
import { CliError } from "./fail.js";
import { queueJson } from "./json.js";
import {
  errorRate,
  formatBytes,
  formatCount,
  formatDuration,
  paint,
  printJson,
  println,
  safe,
  table,
  STATES,
} from "./output.js";

/** What `stats` reads: one snapshot of every queue, the servers and their workers, and Redis. */
export interface Stats {
  timestamp: Date;
  queues: QueueInfo[];
  servers: number;
  workers: number;
  redis: RedisSummary;
}

/**
 * The part of Redis' INFO that asynq's `stats` shows. On a Redis Cluster, of every master: the first
 * master's version (by address), the shortest uptime, and the sums of the clients and the memory.
 */
export interface RedisSummary {
  version: string;
  uptimeSeconds: number;
  connectedClients: number;
  usedMemoryBytes: number;
  peakMemoryBytes: number;
  /** Masters of a Redis Cluster; 1 for a single server. */
  masters: number;
}

export async function readStats(inspector: Inspector): Promise<Stats> {
  const [queues, servers, infos] = await Promise.all([
    inspector.getQueueInfos(),
    inspector.listServers(),
    redisInfos(inspector),
  ]);
  const workers = servers.reduce((n, s) => n + s.activeWorkerCount, 0);
  return { timestamp: new Date(), queues, servers: servers.length, workers, redis: summary(infos) };
}

/** The INFO of every master of a Cluster (by address), or of the one server. */
async function redisInfos(inspector: Inspector): Promise<Array<Record<string, string>>> {
  try {
    return (await inspector.clusterRedisInfo()).map((node) => node.info);
  } catch (error) {
    if (!(error instanceof NotClusterError)) throw error;
    return [await inspector.redisInfo()];
  }
}

function summary(infos: ReadonlyArray<Record<string, string>>): RedisSummary {
  const num = (info: Record<string, string>, key: string): number => Number(info[key] ?? 0) || 0;
  const sum = (key: string): number => infos.reduce((n, info) => n + num(info, key), 0);
  const first = infos[0] ?? {};
  return {
    version: first.redis_version ?? first.valkey_version ?? "",
    uptimeSeconds: Math.min(...infos.map((info) => num(info, "uptime_in_seconds"))),
    connectedClients: sum("connected_clients"),
    usedMemoryBytes: sum("used_memory"),
    peakMemoryBytes: sum("used_memory_peak"),
    masters: infos.length,
  };
}

type Totals = Record<
  (typeof STATES)[number] | "size" | "processed" | "failed" | "processedTotal" | "failedTotal",
  number
>;

export function totals(queues: QueueInfo[]): Totals {
  const sum = (pick: (q: QueueInfo) => number): number => queues.reduce((n, q) => n + pick(q), 0);
  return {
    size: sum((q) => q.size),
    active: sum((q) => q.active),
    pending: sum((q) => q.pending),
    aggregating: sum((q) => q.aggregating),
    scheduled: sum((q) => q.scheduled),
    retry: sum((q) => q.retry),
    archived: sum((q) => q.archived),
    completed: sum((q) => q.completed),
    processed: sum((q) => q.processed),
    failed: sum((q) => q.failed),
    processedTotal: sum((q) => q.processedTotal),
    failedTotal: sum((q) => q.failedTotal),
  };
}

/** The `--json` shape of `stats`. */
export function statsJson(stats: Stats): Record<string, unknown> {
  return {
    timestamp: stats.timestamp.toISOString(),
    totals: totals(stats.queues),
    queues: stats.queues.map(queueJson),
    servers: stats.servers,
    workers: stats.workers,
    redis: stats.redis,
  };
}

export function statsText(stats: Stats): string {
  const t = totals(stats.queues);
  const day = stats.timestamp.toISOString().slice(0, 10);
  const sections = [
    paint("bold", "Task Count by State"),
    table([...STATES], [STATES.map((s) => formatCount(t[s]))]),
    "",
    paint("bold", "Task Count by Queue"),
    stats.queues.length === 0
      ? "No queues."
      : table(
          ["queue", "size", ...STATES, "paused", "memory"],
          stats.queues.map((q) => [
            safe(q.queue),
            formatCount(q.size),
            ...STATES.map((s) => formatCount(q[s])),
            q.paused ? paint("yellow", "paused") : "no",
            q.error === undefined ? formatBytes(q.memoryUsage) : paint("red", `unreadable: ${safe(q.error)}`),
          ]),
        ),
    "",
    paint("bold", `Daily Stats ${day} UTC`),
    table(
      ["processed", "failed", "error rate"],
      [[formatCount(t.processed), formatCount(t.failed), errorRate(t.processed, t.failed)]],
    ),
    "",
    paint("bold", "Servers"),
    `${stats.servers} server${stats.servers === 1 ? "" : "s"}, ${stats.workers} active worker${stats.workers === 1 ? "" : "s"}`,
    "",
    paint(
      "bold",
      stats.redis.masters > 1
        ? `Redis Info (cluster of ${stats.redis.masters} masters: the sums, and the shortest uptime)`
        : "Redis Info",
    ),
    table(
      ["version", "uptime", "connections", "memory usage", "peak memory usage"],
      [
        [
          safe(stats.redis.version),
          formatDuration(stats.redis.uptimeSeconds * 1000),
          formatCount(stats.redis.connectedClients),
          formatBytes(stats.redis.usedMemoryBytes),
          formatBytes(stats.redis.peakMemoryBytes),
        ],
      ],
    ),
  ];
  return sections.join("\n");
}

interface StatsFlags {
  json?: boolean;
  watch?: string | boolean;
}

function watchSeconds(value: string | boolean | undefined): number | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return 1;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new CliError(`--watch: expected seconds > 0, got ${JSON.stringify(value)}`);
  return seconds;
}

export function registerStats(program: Command): void {
  program
    .command("stats")
    .description("show task counts by state and queue, today's processed and failed, servers")
    .option("--json", "print JSON (one line per refresh with --watch)")
    .option("-w, --watch [seconds]", "refresh every N seconds (default 1) until Ctrl-C")
    .action(async (flags: StatsFlags, command: Command) => {
      const interval = watchSeconds(flags.watch);
      await withInspector(command, async (inspector) => {
        if (interval === undefined) {
          const stats = await readStats(inspector);
          if (flags.json === true) printJson(statsJson(stats));
          else println(statsText(stats));
          return;
        }
        let stopped = false;
        let wake: () => void = () => {};
        const stop = (): void => {
          stopped = true;
          wake();
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        while (!stopped) {
          const stats = await readStats(inspector);
          if (flags.json === true) process.stdout.write(`${JSON.stringify(statsJson(stats))}\n`);
          else {
            if (process.stdout.isTTY) console.clear();
            println(statsText(stats));
            println(paint("dim", `\nrefreshing every ${interval}s, Ctrl-C to stop`));
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, interval * 1000);
          });
        }
      });
    });
}
