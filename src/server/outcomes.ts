// Settles a task's attempt in Redis: success (delete or keep as completed), retry with backoff,
// archive (retries exhausted, SkipRetry, expired), revoke, requeue at shutdown (wire-format §5.5).
import { inspect } from "node:util";
import type { Broker, LifecycleResult } from "../broker/broker.js";
import { AsynqError, RevokeTask, SkipRetry } from "../errors.js";
import type { TaskMessage } from "../wire/messages.js";
import type { ResolvedServerConfig } from "./config.js";
import type { RunningTask } from "./executor.js";
import type { Finisher } from "./finisher.js";
import type { HandlerTask } from "./mux.js";

/** A task whose deadline passed before it could start, or would pass before its next retry. */
export class TaskExpiredError extends AsynqError {
  constructor(
    message: string,
    readonly deadline: Date,
    options?: { cause?: unknown },
  ) {
    super("ERR_TASK_EXPIRED", message, { op: "server.process", ...options });
  }
}

/** Longest pause between two tries of an outcome write while Redis is away. */
const SYNC_MAX_BACKOFF_MS = 2000;

/** How often, at most, a queue's archive is trimmed after an archive write. */
const TRIM_INTERVAL_MS = 1000;

/** Writes outcomes through the broker. */
export class Outcomes {
  private readonly lastTrim = new Map<string, number>();
  /** Set at shutdown: a failing write gets no further tries. */
  closing = false;

  constructor(
    private readonly broker: Broker,
    private readonly config: ResolvedServerConfig,
    private readonly finisher: Finisher,
  ) {}

  /** The handler succeeded: delete the task, or keep it as completed for its retention. */
  async success(task: RunningTask): Promise<void> {
    const now = this.config.clock.now();
    const { msg } = task;
    if (msg.retention > 0n) {
      const completedAt = BigInt(Math.floor(now / 1000));
      const updated = { ...msg, completedAt };
      const expiry = Number(completedAt + msg.retention);
      return this.report(task, "complete", () =>
        this.broker.markComplete(task.queue, task.id, updated, now, expiry, task.raw),
      );
    }
    // Batched: written with the next dequeue of the queue (or a flush one event-loop turn later).
    return this.report(task, "done", () =>
      this.finisher.finish(task.queue, { id: task.id, uniqueKey: msg.uniqueKey, fence: task.raw }),
    );
  }

  /** The handler failed: revoke, archive, or retry with backoff, after telling the error handler. */
  async failure(task: RunningTask, thrown: unknown): Promise<void> {
    const error = toError(thrown);
    const { msg } = task;
    await this.notify(error, task);
    const now = this.config.clock.now();
    if (wraps(error, RevokeTask)) {
      return this.report(task, "revoke", () =>
        this.broker.done(task.queue, task.id, msg.uniqueKey, now, task.raw),
      );
    }
    if (wraps(error, SkipRetry) || msg.retried >= msg.retry) return this.archive(task, error.message, now);
    const failed = this.isFailure(error, task);
    const retryAt = now + this.retryDelay(msg, error);
    if (msg.deadline > 0n && retryAt >= Number(msg.deadline) * 1000) {
      // Retrying would only meet an expired deadline: stop here (asynq burns every retry instead).
      const deadline = new Date(Number(msg.deadline) * 1000);
      const text =
        `task expired: deadline ${deadline.toISOString()} passes before the next retry at ` +
        `${new Date(retryAt).toISOString()}; last error: ${error.message}`;
      await this.notify(new TaskExpiredError(text, deadline, { cause: error }), task);
      return this.archive(task, text, now);
    }
    const updated: TaskMessage = {
      ...msg,
      retried: failed ? msg.retried + 1 : msg.retried,
      errorMsg: utf8Safe(error.message),
      lastFailedAt: BigInt(Math.floor(now / 1000)),
    };
    return this.report(task, "retry", () =>
      this.broker.retry(task.queue, task.id, updated, retryAt, failed, now, task.raw),
    );
  }

  /** The deadline passed before the task started: archive or delete it; never retry it. */
  async expired(task: RunningTask): Promise<void> {
    const deadline = new Date(Number(task.msg.deadline) * 1000);
    const text = `task expired: deadline ${deadline.toISOString()} passed before processing`;
    await this.notify(new TaskExpiredError(text, deadline), task);
    const now = this.config.clock.now();
    if (this.config.onExpired === "delete") {
      return this.report(task, "delete expired", () =>
        this.broker.deleteActive(task.queue, task.id, task.msg.uniqueKey, now, task.raw),
      );
    }
    return this.archive(task, text, now);
  }

