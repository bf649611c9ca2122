// Settles a task's attempt in Redis: success (delete or keep as completed), retry with backoff,
// archive (retries exhausted, SkipRetry, expired), revoke, requeue at shutdown (wire-format §5.5).
import type { ActiveOutcome, ProcessorPort } from "../broker/ports.js";
import { RevokeTask, SkipRetry, TaskExpiredError, TaskNotFoundError } from "../errors.js";
import { errorMessage, toError } from "../internal/errors.js";
import type { LogFields } from "../internal/logger.js";
import type { TaskMessage } from "../wire/messages.js";
import type { ResolvedServerConfig } from "./config.js";
import { logAttemptFailure, taskFields } from "./attempt-log.js";
import type { RunningTask } from "./executor.js";
import { NO_EVENTS, taskEvent, type EventHub, type TaskFailedEvent } from "./events.js";
import type { Finisher } from "./finisher.js";
import type { HandlerTask } from "./mux.js";

// Declared with every other error in src/errors.ts.
export { TaskExpiredError } from "../errors.js";

/** Longest pause between two tries of an outcome write while Redis is away. */
const SYNC_MAX_BACKOFF_MS = 2000;

/** How often, at most, a queue's archive is trimmed after an archive write. */
const TRIM_INTERVAL_MS = 1000;

/**
 * The state a write leaves the task in, to confirm that a write whose reply was lost did apply:
 * null when it deletes the task.
 */
const STATE_AFTER: Record<string, string | null> = {
  done: null,
  revoke: null,
  "delete expired": null,
  complete: "completed",
  retry: "retry",
  archive: "archived",
  requeue: "pending",
};

/** Writes outcomes through the broker. */
export class Outcomes {
  private readonly lastTrim = new Map<string, number>();
  /** Set at shutdown: a failing write gets no further tries. */
  closing = false;

  constructor(
    private readonly broker: ProcessorPort,
    private readonly config: ResolvedServerConfig,
    private readonly finisher: Finisher,
    private readonly events: EventHub = NO_EVENTS,
  ) {}

  /** The handler succeeded: delete the task, or keep it as completed for its retention. */
  success(task: RunningTask): Promise<boolean> {
    const now = this.config.clock.now();
    const { msg } = task;
    if (msg.retention > 0n) {
      const completedAt = BigInt(Math.floor(now / 1000));
      const updated = { ...msg, completedAt };
      const expiry = Number(completedAt + msg.retention);
      return this.writeOutcome(task, "complete", () =>
        this.broker.markComplete({
          queue: task.queue,
          id: task.id,
          msg: updated,
          nowMs: now,
          expirySeconds: expiry,
          fence: task.raw,
        }),
      );
    }
    // Batched: written with the next dequeue of the queue (or a flush one event-loop turn later).
    return this.writeOutcome(task, "done", () =>
      this.finisher.finish(task.queue, { id: task.id, uniqueKey: msg.uniqueKey, fence: task.raw }),
    );
  }

