// Inspector reads of servers, workers, scheduler entries and history (wire-format §4.28.10) and the Cluster
// helpers (§4.28.12): decodes the stored protobuf records into public types.
import type { ClusterNode, RawRecord, RedisNodeInfo, ServerStateRecords } from "../broker/admin/servers.js";
import type { ServerAdminPort } from "../broker/ports.js";
import { DEFAULTS } from "../defaults.js";
import { BrokerError, NotClusterError, ValidationError } from "../errors.js";
import type { Clock } from "../internal/clock.js";
import { errorMessage } from "../internal/errors.js";
import { GO_ZERO_TIME_SECONDS, type Timestamp } from "../wire/messages.js";
import { parseOption, type OptionValue } from "../wire/option-strings.js";
import {
  decodeSchedulerEnqueueEvent,
  decodeSchedulerEntry,
  decodeServerInfo,
  decodeWorkerInfo,
} from "../wire/proto.js";
import * as keys from "../wire/keys.js";
import { checkName } from "./queues.js";

export type { ClusterNode } from "../broker/admin/servers.js";
export type { OptionValue } from "../wire/option-strings.js";

/** A task being processed, as its server reports it (refreshed every 5 s). */
export interface ActiveWorker {
  taskId: string;
  taskType: string;
  payload: Uint8Array;
  queue: string;
  /** When the worker took the task. */
  startedAt: Date | null;
  /** The task's deadline for this attempt. */
  deadline: Date | null;
}

/** An active worker with the server running it (asynq's WorkerInfo plus its server). */
export interface WorkerInfo extends ActiveWorker {
  host: string;
  pid: number;
  serverId: string;
}

/** A running server (Go or ours) with its active workers (asynq's ServerInfo). */
export interface ServerInfo {
  serverId: string;
  host: string;
  pid: number;
  concurrency: number;
  /** Queue name → priority, as configured. */
  queues: Record<string, number>;
  strictPriority: boolean;
  /** `active`, `stopped` (no new tasks) or `closed` (shutting down). */
  status: string;
  startedAt: Date | null;
  /** Tasks in flight at the last heartbeat. */
  activeWorkerCount: number;
  /** The workers listed at the last heartbeat (a task shows up at the beat after it started). */
  activeWorkers: ActiveWorker[];
}

/** A periodic task registered by a scheduler (asynq's SchedulerEntry). */
export interface SchedulerEntry {
  id: string;
  /** The scheduler that registered it (`<host>:<pid>:<uuid>` for Go's). */
  schedulerId: string;
  /** Cron spec as registered, e.g. `@every 30s`. */
  spec: string;
  taskType: string;
  payload: Uint8Array;
  /** The options that parse (`Queue("low")`, `MaxRetry(3)`, ...), in order. */
  options: OptionValue[];
  /** Every option string as stored, unparsable ones included. */
  rawOptions: string[];
  /** Next enqueue time. */
  next: Date | null;
  /** Previous enqueue time; null when it never ran. */
  prev: Date | null;
}

/** One enqueue done by a scheduler entry. */
export interface SchedulerEnqueueEvent {
  taskId: string;
  enqueuedAt: Date;
}

/** A stored record that could not be decoded and was left out of a listing. */
export interface SkippedRecord {
  key: string;
  /** Hash field (task ID) of a worker record; "" otherwise. */
  field: string;
  reason: string;
}

/** Pagination of {@link ServerAdmin.listSchedulerEnqueueEvents}. */
export interface PageOptions {
  /** 1-based page. @defaultValue 1 */
  page?: number;
  /** Items per page, 1 to 10,000. @defaultValue 30 */
  size?: number;
}

/** Server-level and scheduler-level reads of the Inspector. */
export class ServerAdmin {
  /**
   * @param onSkipped hears of each record left out because it does not decode (Go's tools skip them
   *   silently); e.g. a logger's warn.
   */
  constructor(
    private readonly broker: ServerAdminPort,
    private readonly clock: Clock,
    private readonly onSkipped: (record: SkippedRecord) => void = () => {},
  ) {}

