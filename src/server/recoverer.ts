// The recoverer: at start, then every `recoverInterval`, retries or archives active tasks whose worker is gone (wire-format §5.8).
import type { AggregatorPort, LeaseGuard, RecoverPort } from "../broker/ports.js";
import { LeaseExpiredError } from "../errors.js";
import { unixSeconds, type Clock } from "../internal/clock.js";
import { errorMessage } from "../internal/errors.js";
import { componentLogger, type Logger } from "../internal/logger.js";
import type { TaskMessage } from "../wire/messages.js";
import { decodeTaskMessage } from "../wire/proto.js";
import { purgeAggregationSet } from "./aggregator.js";
import type { RetryDelayFn } from "./retry-delay.js";

export type { LeaseGuard } from "../broker/ports.js";

/** An active task seen by a listing, with its encoded msg (null when the hash has none, or is gone). */
export interface RecoveryCandidate {
  id: string;
  msg: Uint8Array | null;
}

/** One task the recoverer wrote. */
export interface RecoveredTask {
  queue: string;
  id: string;
  /** The task's type; missing when its message could not be read (`quarantine`, `remove`). */
  type?: string;
  /** Its lease ran out at least `grace` ago, or it sat in active with no lease for `grace`. */
  found: "lease-expired" | "no-lease";
  /**
   * `retry`; `archive` (retries exhausted); `expire` (archived: its deadline passes before the
   * retry); `quarantine` (msg missing or undecodable: archived as it is); `remove` (no task hash).
   */
  action: "retry" | "archive" | "expire" | "quarantine" | "remove";
}

/** Recoverer parameters, resolved by the server config (src/server/config.ts). Durations are milliseconds. */
export interface RecovererParams {
  broker: RecoverPort;
  clock: Clock;
  logger: Logger;
  queues: readonly string[];
  retryDelay: RetryDelayFn;
  isFailure: (error: Error) => boolean;
  /** Time between runs (the server's `recoverInterval`); the first run is at start. */
  interval: number;
  /** How long a lease must have been expired, or missing, before the task is recovered (`recoveryGrace`). */
  grace: number;
  /** Called after each task written. */
  onRecovered?: (task: RecoveredTask) => void;
  /**
   * Aggregation sets: with this, each run also reclaims the sets past their deadline (wire-format
   * §4.22; the group goes back into `groups`, unlike asynq) and finishes deleting the members of sets
   * whose aggregated task was written by a worker that died before it deleted them.
   */
  aggregation?: {
    broker: Pick<
      AggregatorPort,
      | "reclaimStaleAggregationSets"
      | "listFinishedAggregationSets"
      | "readAggregationSet"
      | "aggregationSetIds"
      | "deleteAggregatedMembers"
    >;
    /** Members read and deleted per round trip. */
    pageSize: number;
  };
}

/** Tasks per lease listing and per msg read (asynq reads every expired lease at once). */
const BATCH = 100;
/** Used when retryDelay throws or returns a bad value, as the processor does. */
const FALLBACK_DELAY_MS = 15_000;

/** What to write for a task with a readable msg. */
type Plan =
  | { action: "retry"; msg: TaskMessage; retryAt: number; isFailure: boolean }
  | { action: "archive" | "expire"; msg: TaskMessage };

/**
 * Finds active tasks that no live worker holds and settles them as asynq's recoverer does: those
 * whose lease ran out at least `grace` ago, and (unlike asynq, asynq#1144) those in active with no
 * lease at all for `grace`. Each write re-verifies the lease it saw, so an owner that extends its
 * lease in time keeps the task, and concurrent recoverers (Go's included) settle a task once.
 */
export class Recoverer {
  private readonly interval: number;
  private readonly grace: number;
  /** Per queue: active IDs seen without a lease, and when each was first seen. */
  private readonly unleased = new Map<string, Map<string, number>>();
  private current: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  private failing = false;
  private readonly logger: Logger;

  constructor(private readonly params: RecovererParams) {
    this.logger = componentLogger(params.logger, "recoverer");
    this.interval = params.interval;
    this.grace = params.grace;
  }

