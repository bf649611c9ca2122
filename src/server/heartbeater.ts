// The heartbeater (wire-format §4.25, §5.8): tells Redis this server and its workers are alive, and keeps the leases of running tasks.
import { hostname } from "node:os";
import { performance } from "node:perf_hooks";
import type { HeartbeatPort } from "../broker/ports.js";
import type { Clock } from "../internal/clock.js";
import { errorMessage } from "../internal/errors.js";
import { componentLogger, type Logger } from "../internal/logger.js";
import type { ServerInfo, TaskMessage, Timestamp, WorkerInfo } from "../wire/messages.js";
import { newServerInfo, newWorkerInfo } from "../wire/proto.js";

/** What a heartbeat says about the server (wire-format §2.2, §5.9). */
export type ServerStatus = "active" | "stopped" | "closed";

/** What the heartbeater reads of a running task (an executor's RunningTask fits). */
export interface HeartbeatTask {
  readonly id: string;
  readonly queue: string;
  readonly msg: Readonly<Pick<TaskMessage, "type" | "payload">>;
  /** When the task started on this server (ms). */
  readonly startedAt: number;
  /** When this attempt is cut short (ms). */
  readonly deadline: number;
  /** When this server's lease runs out (ms); moved forward by each successful extension. */
  leaseExpiresAt: number;
}

/** Everything a Heartbeater is built from, resolved by the server config (src/server/config.ts). Durations are ms. */
export interface HeartbeaterParams {
  broker: HeartbeatPort;
  clock: Clock;
  logger: Logger;
  /** UUID v4 of this server instance. */
  serverId: string;
  concurrency: number;
  /** Queue name -> priority, as configured (not divided by their GCD). */
  queues: Readonly<Record<string, number>>;
  strictPriority: boolean;
  /** How long each lease extension lasts (asynq: 30 s). */
  leaseDuration: number;
  /**
   * Time between heartbeats (`heartbeatInterval`; asynq's is 5 s, wire-format §5.1); the keys' TTL is
   * twice as long, in whole seconds (at least 1).
   */
  interval: number;
  /** The status each heartbeat reports. */
  status: () => ServerStatus;
  /** The tasks running now. */
  tasks: () => Iterable<HeartbeatTask>;
  /** Called once per task whose local lease has run out: the server must stop it and write nothing. */
  onLeaseLost: (id: string) => void;
}

/**
 * Every `interval` (first at `start()`) writes the ServerInfo and WorkerInfo keys; every
 * `min(interval, leaseDuration / 3)` extends the leases of running tasks whose local lease is still
 * valid, and reports those whose lease has passed through `onLeaseLost`. Redis failures are logged
 * (once per outage at warn level) and the next run happens on schedule. `shutdown()` removes the
 * server's keys.
 *
 * @example
 * ```ts
 * const heartbeater = new Heartbeater({
 *   broker, clock, logger, serverId: randomUUID(), concurrency: 10, queues: { default: 1 },
 *   strictPriority: false, leaseDuration: 30_000, interval: 5000, status: () => state,
 *   tasks: () => executor.runningTasks(), onLeaseLost: (id) => executor.abort(id, "lease-lost"),
 * });
 * heartbeater.start();
 * // …
 * await heartbeater.shutdown();
 * ```
 */
export class Heartbeater {
  /** The host name in the server's keys and records (`unknown-host` when the OS cannot tell). */
  readonly host: string = hostnameOrUnknown();
  /** The process ID in the server's keys and records. */
  readonly pid: number = process.pid;
  private readonly ttlSeconds: number;
  private readonly beats: Ticker;
  private readonly leases: Ticker;
  private readonly stateLog: OutageLog;
  private readonly leaseLog: OutageLog;
  private readonly logger: Logger;
  /** Tasks already reported through onLeaseLost. */
  private readonly lost = new WeakSet<HeartbeatTask>();
  private startTime = 0;
  private state: "new" | "running" | "shut down" = "new";
  private stopping: Promise<void> | undefined;

  constructor(private readonly params: HeartbeaterParams) {
    const { interval } = params;
    // Redis takes whole-second TTLs; round up so that a key always outlives the next beat.
    this.ttlSeconds = Math.max(1, Math.ceil((2 * interval) / 1000));
    this.beats = new Ticker(interval, () => this.beat());
    // Three extensions per lease, so that one or two failed round trips do not lose it.
    this.leases = new Ticker(Math.min(interval, params.leaseDuration / 3), () => this.extendLeases());
    this.logger = componentLogger(params.logger, "heartbeater");
    this.stateLog = new OutageLog(this.logger, "write the server state", "write server state");
    this.leaseLog = new OutageLog(this.logger, "extend task leases", "extend lease");
  }

  /** Writes the first heartbeat now and keeps beating until shutdown. A second call does nothing. */
  start(): void {
    if (this.state !== "new") return;
    this.state = "running";
    this.startTime = this.params.clock.now();
    this.beats.start();
    this.leases.start();
  }

  /** Stops beating, waits for a run in progress, then removes the server's keys. Never throws. */
  shutdown(): Promise<void> {
    this.stopping ??= this.stop();
    return this.stopping;
  }