  /**
   * The live servers with their active workers, sorted by host, pid and server ID. Stale registry
   * entries (servers that stopped beating) are pruned, as asynq's ListServers does; workers are joined
   * on the server ID (workers of a server no longer listed are dropped).
   * @throws BrokerError when Redis fails.
   */
  async listServers(): Promise<ServerInfo[]> {
    const state = await this.broker.serverState(this.clock.now());
    const workers = this.decodeWorkers(state);
    const servers: ServerInfo[] = [];
    for (const r of state.servers) {
      const s = this.decode(r, decodeServerInfo);
      if (s === null) continue;
      servers.push({
        serverId: s.serverId,
        host: s.host,
        pid: s.pid,
        concurrency: s.concurrency,
        queues: { ...s.queues },
        strictPriority: s.strictPriority,
        status: s.status,
        startedAt: toDate(s.startTime),
        activeWorkerCount: s.activeWorkerCount,
        activeWorkers: workers
          .filter((w) => w.serverId === s.serverId)
          .map(({ taskId, taskType, payload, queue, startedAt, deadline }) => ({
            taskId,
            taskType,
            payload,
            queue,
            startedAt,
            deadline,
          })),
      });
    }
    return servers.sort(
      (a, b) => compare(a.host, b.host) || a.pid - b.pid || compare(a.serverId, b.serverId),
    );
  }

  /**
   * Every active worker of every live server, oldest first (asynq's ListWorkers).
   * @throws BrokerError when Redis fails.
   */
  async listWorkers(): Promise<WorkerInfo[]> {
    const workers = this.decodeWorkers(await this.broker.serverState(this.clock.now()));
    return workers.sort(
      (a, b) => (a.startedAt?.getTime() ?? 0) - (b.startedAt?.getTime() ?? 0) || compare(a.taskId, b.taskId),
    );
  }

  /**
   * The entries of every live scheduler, in the order stored. Option strings are parsed back (all of
   * asynq's forms, TaskID and Group included); those that do not parse are only in `rawOptions`.
   * @throws BrokerError when Redis fails.
   */
  async listSchedulerEntries(): Promise<SchedulerEntry[]> {
    const records = await this.broker.schedulerEntries(this.clock.now());
    const entries: SchedulerEntry[] = [];
    for (const r of records) {
      const e = this.decode(r, decodeSchedulerEntry);
      if (e === null) continue;
      const options: OptionValue[] = [];
      for (const s of e.enqueueOptions) {
        try {
          options.push(parseOption(s));
        } catch {
          // kept in rawOptions only
        }
      }
      entries.push({
        id: e.id,
        schedulerId: r.key.slice(r.key.indexOf("{") + 1, -1),
        spec: e.spec,
        taskType: e.taskType,
        payload: new Uint8Array(e.taskPayload),
        options,
        rawOptions: [...e.enqueueOptions],
        next: toDate(e.nextEnqueueTime),
        prev: toDate(e.prevEnqueueTime),
      });
    }
    return entries;
  }

  /**
   * A page of the enqueues done by a scheduler entry, newest first. An event that does not decode is
   * left out (asynq fails the whole call).
   * @throws ValidationError for a blank entry ID, a page that is not an integer >= 1, or a size that is
   *   not an integer from 1 to 10,000.
   * @throws BrokerError when Redis fails.
   */
  async listSchedulerEnqueueEvents(
    entryId: string,
    options: PageOptions = {},
  ): Promise<SchedulerEnqueueEvent[]> {
    checkName(entryId, "entryId");
    const page = options.page ?? 1;
    const size = options.size ?? DEFAULTS.inspector.pageSize;
    const maxSize = DEFAULTS.inspector.max.pageSize;
    for (const [field, value] of [
      ["options.page", page],
      ["options.size", size],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 1 || (field === "options.size" && value > maxSize)) {
        throw new ValidationError(field, value, `must be an integer >= 1 (a size at most ${maxSize})`, {
          op: "inspector.listSchedulerEnqueueEvents",
        });
      }
    }
    const start = (page - 1) * size;
    const raw = await this.broker.schedulerEvents(entryId, start, start + size - 1);
    const key = keys.schedulerHistoryKey(entryId);
    const events: SchedulerEnqueueEvent[] = [];
    for (const r of raw) {
      const e = this.decode({ key, field: "", value: r.value }, decodeSchedulerEnqueueEvent);
      if (e !== null)
        events.push({ taskId: e.taskId, enqueuedAt: toDate(e.enqueueTime) ?? new Date(r.score * 1000) });
    }
    return events;
  }

