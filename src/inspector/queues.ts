// Inspector queue operations (wire-format §4.28.1, §4.28.2, §4.28.9, §4.28.11): queue info, history, groups,
// pause/unpause and removal, with their public result types and typed errors.
import type { QueueAdminPort } from "../broker/ports.js";
import { DEFAULTS } from "../defaults.js";
import {
  BrokerError,
  QueueNotEmptyError,
  QueueNotFoundError,
  QueueStateError,
  ValidationError,
} from "../errors.js";
import type { Clock } from "../internal/clock.js";

/** A snapshot of one queue (asynq's QueueInfo). */
export interface QueueInfo {
  queue: string;
  /** All tasks: pending + active + scheduled + retry + archived + completed + aggregating. */
  size: number;
  pending: number;
  active: number;
  scheduled: number;
  retry: number;
  archived: number;
  completed: number;
  /** Tasks waiting in groups (not those already inside an aggregation run). */
  aggregating: number;
  /** Number of groups with waiting tasks. */
  groups: number;
  /** Tasks processed today (UTC), failures included. */
  processed: number;
  /** Tasks failed today (UTC). */
  failed: number;
  /** Tasks processed since the counter was created. */
  processedTotal: number;
  /** Tasks failed since the counter was created. */
  failedTotal: number;
  /**
   * How long the next task to be dequeued has been pending, in ms (0 when pending is empty, or when that
   * task was put back by a shutdown or an inspector run and so has no `pending_since`, as in asynq).
   */
  latency: number;
  /** asynq's estimate of the bytes the queue's tasks take in Redis (sampled; wire-format §4.28.1). */
  memoryUsage: number;
  paused: boolean;
  /** When the snapshot was taken. */
  timestamp: Date;
  /**
   * Set only by {@link QueueAdmin.getQueueInfos} for a queue it could not read (e.g. one of its keys
   * holds the wrong type of value): why, as Redis said it. Its counts are then 0, and `doctor` names
   * the damaged key. The other queues are read as usual.
   */
  error?: string;
}

/** One UTC day of a queue's counters. */
export interface DailyStats {
  /** `YYYY-MM-DD`, UTC. */
  date: string;
  /** Tasks processed that day, failures included. */
  processed: number;
  failed: number;
}

/** A group and the number of tasks waiting in it. */
export interface GroupInfo {
  group: string;
  size: number;
}

/** Options of {@link QueueAdmin.deleteQueue}. */
export interface DeleteQueueOptions {
  /** Delete the tasks too (every state but active). @defaultValue false */
  force?: boolean;
}

/** What a queue removal deleted. */
export interface QueueRemoval {
  /** Tasks deleted (forced removal). */
  deletedTasks: number;
  /** Other keys deleted: orphan task hashes, counters, unique locks, lease, paused, group sets. */
  deletedKeys: number;
}

/** The most days {@link QueueAdmin.history} reads (daily counters live 90 days). */
export const MAX_HISTORY_DAYS = DEFAULTS.inspector.max.historyDays;

/** Queue-level reads and admin operations of the Inspector. */
export class QueueAdmin {
  constructor(
    private readonly broker: QueueAdminPort,
    private readonly clock: Clock,
  ) {}

  /**
   * A snapshot of a queue: sizes per state, today's and all-time counters, latency, memory estimate,
   * pause flag (asynq's CurrentStats). Three round trips (two when the queue has no groups).
   * @throws ValidationError for a blank queue name.
   * @throws QueueNotFoundError when the queue is not registered.
   * @throws BrokerError when Redis fails.
   */
  async getQueueInfo(queue: string): Promise<QueueInfo> {
    checkName(queue, "queue");
    const nowMs = this.clock.now();
    const s = await this.broker.queueStats(queue, nowMs);
    if (s === "queue-not-found") throw new QueueNotFoundError(queue, { op: "inspector.getQueueInfo" });
    const since = s.oldestPendingSinceNs;
    // ns → µs in bigint first: unix µs fit a double exactly.
    const latency = since === null ? 0 : Math.max(0, Math.floor(nowMs - Number(since / 1000n) / 1000));
    return {
      queue,
      size: s.pending + s.active + s.scheduled + s.retry + s.archived + s.completed + s.aggregating,
      pending: s.pending,
      active: s.active,
      scheduled: s.scheduled,
      retry: s.retry,
      archived: s.archived,
      completed: s.completed,
      aggregating: s.aggregating,
      groups: s.groups,
      processed: s.processedToday,
      failed: s.failedToday,
      processedTotal: s.processedTotal,
      failedTotal: s.failedTotal,
      latency,
      memoryUsage: s.memoryUsage,
      paused: s.paused,
      timestamp: new Date(nowMs),
    };
  }

  /**
   * {@link getQueueInfo} of every registered queue, sorted by name. A queue removed meanwhile is left
   * out. A queue Redis refuses to read (a key of the wrong type) does not hide the others: it is listed
   * with its `error` and zero counts.
   * @throws BrokerError when Redis fails for every queue (it is down, or refuses the connection).
   */
  async getQueueInfos(): Promise<QueueInfo[]> {
    const names = (await this.broker.queues()).sort();
    const infos = await Promise.all(
      names.map((q) =>
        this.getQueueInfo(q).catch((error: unknown) => {
          if (error instanceof QueueNotFoundError) return null;
          if (error instanceof BrokerError && isDataError(error))
            return unreadable(q, error, this.clock.now());
          throw error;
        }),
      ),
    );
    return infos.filter((i): i is QueueInfo => i !== null);
  }