  private async stop(): Promise<void> {
    const wasRunning = this.state === "running";
    this.state = "shut down";
    await Promise.all([this.beats.stop(), this.leases.stop()]);
    if (!wasRunning) return;
    try {
      await this.params.broker.clearServerState(this.host, this.pid, this.params.serverId);
    } catch (error) {
      this.logger.warn(
        `heartbeat: cannot clear the server state (it expires in ${this.ttlSeconds} s): ${errorMessage(error)}`,
        { serverId: this.params.serverId, operation: "clear server state", error: errorMessage(error) },
      );
    }
  }

  /** One heartbeat: the ServerInfo and a WorkerInfo per running task. */
  private async beat(): Promise<void> {
    try {
      const now = this.params.clock.now();
      const tasks = [...this.params.tasks()];
      const workers = tasks.map((t) => this.workerInfo(t));
      await this.params.broker.writeServerState(this.serverInfo(tasks.length), workers, now, this.ttlSeconds);
      this.stateLog.success();
    } catch (error) {
      this.stateLog.failure(error);
    }
  }

  private serverInfo(activeWorkerCount: number): ServerInfo {
    const p = this.params;
    return newServerInfo({
      host: this.host,
      pid: this.pid,
      serverId: p.serverId,
      concurrency: p.concurrency,
      queues: { ...p.queues },
      strictPriority: p.strictPriority,
      status: p.status(),
      startTime: timestampOf(this.startTime),
      activeWorkerCount,
    });
  }

  private workerInfo(task: HeartbeatTask): WorkerInfo {
    return newWorkerInfo({
      host: this.host,
      pid: this.pid,
      serverId: this.params.serverId,
      taskId: task.id,
      taskType: task.msg.type,
      taskPayload: task.msg.payload,
      queue: task.queue,
      startTime: timestampOf(task.startedAt),
      deadline: timestampOf(task.deadline),
    });
  }

  /** Extends the leases still valid here (one `ZADD XX` per queue) and reports the lost ones. */
  private async extendLeases(): Promise<void> {
    try {
      const now = this.params.clock.now();
      const byQueue = new Map<string, HeartbeatTask[]>();
      for (const task of this.params.tasks()) {
        if (task.leaseExpiresAt >= now) byQueue.set(task.queue, [...(byQueue.get(task.queue) ?? []), task]);
        else this.leaseLost(task);
      }
      if (byQueue.size === 0) return;
      // Redis keeps whole seconds (truncated): the local lease must not outlive the stored one.
      const expiresAt = Math.floor((now + this.params.leaseDuration) / 1000) * 1000;
      const results = await Promise.allSettled(
        [...byQueue].map(([queue, tasks]) => this.extendQueue(queue, tasks, expiresAt)),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed === undefined) this.leaseLog.success();
      else this.leaseLog.failure(failed.reason);
    } catch (error) {
      this.leaseLog.failure(error);
    }
  }

  private async extendQueue(
    queue: string,
    tasks: readonly HeartbeatTask[],
    expiresAt: number,
  ): Promise<void> {
    await this.params.broker.extendLease(
      queue,
      tasks.map((t) => t.id),
      expiresAt,
    );
    // A lease that ran out while the reply was on its way may have been recovered meanwhile (and
    // dequeued again by another server): keep it lost rather than claim the new lease.
    const now = this.params.clock.now();
    for (const task of tasks) if (task.leaseExpiresAt >= now) task.leaseExpiresAt = expiresAt;
  }

  private leaseLost(task: HeartbeatTask): void {
    if (this.lost.has(task)) return;
    this.lost.add(task);
    try {
      this.params.onLeaseLost(task.id);
    } catch (error) {
      this.logger.error(`heartbeat: onLeaseLost("${task.id}") threw: ${errorMessage(error)}`, {
        queue: task.queue,
        taskId: task.id,
        error: errorMessage(error),
      });
    }
  }
}

/**
 * Runs `run` now and then every `period` ms, measured from the start of each run; runs never
 * overlap (one that overruns its period is followed at once by the next).
 */
class Ticker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  /** @param run must not reject. */
  constructor(
    private readonly period: number,
    private readonly run: () => Promise<void>,
  ) {}

  start(): void {
    this.tick();
  }

  /** Cancels the next run and waits for the one in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private tick(): void {
    if (this.stopped) return;
    const startedAt = performance.now();
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      const wait = Math.max(0, this.period - (performance.now() - startedAt));
      this.timer = setTimeout(() => this.tick(), wait);
    });
  }
}

/** Logs a repeating operation's failures: the first of an outage at warn level, the rest at debug. */
class OutageLog {
  private failing = false;

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
    /** The `operation` log field. */
    private readonly operation: string,
  ) {}

  failure(error: unknown): void {
    const message = `heartbeat: cannot ${this.what}: ${errorMessage(error)}`;
    const fields = { operation: this.operation, error: errorMessage(error) };
    if (this.failing) {
      this.logger.debug(message, fields);
      return;
    }
    this.failing = true;
    this.logger.warn(`${message} (retrying on schedule; further failures are logged at debug level)`, fields);
  }

  success(): void {
    if (!this.failing) return;
    this.failing = false;
    this.logger.info(`heartbeat: can ${this.what} again`, { operation: this.operation });
  }
}

/** A Timestamp of an instant in ms (which may carry a fraction), nanos from the sub-second part. */
function timestampOf(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1_000_000));
  return { seconds: BigInt(seconds), nanos };
}

/** `os.hostname()`, or `unknown-host` (asynq's fallback) when it fails or is empty. */
function hostnameOrUnknown(): string {
  try {
    return hostname() || "unknown-host";
  } catch {
    return "unknown-host";
  }
}