  /**
   * The handler failed: revoke, archive, or retry with backoff, after telling the error handler.
   * Each failed attempt is logged once, at warn (info for a revoke or an error `isFailure` does not
   * count), with what happens to the task next.
   */
  async failure(task: RunningTask, thrown: unknown): Promise<void> {
    const error = toError(thrown, "handler");
    const { msg } = task;
    const now = this.config.clock.now();
    const retryAt = now + this.retryDelay(msg, error);
    const expires =
      !wraps(error, RevokeTask) &&
      !wraps(error, SkipRetry) &&
      msg.retried < msg.retry &&
      msg.deadline > 0n &&
      retryAt >= Number(msg.deadline) * 1000;
    // The error handler hears of each failed attempt once: when the retry would land past the
    // deadline, as the TaskExpiredError that ends the task (its cause is the handler's error).
    if (!expires) await this.notify(error, task);
    if (wraps(error, RevokeTask)) {
      logAttemptFailure(this.config.logger, task, error, { outcome: "revoked" }, now);
      if (this.events.count.failed > 0) this.failedEvent(task, error, now, "revoked");
      return this.report(task, "revoke", () =>
        this.broker.done({
          queue: task.queue,
          id: task.id,
          uniqueKey: msg.uniqueKey,
          nowMs: now,
          fence: task.raw,
          revoked: true,
        }),
      );
    }
    if (wraps(error, SkipRetry) || msg.retried >= msg.retry) {
      const reason = wraps(error, SkipRetry) ? "skip-retry" : "retries-exhausted";
      logAttemptFailure(this.config.logger, task, error, { outcome: "archived", reason }, now);
      if (this.events.count.failed > 0) this.failedEvent(task, error, now, "archived");
      if (this.events.count.archived > 0) {
        this.events.emit("archived", { ...taskEvent(task), duration: now - task.startedAt, error, reason });
      }
      return this.archive(task, error.message, now, "failed");
    }
    const failed = this.isFailure(error, task);
    if (expires) {
      // Retrying would only meet an expired deadline: stop here (asynq burns every retry instead).
      const deadline = new Date(Number(msg.deadline) * 1000);
      const text =
        `task expired: deadline ${deadline.toISOString()} passes before the next retry at ` +
        `${new Date(retryAt).toISOString()}; last error: ${error.message}`;
      logAttemptFailure(this.config.logger, task, error, { outcome: "expired", deadline, retryAt }, now);
      if (this.events.count.failed > 0) this.failedEvent(task, error, now, "expired");
      if (this.events.count.expired > 0) {
        this.events.emit("expired", {
          ...taskEvent(task),
          duration: now - task.startedAt,
          deadline,
          beforeStart: false,
        });
      }
      await this.notify(new TaskExpiredError(text, deadline, { cause: error }), task);
      return this.archive(task, text, now, "failed-expired");
    }
    logAttemptFailure(this.config.logger, task, error, { outcome: "retry", retryAt, counted: failed }, now);
    if (this.events.count.failed > 0) this.failedEvent(task, error, now, "retry");
    if (this.events.count.retry > 0) {
      this.events.emit("retry", { ...taskEvent(task), duration: now - task.startedAt, error, retryAt });
    }
    const updated: TaskMessage = {
      ...msg,
      retried: failed ? msg.retried + 1 : msg.retried,
      errorMsg: utf8Safe(error.message),
      lastFailedAt: BigInt(Math.floor(now / 1000)),
    };
    return this.report(task, "retry", () =>
      this.broker.retry({
        queue: task.queue,
        id: task.id,
        msg: updated,
        retryAtMs: retryAt,
        counted: failed,
        nowMs: now,
        fence: task.raw,
      }),
    );
  }

  /** The deadline passed before the task started: archive or delete it; never retry it. */
  async expired(task: RunningTask): Promise<void> {
    const deadline = new Date(Number(task.msg.deadline) * 1000);
    const text = `task expired: deadline ${deadline.toISOString()} passed before processing`;
    const deleted = this.config.onExpired === "delete";
    this.config.logger.warn(
      `task expired: ${task.msg.type} "${task.id}" in queue "${task.queue}" could not start before its ` +
        `deadline ${deadline.toISOString()}; ${deleted ? "deleted" : "archived"}, not retried`,
      {
        ...taskFields(task),
        outcome: "expired",
        reason: "deadline",
        deadline: deadline.toISOString(),
        error: text,
      },
    );
    await this.notify(new TaskExpiredError(text, deadline), task);
    const now = this.config.clock.now();
    if (this.events.count.expired > 0) {
      this.events.emit("expired", { ...taskEvent(task), duration: 0, deadline, beforeStart: true });
    }
    if (deleted) {
      return this.report(task, "delete expired", () =>
        this.broker.deleteActive({
          queue: task.queue,
          id: task.id,
          uniqueKey: task.msg.uniqueKey,
          nowMs: now,
          fence: task.raw,
          errorMsg: text,
        }),
      );
    }
    return this.archive(task, text, now, "unstarted-expired");
  }