  /**
   * Processed and failed counts of the last `days` UTC days, newest first (today first).
   * @throws ValidationError for a blank queue name, or `days` not an integer in 1..3650.
   * @throws QueueNotFoundError when the queue is not registered.
   * @throws BrokerError when Redis fails.
   */
  async history(queue: string, days: number): Promise<DailyStats[]> {
    checkName(queue, "queue");
    if (!Number.isInteger(days) || days < 1 || days > MAX_HISTORY_DAYS) {
      throw new ValidationError("days", days, `must be an integer from 1 to ${MAX_HISTORY_DAYS}`, {
        op: "inspector.history",
      });
    }
    const rows = await this.broker.queueHistory(queue, days, this.clock.now());
    if (rows === "queue-not-found") throw new QueueNotFoundError(queue, { op: "inspector.history" });
    return rows;
  }

  /**
   * The groups of a queue with the number of tasks waiting in each, sorted by name.
   * @throws ValidationError for a blank queue name.
   * @throws QueueNotFoundError when the queue is not registered (asynq does not check).
   * @throws BrokerError when Redis fails.
   */
  async listGroups(queue: string): Promise<GroupInfo[]> {
    checkName(queue, "queue");
    const groups = await this.broker.queueGroups(queue);
    if (groups === "queue-not-found") throw new QueueNotFoundError(queue, { op: "inspector.listGroups" });
    return groups;
  }

  /**
   * Pauses a queue: servers (Go and ours) stop taking its tasks; scheduled and retry tasks still become
   * pending. Like asynq, the queue does not have to be registered.
   * @throws ValidationError for a blank queue name.
   * @throws QueueStateError (code `ERR_QUEUE_PAUSED`) when it is already paused.
   * @throws BrokerError when Redis fails.
   */
  async pauseQueue(queue: string): Promise<void> {
    checkName(queue, "queue");
    if ((await this.broker.pauseQueue(queue, this.clock.now())) === "already-paused") {
      throw new QueueStateError("ERR_QUEUE_PAUSED", queue, `queue "${queue}" is already paused`, {
        op: "inspector.pauseQueue",
      });
    }
  }

  /**
   * Resumes a paused queue.
   * @throws ValidationError for a blank queue name.
   * @throws QueueStateError (code `ERR_QUEUE_NOT_PAUSED`) when it is not paused.
   * @throws BrokerError when Redis fails.
   */
  async unpauseQueue(queue: string): Promise<void> {
    checkName(queue, "queue");
    if ((await this.broker.unpauseQueue(queue)) === "not-paused") {
      throw new QueueStateError("ERR_QUEUE_NOT_PAUSED", queue, `queue "${queue}" is not paused`, {
        op: "inspector.unpauseQueue",
      });
    }
  }

  /**
   * Removes a queue and everything it holds: task hashes in every state (completed and aggregating
   * included), containers, groups and aggregation sets, lease, paused, all counters, unique locks whose
   * task is gone; then unregisters it. Works in small batches, so Redis stays responsive. Unlike asynq,
   * nothing is left behind, and the non-forced check counts completed and aggregating tasks too.
   *
   * A task enqueued while the removal runs is either deleted with the queue (forced) or kept with the
   * queue still registered (then `QueueNotEmptyError`): a task never ends up in an unregistered queue.
   *
   * @throws ValidationError for a blank queue name.
   * @throws QueueNotFoundError when the queue is not registered.
   * @throws QueueNotEmptyError when not forced and the queue holds a task, or when tasks kept arriving
   *   during the removal (the queue then stays registered with them).
   * @throws QueueStateError (code `ERR_QUEUE_HAS_ACTIVE`) when forced and a task is being processed.
   * @throws BrokerError when Redis fails (running the removal again finishes it).
   */
  async deleteQueue(queue: string, options: DeleteQueueOptions = {}): Promise<QueueRemoval> {
    checkName(queue, "queue");
    const op = "inspector.deleteQueue";
    const force = options.force ?? false;
    if (typeof force !== "boolean")
      throw new ValidationError("options.force", force, "must be a boolean", { op });
    const r = await this.broker.removeQueue({ queue, force, nowMs: this.clock.now() });
    if (r === "queue-not-found") throw new QueueNotFoundError(queue, { op });
    if (r === "not-empty") throw new QueueNotEmptyError(queue, { op });
    if (r === "has-active") {
      throw new QueueStateError(
        "ERR_QUEUE_HAS_ACTIVE",
        queue,
        `cannot remove queue "${queue}": it has active tasks`,
        {
          op,
        },
      );
    }
    if (!r.removed) throw new QueueNotEmptyError(queue, { op });
    return { deletedTasks: r.deletedTasks, deletedKeys: r.deletedKeys };
  }
}

/** Throws a ValidationError unless `value` is a string with a non-blank character. */
export function checkName(value: unknown, field: string): void {
  if (typeof value !== "string" || value.trim() === "") {
    throw new ValidationError(field, value, `${field} must be a non-empty string`);
  }
}

/** An error Redis answered about the data (WRONGTYPE and the like), not a connection or server failure. */
function isDataError(error: BrokerError): boolean {
  const cause = error.cause;
  return cause instanceof Error && cause.name === "ReplyError" && /WRONGTYPE|ERR/.test(cause.message);
}

/** The entry of a queue that could not be read. */
function unreadable(queue: string, error: BrokerError, nowMs: number): QueueInfo {
  const cause = error.cause instanceof Error ? error.cause.message : error.message;
  return {
    queue,
    size: 0,
    pending: 0,
    active: 0,
    scheduled: 0,
    retry: 0,
    archived: 0,
    completed: 0,
    aggregating: 0,
    groups: 0,
    processed: 0,
    failed: 0,
    processedTotal: 0,
    failedTotal: 0,
    latency: 0,
    memoryUsage: 0,
    paused: false,
    timestamp: new Date(nowMs),
    error: cause,
  };
}