  /** Shutdown came first: put the task back at the front of its queue, unchanged. */
  async requeue(task: RunningTask): Promise<void> {
    return this.report(task, "requeue", () => this.broker.requeue(task.queue, task.id, task.raw));
  }

  private async archive(task: RunningTask, errorText: string, now: number): Promise<void> {
    const updated: TaskMessage = {
      ...task.msg,
      errorMsg: utf8Safe(errorText),
      lastFailedAt: BigInt(Math.floor(now / 1000)),
    };
    await this.report(task, "archive", () =>
      this.broker.archive(task.queue, task.id, updated, now, task.raw),
    );
    await this.trim(task.queue, now);
  }

  /** Keeps the archive within its limits; at most once a second per queue. */
  private async trim(queue: string, now: number): Promise<void> {
    if (now - (this.lastTrim.get(queue) ?? -Infinity) < TRIM_INTERVAL_MS) return;
    this.lastTrim.set(queue, now);
    try {
      await this.broker.trimArchive(queue, now, this.config.archiveMaxSize, this.config.archiveMaxAge);
    } catch (error) {
      this.config.logger.warn(`cannot trim the archive of queue "${queue}": ${String(error)}`);
    }
  }

  /** The user's isFailure; if it throws, the error counts as a failure (and that is logged). */
  private isFailure(error: Error, task: RunningTask): boolean {
    try {
      return this.config.isFailure(error);
    } catch (thrown) {
      this.config.logger.error(
        `isFailure threw for task "${task.id}" (${String(thrown)}); counting a failure`,
      );
      return true;
    }
  }

  private retryDelay(msg: TaskMessage, error: Error): number {
    const task: HandlerTask = { type: msg.type, payload: msg.payload, headers: msg.headers };
    try {
      const delay = this.config.retryDelay(msg.retried, error, task);
      if (typeof delay === "number" && Number.isFinite(delay) && delay >= 0) return delay;
      this.config.logger.error(`retryDelay returned ${String(delay)}; retrying task "${msg.id}" in 15 s`);
    } catch (thrown) {
      this.config.logger.error(`retryDelay threw (${String(thrown)}); retrying task "${msg.id}" in 15 s`);
    }
    return 15_000;
  }

  /** Calls the user's error handler; its own failures are logged, never propagated. */
  private async notify(error: Error, task: RunningTask): Promise<void> {
    const handler = this.config.errorHandler;
    if (handler === undefined) {
      this.config.logger.debug(`task "${task.id}" (${task.msg.type}) failed: ${error.message}`);
      return;
    }
    const { msg } = task;
    try {
      await handler(
        error,
        { type: msg.type, payload: msg.payload, headers: msg.headers },
        { id: task.id, queue: task.queue, retried: msg.retried, maxRetry: msg.retry },
      );
    } catch (thrown) {
      this.config.logger.error(`errorHandler threw for task "${task.id}": ${String(thrown)}`);
    }
  }

  /**
   * Writes an outcome. A write that fails (Redis away, a failover) is tried again with back-off
   * until the task's lease runs out (the syncer of asynq); after that the recoverer takes over. The
   * writes are fenced by the dequeued message, so a retry can never apply twice.
   */
  private async report(
    task: RunningTask,
    what: string,
    write: () => Promise<LifecycleResult>,
  ): Promise<void> {
    let result: LifecycleResult;
    for (let attempt = 0; ; attempt++) {
      try {
        result = await write();
        break;
      } catch (error) {
        if (this.closing || this.config.clock.now() >= task.leaseExpiresAt) {
          this.config.logger.error(
            `cannot ${what} task "${task.id}" in queue "${task.queue}" (${String(error)}); ` +
              "its lease will run out and the recoverer will retry it",
          );
          return;
        }
        if (attempt === 0)
          this.config.logger.warn(`cannot ${what} task "${task.id}" yet, retrying: ${String(error)}`);
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(200 * 2 ** attempt, SYNC_MAX_BACKOFF_MS)),
        );
      }
    }
    if (result === "not-active") {
      this.config.logger.warn(
        `task "${task.id}" in queue "${task.queue}" was no longer active (recovered or deleted); ${what} skipped`,
      );
    }
  }
}

/** An Error for anything a handler threw or rejected with. */
function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (thrown === undefined) return new Error("handler failed with undefined");
  let text: string | undefined;
  try {
    text = typeof thrown === "string" ? thrown : JSON.stringify(thrown);
  } catch {
    text = undefined; // a BigInt or a circular value
  }
  text ??= inspect(thrown, { depth: 3, breakLength: Infinity });
  return new Error(`handler failed with a non-Error value: ${text}`, { cause: thrown });
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