  /** Shutdown came first: put the task back at the front of its queue, unchanged. */
  async requeue(task: RunningTask): Promise<void> {
    const written = await this.writeOutcome(task, "requeue", () =>
      this.broker.requeue(task.queue, task.id, task.raw),
    );
    if (!written) return;
    // One summary line per shutdown comes from the executor's drain; this one names the task.
    this.config.logger.debug(
      `task requeued: ${task.msg.type} "${task.id}" in queue "${task.queue}" was still running at ` +
        "shutdown; back at the front of its queue (not counted as a failure)",
      { ...taskFields(task), outcome: "requeued", aborted: "shutdown" },
    );
  }

  /**
   * Archives the task with `errorText`. `why` is for the event stream: after a failed attempt, its
   * deadline passing before the next retry, or its deadline passed before it could start.
   */
  private async archive(
    task: RunningTask,
    errorText: string,
    now: number,
    why: "failed" | "failed-expired" | "unstarted-expired",
  ): Promise<void> {
    const updated: TaskMessage = {
      ...task.msg,
      errorMsg: utf8Safe(errorText),
      lastFailedAt: BigInt(Math.floor(now / 1000)),
    };
    await this.report(task, "archive", () =>
      this.broker.archive({
        queue: task.queue,
        id: task.id,
        msg: updated,
        nowMs: now,
        fence: task.raw,
        expired: why !== "failed",
        unstarted: why === "unstarted-expired",
      }),
    );
    await this.trim(task.queue, now);
  }

  /** Emits the `failed` event of an attempt (callers check that someone listens). */
  private failedEvent(task: RunningTask, error: Error, now: number, next: TaskFailedEvent["next"]): void {
    this.events.emit("failed", { ...taskEvent(task), duration: now - task.startedAt, error, next });
  }

  /** Keeps the archive within its limits; at most once a second per queue. */
  private async trim(queue: string, now: number): Promise<void> {
    if (now - (this.lastTrim.get(queue) ?? -Infinity) < TRIM_INTERVAL_MS) return;
    this.lastTrim.set(queue, now);
    try {
      await this.broker.trimArchive({
        queue,
        nowMs: now,
        maxSize: this.config.archiveMaxSize,
        maxAgeMs: this.config.archiveMaxAge,
      });
    } catch (error) {
      this.config.logger.warn(`cannot trim the archive of queue "${queue}": ${errorMessage(error)}`, {
        queue,
        operation: "trim archive",
        error: errorMessage(error),
      });
    }
  }

  /** The user's isFailure; if it throws, the error counts as a failure (and that is logged). */
  private isFailure(error: Error, task: RunningTask): boolean {
    try {
      return this.config.isFailure(error);
    } catch (thrown) {
      this.config.logger.error(
        `isFailure threw for task "${task.id}" (${errorMessage(thrown)}); counting a failure`,
        { ...taskFields(task), error: errorMessage(thrown) },
      );
      return true;
    }
  }

  private retryDelay(msg: TaskMessage, error: Error): number {
    const task: HandlerTask = { type: msg.type, payload: msg.payload, headers: msg.headers };
    const fields = { queue: msg.queue, taskId: msg.id, type: msg.type, delayMs: 15_000 };
    try {
      const delay = this.config.retryDelay(msg.retried, error, task);
      if (typeof delay === "number" && Number.isFinite(delay) && delay >= 0) return delay;
      this.config.logger.error(`retryDelay returned ${String(delay)}; retrying task "${msg.id}" in 15 s`, {
        ...fields,
        error: `retryDelay returned ${String(delay)}`,
      });
    } catch (thrown) {
      this.config.logger.error(
        `retryDelay threw (${errorMessage(thrown)}); retrying task "${msg.id}" in 15 s`,
        {
          ...fields,
          error: errorMessage(thrown),
        },
      );
    }
    return 15_000;
  }

  /** Calls the user's error handler; its own failures are logged, never propagated. */
  private async notify(error: Error, task: RunningTask): Promise<void> {
    const handler = this.config.errorHandler;
    if (handler === undefined) return;
    const { msg } = task;
    try {
      await handler(
        error,
        { type: msg.type, payload: msg.payload, headers: msg.headers },
        { id: task.id, queue: task.queue, retried: msg.retried, maxRetry: msg.retry },
      );
    } catch (thrown) {
      this.config.logger.error(`errorHandler threw for task "${task.id}": ${errorMessage(thrown)}`, {
        ...taskFields(task),
        error: errorMessage(thrown),
      });
    }
  }