  /** Runs at once, then `interval` after the end of each run. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.loop();
  }

  /** Stops the timer and waits for a run in progress (which stops between batches). */
  async shutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.current;
  }

  /**
   * One run over every queue, after any run in progress. Redis errors are logged, not thrown.
   * @returns how many tasks it wrote.
   */
  runOnce(): Promise<number> {
    const run = this.current.then(() => this.pass());
    this.current = run.catch(() => 0);
    return run;
  }

  private loop(): void {
    const next = (): void => {
      if (!this.stopped) this.timer = setTimeout(() => this.loop(), this.interval);
    };
    this.runOnce().then(next, (error: unknown) => {
      this.logger.error(`recoverer: run failed: ${errorMessage(error)}`, { error: errorMessage(error) });
      next();
    });
  }

  private async pass(): Promise<number> {
    const cutoffMs = this.params.clock.now() - this.grace;
    const tally = { written: 0 };
    let failure: { queue: string; error: unknown } | undefined;
    for (const queue of this.params.queues) {
      if (this.stopped) break;
      try {
        await this.recoverExpired(queue, cutoffMs, tally);
        await this.recoverUnleased(queue, tally);
        await this.reclaimAggregationSets(queue);
      } catch (error) {
        failure ??= { queue, error };
      }
    }
    this.reportHealth(failure);
    return tally.written;
  }

  /**
   * Aggregation sets (wire-format §4.22): those past their deadline go back into their group (and the
   * group into `groups`); finished ones (their task written, score +inf) lose their remaining members.
   */
  private async reclaimAggregationSets(queue: string): Promise<void> {
    const aggregation = this.params.aggregation;
    if (aggregation === undefined) return;
    const { broker, pageSize } = aggregation;
    const reclaimed = await broker.reclaimStaleAggregationSets(queue, this.params.clock.now());
    if (reclaimed > 0) {
      this.logger.info(
        `recoverer: put the tasks of ${reclaimed} stale aggregation set(s) of queue "${queue}" back into their group`,
        { queue, count: reclaimed, operation: "reclaim" },
      );
    }
    for (const setKey of await broker.listFinishedAggregationSets(queue)) {
      if (this.stopped) return;
      const deleted = await purgeAggregationSet(broker, queue, setKey, pageSize);
      this.logger.info(
        `recoverer: deleted ${deleted} aggregated task(s) left in finished aggregation set ${setKey}`,
        { queue, key: setKey, count: deleted, operation: "reclaim" },
      );
    }
  }

  /**
   * Tasks whose lease ran out at or before the cutoff, in batches. Written tasks leave the lease
   * zset and skipped ones stay, so the offset counts the skipped; one whose lease was extended
   * leaves the range too, and the offset then passes over one task, which the next run finds.
   */
  private async recoverExpired(queue: string, cutoffMs: number, tally: { written: number }): Promise<void> {
    const guard: LeaseGuard = { kind: "expired", cutoffMs };
    for (let offset = 0; !this.stopped;) {
      const batch = await this.params.broker.listLeaseExpired(queue, cutoffMs, offset, BATCH);
      for (const candidate of batch) {
        if (await this.settle(queue, candidate, guard, "lease-expired")) tally.written++;
        else offset++;
      }
      if (batch.length < BATCH) break;
    }
  }

  /** Active tasks without a lease: remembered when first seen, recovered once `grace` has passed. */
  private async recoverUnleased(queue: string, tally: { written: number }): Promise<void> {
    const ids = await this.params.broker.listUnleased(queue);
    const now = this.params.clock.now();
    const before = this.unleased.get(queue) ?? new Map<string, number>();
    // Only IDs seen now are kept, so the map never outgrows the active list.
    const seen = new Map(ids.map((id) => [id, before.get(id) ?? now]));
    this.unleased.set(queue, seen);
    const fresh = ids.filter((id) => !before.has(id));
    if (fresh.length > 0) {
      this.logger.info(
        `recoverer: ${fresh.length} task(s) in active without a lease in queue "${queue}" ` +
          `(e.g. "${fresh[0]}"); recovering them in ${this.grace} ms unless they get one`,
        { queue, count: fresh.length, taskId: fresh[0], reason: "no-lease", delayMs: this.grace },
      );
    }
    const due = ids.filter((id) => now - seen.get(id)! >= this.grace);
    for (let i = 0; i < due.length && !this.stopped; i += BATCH) {
      const chunk = due.slice(i, i + BATCH);
      const msgs = await this.params.broker.readMessages(queue, chunk);
      for (const [k, id] of chunk.entries()) {
        const candidate = { id, msg: msgs[k] ?? null };
        if (await this.settle(queue, candidate, { kind: "unleased" }, "no-lease")) {
          tally.written++;
          seen.delete(id);
        }
      }
    }
  }

  /** Writes one task's outcome; false when its guard no longer held (nothing written). */
  private async settle(
    queue: string,
    candidate: RecoveryCandidate,
    guard: LeaseGuard,
    found: RecoveredTask["found"],
  ): Promise<boolean> {
    const { id } = candidate;
    const decoded = decode(candidate.msg);
    if (typeof decoded === "string") return this.quarantine(queue, id, guard, found, decoded);
    const now = this.params.clock.now();
    const plan = this.plan(decoded, id, now);
    const { broker } = this.params;
    const result =
      plan.action === "retry"
        ? await broker.recoverRetry({
            queue,
            id,
            msg: plan.msg,
            retryAtMs: plan.retryAt,
            counted: plan.isFailure,
            nowMs: now,
            guard,
          })
        : await broker.recoverArchive({
            queue,
            id,
            msg: plan.msg,
            nowMs: now,
            guard,
            expired: plan.action === "expire",
          });
    if (result === "skipped") {
      this.logger.debug(`recoverer: task "${id}" in queue "${queue}" changed meanwhile; left alone`, {
        queue,
        taskId: id,
        outcome: "skipped",
      });
      return false;
    }
    const at = plan.action === "retry" ? `retry at ${iso(plan.retryAt)}` : plan.action;
    const { msg } = plan;
    this.logger.info(`recoverer: task "${id}" in queue "${queue}" (${found}): ${at}`, {
      queue,
      taskId: id,
      type: msg.type,
      attempt: decoded.retried + 1, // the attempt its lease ran out in

      maxAttempts: msg.retry + 1,
      outcome: OUTCOME[plan.action],
      reason: found,
      ...(plan.action === "retry" ? { retryAt: iso(plan.retryAt), retryInMs: plan.retryAt - now } : {}),
      error: msg.errorMsg,
    });
    this.notify({ queue, id, type: msg.type, found, action: plan.action });
    return true;
  }

  /** Archives a task whose msg is unreadable as it is, or removes a dangling ID; logs either. */
  private async quarantine(
    queue: string,
    id: string,
    guard: LeaseGuard,
    found: RecoveredTask["found"],
    reason: string,
  ): Promise<boolean> {
    const result = await this.params.broker.recoverQuarantine({
      queue,
      id,
      nowMs: this.params.clock.now(),
      guard,
    });
    const { logger } = this;
    if (result === "skipped") {
      logger.debug(`recoverer: task "${id}" in queue "${queue}" changed meanwhile; left alone`, {
        queue,
        taskId: id,
        outcome: "skipped",
      });
      return false;
    }
    if (result === "removed") {
      logger.warn(`recoverer: removed task ID "${id}" of queue "${queue}" from active: it has no task data`, {
        queue,
        taskId: id,
        outcome: "removed",
        reason: found,
      });
    } else {
      logger.warn(`recoverer: archived task "${id}" of queue "${queue}" as it is: ${reason}`, {
        queue,
        taskId: id,
        outcome: "quarantined",
        reason: found,
        error: reason,
      });
    }
    this.notify({ queue, id, found, action: result === "removed" ? "remove" : "quarantine" });
    return true;
  }

  /**
   * asynq's decision (wire-format §5.8): archive once retries are exhausted, else retry after
   * retryDelay(retried, LeaseExpiredError); a retry at or past the deadline archives the task as
   * expired instead (docs/compatibility.md P5).
   */
  private plan(msg: TaskMessage, id: string, now: number): Plan {
    const error = new LeaseExpiredError();
    const lastFailedAt = BigInt(unixSeconds(now));
    if (msg.retried >= msg.retry) {
      return { action: "archive", msg: { ...msg, errorMsg: error.message, lastFailedAt } };
    }
    const isFailure = this.isFailure(error, id);
    const retryAt = now + this.retryDelay(msg, error);
    if (msg.deadline > 0n && retryAt >= Number(msg.deadline) * 1000) {
      const errorMsg =
        `task expired: deadline ${iso(Number(msg.deadline) * 1000)} passes before the next retry at ` +
        `${iso(retryAt)}; last error: ${error.message}`;
      return { action: "expire", msg: { ...msg, errorMsg, lastFailedAt } };
    }
    const retried = isFailure ? msg.retried + 1 : msg.retried;
    return {
      action: "retry",
      msg: { ...msg, retried, errorMsg: error.message, lastFailedAt },
      retryAt,
      isFailure,
    };
  }

  /** The user's isFailure; if it throws, a failure (and that is logged), as in the processor. */
  private isFailure(error: Error, id: string): boolean {
    try {
      return this.params.isFailure(error);
    } catch (thrown) {
      this.logger.error(`isFailure threw for task "${id}" (${errorMessage(thrown)}); counting a failure`, {
        taskId: id,
        error: errorMessage(thrown),
      });
      return true;
    }
  }

  /** The user's retryDelay; 15 s when it throws or returns a bad value (logged), as in the processor. */
  private retryDelay(msg: TaskMessage, error: Error): number {
    const task = { type: msg.type, payload: msg.payload, headers: msg.headers };
    try {
      const delay = this.params.retryDelay(msg.retried, error, task);
      if (typeof delay === "number" && Number.isFinite(delay) && delay >= 0) return delay;
      this.logger.error(`retryDelay returned ${String(delay)}; retrying task "${msg.id}" in 15 s`, {
        queue: msg.queue,
        taskId: msg.id,
        type: msg.type,
        delayMs: FALLBACK_DELAY_MS,
        error: `retryDelay returned ${String(delay)}`,
      });
    } catch (thrown) {
      this.logger.error(`retryDelay threw (${errorMessage(thrown)}); retrying task "${msg.id}" in 15 s`, {
        queue: msg.queue,
        taskId: msg.id,
        type: msg.type,
        delayMs: FALLBACK_DELAY_MS,
        error: errorMessage(thrown),
      });
    }
    return FALLBACK_DELAY_MS;
  }

  private notify(task: RecoveredTask): void {
    try {
      this.params.onRecovered?.(task);
    } catch (thrown) {
      this.logger.error(`recoverer: onRecovered threw: ${errorMessage(thrown)}`, {
        queue: task.queue,
        taskId: task.id,
        error: errorMessage(thrown),
      });
    }
  }

  /** Logs a failed run at warn once per outage (then at debug), and the end of the outage at info. */
  private reportHealth(failure: { queue: string; error: unknown } | undefined): void {
    const { logger } = this;
    if (failure === undefined) {
      if (this.failing)
        logger.info("recoverer: Redis answers again; recovering tasks", { operation: "recover" });
      this.failing = false;
      return;
    }
    const text =
      `recoverer: could not recover tasks of queue "${failure.queue}": ` +
      `${errorMessage(failure.error)}; next try in ${this.interval} ms`;
    const fields = {
      queue: failure.queue,
      operation: "recover",
      error: errorMessage(failure.error),
      delayMs: this.interval,
    };
    if (this.failing) logger.debug(text, fields);
    else logger.warn(text, fields);
    this.failing = true;
  }
}

/** The `outcome` log field of each recovery action. */
const OUTCOME: Record<Plan["action"], string> = { retry: "retry", archive: "archived", expire: "expired" };

/** The decoded msg, or why it cannot be read. */
function decode(bytes: Uint8Array | null): TaskMessage | string {
  if (bytes === null) return "it has no msg";
  try {
    return decodeTaskMessage(bytes);
  } catch (error) {
    return `its msg cannot be decoded (${errorMessage(error)})`;
  }
}

/** ISO-8601 of an instant, or the raw number when it is beyond what a Date holds. */
function iso(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? `${ms} ms` : date.toISOString();
}