  /**
   * What the Redis server says of itself (`INFO`): every `key:value` line, values as strings
   * (`redis_version`, `uptime_in_seconds`, `connected_clients`, `used_memory`, `used_memory_peak`…).
   * On a Redis Cluster, its first master's by address (`Inspector.clusterRedisInfo` reads every master).
   * @throws BrokerError when Redis fails.
   * @example
   * ```ts
   * const info = await inspector.redisInfo();
   * console.log(`Redis ${info.redis_version}, ${info.used_memory_human} used`);
   * ```
   */
  async redisInfo(): Promise<Record<string, string>> {
    return this.broker.redisInfo();
  }

  /**
   * What each master of a Redis Cluster says of itself (`INFO`), by address: the keys, memory and
   * load of a Cluster are split over its masters, where {@link ServerAdmin.redisInfo} reads only the
   * first one.
   * @throws NotClusterError when Redis is not a cluster.
   * @throws BrokerError when Redis fails.
   * @example
   * ```ts
   * for (const { addr, info } of await inspector.clusterRedisInfo()) console.log(addr, info.used_memory_human);
   * ```
   */
  async clusterRedisInfo(): Promise<RedisNodeInfo[]> {
    const nodes = await this.broker.clusterRedisInfo();
    if (nodes === "not-cluster") throw new NotClusterError({ op: "inspector.clusterRedisInfo" });
    return nodes;
  }

  /**
   * The Redis Cluster slot of a queue's keys.
   * @throws ValidationError for a blank queue name.
   * @throws NotClusterError when Redis is not a cluster.
   * @throws BrokerError when Redis fails.
   */
  async clusterKeySlot(queue: string): Promise<number> {
    checkName(queue, "queue");
    const slot = await this.broker.clusterKeySlot(queue);
    if (slot === "not-cluster") throw new NotClusterError({ op: "inspector.clusterKeySlot" });
    return slot;
  }

  /**
   * The cluster nodes serving a queue's slot: the primary first, then its replicas.
   * @throws ValidationError for a blank queue name.
   * @throws NotClusterError when Redis is not a cluster.
   * @throws BrokerError when no node serves the slot, or Redis fails.
   */
  async clusterNodes(queue: string): Promise<ClusterNode[]> {
    checkName(queue, "queue");
    const op = "inspector.clusterNodes";
    const nodes = await this.broker.clusterNodes(queue);
    if (nodes === "not-cluster") throw new NotClusterError({ op });
    if (nodes === "no-node")
      throw new BrokerError(`no cluster node serves the slot of queue "${queue}"`, { op });
    return nodes;
  }

  private decodeWorkers(state: ServerStateRecords): WorkerInfo[] {
    const out: WorkerInfo[] = [];
    for (const r of state.workers) {
      const w = this.decode(r, decodeWorkerInfo);
      if (w === null) continue;
      out.push({
        host: w.host,
        pid: w.pid,
        serverId: w.serverId,
        taskId: w.taskId,
        taskType: w.taskType,
        payload: new Uint8Array(w.taskPayload),
        queue: w.queue,
        startedAt: toDate(w.startTime),
        deadline: toDate(w.deadline),
      });
    }
    return out;
  }

  /** Decodes a record, reporting and returning null when it does not decode. */
  private decode<T>(record: RawRecord, decoder: (bytes: Uint8Array) => T): T | null {
    try {
      return decoder(record.value);
    } catch (error) {
      this.onSkipped({
        key: record.key,
        field: record.field,
        reason: errorMessage(error),
      });
      return null;
    }
  }
}

/** A Timestamp as a Date (ms precision); null when absent, Go's zero time, or out of Date's range. */
export function toDate(ts: Timestamp | null): Date | null {
  if (ts === null || (ts.seconds === GO_ZERO_TIME_SECONDS && ts.nanos === 0)) return null;
  const date = new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6));
  return Number.isNaN(date.getTime()) ? null : date;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