  /**
   * Writes an outcome. A write that fails (Redis away, a failover) is tried again with back-off
   * until the task's lease runs out (the syncer of asynq); after that the recoverer takes over. The
   * writes are fenced by the dequeued message, so a retry can never apply twice.
   * @returns true when the write applied (now, or before its reply was lost).
   */
  private async writeOutcome(
    task: RunningTask,
    what: string,
    write: () => Promise<ActiveOutcome>,
  ): Promise<boolean> {
    const drops = this.broker.connectionDrops();
    let result: ActiveOutcome;
    let attempt = 0;
    for (; ; attempt++) {
      try {
        result = await write();
        break;
      } catch (error) {
        if (this.closing || this.config.clock.now() >= task.leaseExpiresAt) {
          this.config.logger.error(
            `cannot ${what} task "${task.id}" in queue "${task.queue}" (${errorMessage(error)}); ` +
              "its lease will run out and the recoverer will retry it",
            { ...outcomeFields(task, what), error: errorMessage(error) },
          );
          if (this.events.count.error > 0) {
            this.events.emit("error", {
              error: toError(error, what),
              operation: `${what} task`,
              id: task.id,
              queue: task.queue,
            });
          }
          return false;
        }
        if (attempt === 0)
          this.config.logger.warn(`cannot ${what} task "${task.id}" yet, retrying: ${errorMessage(error)}`, {
            ...outcomeFields(task, what),
            error: errorMessage(error),
          });
        // Unref'd: a write still retrying must not keep a process alive that is shutting down
        // (the recoverer takes the task over through its lease).
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(200 * 2 ** attempt, SYNC_MAX_BACKOFF_MS)).unref(),
        );
      }
    }
    if (result !== "not-active") return true;
    // A write whose reply was lost (an earlier try failed, or the connection dropped while it was in
    // flight and ioredis sent it again) may have applied: then this answer is the write meeting its
    // own result. Only a task in another state than the write leaves it in was truly skipped.
    const inDoubt = attempt > 0 || this.broker.connectionDrops() !== drops;
    if (inDoubt && (await this.applied(task, what))) {
      this.config.logger.debug(
        `${what} of task "${task.id}" in queue "${task.queue}" had applied before its reply was lost to a ` +
          "dropped connection; nothing more to write",
        { ...outcomeFields(task, what), outcome: "applied" },
      );
      return true;
    }
    this.config.logger.warn(
      `task "${task.id}" in queue "${task.queue}" was no longer active (recovered or deleted); ${what} skipped`,
      { ...outcomeFields(task, what), outcome: "skipped" },
    );
    return false;
  }

  /** {@link writeOutcome}, for callers that only wait for it. */
  private async report(task: RunningTask, what: string, write: () => Promise<ActiveOutcome>): Promise<void> {
    await this.writeOutcome(task, what, write);
  }

  /** Whether the task is in the state `what` leaves it in (gone, for a delete); false when unknown. */
  private async applied(task: RunningTask, what: string): Promise<boolean> {
    const expected = STATE_AFTER[what];
    if (expected === undefined) return false;
    try {
      const record = await this.broker.getTaskRecord(task.queue, task.id);
      return record.state === expected;
    } catch (error) {
      return expected === null && error instanceof TaskNotFoundError;
    }
  }
}

/** Log fields of an outcome write (built only to log: a success, the common case, logs nothing). */
function outcomeFields(task: RunningTask, what: string): LogFields {
  return { ...taskFields(task), operation: what };
}

/** True if `error` is, or wraps through `cause`, an instance of `kind` (as Go's errors.Is). */
function wraps(error: unknown, kind: abstract new (...args: never[]) => Error): boolean {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 16; depth++) {
    if (e instanceof kind) return true;
    e = e instanceof Error ? e.cause : undefined;
  }
  return false;
}

/** Go cannot decode a string that is not valid UTF-8 (wire-format §2.6): replace lone surrogates. */
function utf8Safe(text: string): string {
  return text.toWellFormed();
}
