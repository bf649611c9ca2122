// Runs one dequeued task as a pipeline of small steps: decode, check expiry, run the handler under
// its deadline, then settle the outcome (outcomes.ts). Also tracks what is running, for shutdown.
import type { DequeuedTask, ProcessorPort } from "../broker/ports.js";
import { DEFAULTS } from "../defaults.js";
import { AsynqError, TaskAbortedError, ValidationError, type AbortReason } from "../errors.js";
import { encodePayload } from "../client/payload.js";
import { errorMessage, toError } from "../internal/errors.js";
import type { TaskMessage } from "../wire/messages.js";
import { decodeTaskMessage } from "../wire/proto.js";
import type { ResolvedServerConfig } from "./config.js";
import { progressJson, type ResultValue, type ResultWriter, type TaskContext } from "./context.js";
import { DeadlineWatcher } from "./deadlines.js";
import type { Handler, HandlerTask } from "./mux.js";
import type { Finisher } from "./finisher.js";
import { Outcomes } from "./outcomes.js";
import { taskFields } from "./attempt-log.js";
import { NO_EVENTS, taskEvent, type EventHub, type TaskActiveEvent } from "./events.js";

/** A task this server is working on. */
export interface RunningTask {
  readonly id: string;
  readonly queue: string;
  readonly msg: TaskMessage;
  /** The message bytes as dequeued: the fencing token of every write about this attempt. */
  readonly raw: Uint8Array;
  readonly startedAt: number;
  /** When this attempt is cut short (ms since the epoch). */
  readonly deadline: number;
  /**
   * When this server's lease on the task runs out (ms). The heartbeater extends it; once it has
   * passed, the task may be recovered by any server, so this one must not write its outcome.
   */
  leaseExpiresAt: number;
  /** `handler` while the handler runs; `settling` while its outcome is written. */
  phase: "handler" | "settling";
  /** Why the attempt was cut short (timeout, deadline, cancelation, shutdown, lost lease); set once. */
  aborted: TaskAbortedError | undefined;
  /**
   * The handler's AbortController, created when the handler first reads `ctx.signal` (most never
   * do: building one per task cost a busy worker ~10% of its CPU).
   */
  controller: AbortController | undefined;
  /** Ends the handler race when the attempt is aborted. */
  onAbort: (() => void) | undefined;
  /** What cuts the attempt short at `deadline`: its own deadline, or its timeout. */
  readonly deadlineReason: AbortReason;
  /** Gives the task's slot back to its lane; called once (see {@link Executor.start}). */
  release: (() => void) | undefined;
}

/** How a handler run ended. */
interface HandlerOutcome {
  failed: boolean;
  error?: unknown;
}
const SUCCEEDED: HandlerOutcome = { failed: false };

/** Starts tasks, tracks them, and drains them at shutdown. */
export class Executor {
  private readonly tasks = new Map<string, RunningTask>();
  private readonly outcomes: Outcomes;
  private readonly deadlines: DeadlineWatcher<RunningTask>;
  /** Resolves drain()'s wait once no task is left. */
  private emptied: (() => void) | undefined;

  constructor(
    private readonly broker: ProcessorPort,
    private readonly config: ResolvedServerConfig,
    private readonly handler: Handler,
    finisher: Finisher,
    private readonly events: EventHub = NO_EVENTS,
  ) {
    this.outcomes = new Outcomes(broker, config, finisher, events);
    this.deadlines = new DeadlineWatcher(
      () => config.clock.now(),
      (task) => abortTask(task, task.deadlineReason),
    );
  }

  /** Number of tasks on this server: running a handler or writing an outcome. */
  get running(): number {
    return this.tasks.size;
  }

  /** The tasks running now. */
  runningTasks(): IterableIterator<RunningTask> {
    return this.tasks.values();
  }

  /** Aborts a running task's signal; false if this server is not running it. */
  abort(id: string, reason: AbortReason): boolean {
    const task = this.tasks.get(id);
    if (task === undefined) return false;
    abortTask(task, reason);
    return true;
  }

  /**
   * Starts processing a dequeued task; never throws (every failure ends in a defined state).
   * `release` is called once when the task no longer needs its slot: when its handler succeeded
   * and its success write is handed over (written with the next dequeue), else when it has left.
   */
  start(dequeued: DequeuedTask, release: () => void): void {
    const msg = this.decode(dequeued);
    if (msg === undefined) return release();
    const now = this.config.clock.now();
    const deadline = attemptDeadline(msg, now);
    const task: RunningTask = {
      id: dequeued.id,
      queue: dequeued.queue,
      msg,
      raw: dequeued.msg!,
      startedAt: now,
      deadline,
      leaseExpiresAt: dequeued.leaseExpiresAt,
      phase: "handler",
      aborted: undefined,
      controller: undefined,
      onAbort: undefined,
      deadlineReason: msg.deadline > 0n && Number(msg.deadline) * 1000 <= deadline ? "deadline" : "timeout",
      release,
    };
    this.tasks.set(task.id, task);
    if (this.events.count.active > 0) {
      const event: TaskActiveEvent = taskEvent(task);
      if (dequeued.pendingSince !== undefined) event.wait = Math.max(0, now - dequeued.pendingSince);
      this.events.emit("active", event);
    }
    // One promise per task beyond the attempt's own: what settles it ends it, error or not.
    this.process(task).then(
      () => this.leave(task),
      (error: unknown) => {
        this.config.logger.error(`task "${task.id}" failed to settle: ${errorMessage(error)}`, {
          queue: task.queue,
          taskId: task.id,
          type: msg.type,
          error: errorMessage(error),
        });
        if (this.events.count.error > 0) {
          this.events.emit("error", {
            error: toError(error, "settle"),
            operation: "settle",
            id: task.id,
            queue: task.queue,
          });
        }
        this.leave(task);
      },
    );
  }

  /** Stops tracking a task that has left this server, and gives its slot back if not yet done. */
  private leave(task: RunningTask): void {
    this.tasks.delete(task.id);
    releaseSlot(task);
    if (this.tasks.size === 0) this.emptied?.();
  }

  /** Cancels every deadline timer (the processor's shutdown, once the drain is over). */
  clearDeadlines(): void {
    this.deadlines.clear();
  }

  /**
   * Waits up to `timeoutMs` for running tasks; then puts each task whose handler is still running
   * back at the front of its queue and aborts its signal (wire-format §5.9), and says so. Outcomes
   * being written get {@link DRAIN_GRACE_MS} more (Redis may be away); what is still unwritten then is
   * left to the recoverer, and no write retries past the drain.
   */
  async drain(timeoutMs: number): Promise<void> {
    // Tasks only leave once the processor stops: waiting for none to be left is waiting for these.
    const all = (): Promise<boolean> =>
      this.tasks.size === 0
        ? Promise.resolve(true)
        : new Promise<boolean>((resolve) => (this.emptied = () => resolve(true)));
    if (!(await raceTimeout(all(), timeoutMs))) {
      const cut = [...this.tasks.values()].filter((task) => task.phase === "handler");
      for (const task of cut) abortTask(task, "shutdown");
      if (cut.length > 0) this.reportCut(cut, timeoutMs);
      if (!(await raceTimeout(all(), DRAIN_GRACE_MS))) {
        this.config.logger.error(
          `${this.tasks.size} task outcome(s) could not be written before shutdown; the recoverer will handle them`,
          { count: this.tasks.size, timeoutMs: DRAIN_GRACE_MS },
        );
      }
    }
    this.outcomes.closing = true;
  }

  /**
   * One line for the tasks a shutdown cut off (their IDs at debug). JavaScript cannot stop a
   * promise: a handler that ignores its signal goes on running in the background while its task,
   * back in its queue, is taken again, here or by another server.
   */
  private reportCut(cut: readonly RunningTask[], timeoutMs: number): void {
    const { logger } = this.config;
    logger.warn(
      `shutdown: ${cut.length} task(s) still running after shutdownTimeout (${timeoutMs} ms) go back to the ` +
        "front of their queues and will run again; their signals are aborted, and a handler that ignores " +
        "its signal keeps running in the background until it returns (a sandboxed one is terminated)",
      { count: cut.length, timeoutMs, aborted: "shutdown" },
    );
    logger.debug(`shutdown: tasks cut off: ${cut.map((t) => `${t.queue}/${t.id}`).join(", ")}`, {
      count: cut.length,
      taskIds: cut.map((t) => t.id),
    });
  }

  /** Decodes the message; a task that cannot be read is moved aside (archived as it is) and logged. */
  private decode(dequeued: DequeuedTask): TaskMessage | undefined {
    let problem: string;
    try {
      if (dequeued.msg === null) throw new Error("the task hash has no msg field");
      const msg = decodeTaskMessage(dequeued.msg);
      if (msg.id === dequeued.id && msg.queue === dequeued.queue) return msg;
      problem = `its message names task "${msg.id}" in queue "${msg.queue}"`;
    } catch (error) {
      problem = errorMessage(error);
    }
    const { id, queue } = dequeued;
    this.config.logger.error(
      `task "${id}" in queue "${queue}" is corrupt and was archived unread: ${problem}`,
      {
        queue,
        taskId: id,
        outcome: "quarantined",
        error: problem,
      },
    );
    this.broker.quarantine(queue, id, this.config.clock.now()).catch((error: unknown) => {
      this.config.logger.error(
        `cannot archive corrupt task "${id}" in queue "${queue}": ${errorMessage(error)}`,
        {
          queue,
          taskId: id,
          operation: "quarantine",
          error: errorMessage(error),
        },
      );
      if (this.events.count.error > 0) {
        this.events.emit("error", {
          error: toError(error, "quarantine"),
          operation: "quarantine",
          id,
          queue,
        });
      }
    });
    return undefined;
  }

  private async process(task: RunningTask): Promise<unknown> {
    const { msg } = task;
    if (msg.deadline > 0n && task.startedAt >= Number(msg.deadline) * 1000) {
      task.phase = "settling";
      return this.outcomes.expired(task);
    }
    const watch = this.deadlines.add(task.deadline, task);
    let outcome: HandlerOutcome;
    try {
      outcome = await this.runHandler(task);
    } finally {
      this.deadlines.remove(watch);
    }
    task.phase = "settling";
    const abortReason = task.aborted?.reason;
    if (abortReason === "shutdown") return this.outcomes.requeue(task);
    if (abortReason === "lease-lost" || this.config.clock.now() > task.leaseExpiresAt) {
      // Another server may already have recovered the task: writing now could apply it twice.
      const result = outcome.failed ? `failed: ${errorMessage(outcome.error)}` : "succeeded";
      this.config.logger.warn(
        `task "${task.id}" in queue "${task.queue}" lost its lease; its attempt ${result}, but its outcome is ` +
          "left to the recoverer (another server may have taken the task over)",
        {
          ...taskFields(task),
          aborted: "lease-lost",
          ...(outcome.failed ? { error: errorMessage(outcome.error) } : {}),
        },
      );
      return;
    }
    // phase is "settling" from here: a late result write fails instead of racing the outcome.
    if (outcome.failed) return this.outcomes.failure(task, outcome.error);
    // The success write is queued synchronously by success(): the slot can take the next task,
    // whose dequeue carries this write.
    const written = this.outcomes.success(task);
    releaseSlot(task);
    if (this.events.count.completed > 0) {
      this.events.emit("completed", {
        ...taskEvent(task),
        duration: this.config.clock.now() - task.startedAt,
      });
    }
    return written;
  }

  /**
   * Runs the handler; settles at the first of: the handler settling, the task being aborted. A
   * handler that returns no promise (or throws) settles it at once, without a race.
   */
  private runHandler(task: RunningTask): HandlerOutcome | Promise<HandlerOutcome> {
    if (task.aborted !== undefined) return { error: task.aborted, failed: true };
    const handlerTask: HandlerTask = {
      type: task.msg.type,
      payload: task.msg.payload,
      headers: task.msg.headers,
    };
    let running: unknown;
    try {
      running = this.handler(handlerTask, new AttemptContext(task, this));
    } catch (error) {
      return { error, failed: true };
    }
    if (!isThenable(running)) return SUCCEEDED;
    return new Promise<HandlerOutcome>((resolve) => {
      const end = (outcome: HandlerOutcome): void => {
        task.onAbort = undefined;
        resolve(outcome);
      };
      task.onAbort = () => end({ error: task.aborted, failed: true });
      try {
        running.then(
          () => end(SUCCEEDED),
          (error: unknown) => end({ error, failed: true }),
        );
      } catch (error) {
        // A thenable whose `then` throws: the handler failed.
        end({ error, failed: true });
      }
    });
  }

  /** Stores the progress of `task` (its context's `progress`). */
  async writeProgress(task: RunningTask, value: unknown): Promise<void> {
    const over = (): AsynqError =>
      new AsynqError("ERR_PROGRESS_AFTER_DONE", "failed to report progress: the task is no longer running", {
        op: "ctx.progress",
      });
    if (task.aborted !== undefined || task.phase !== "handler") throw over();
    const json = progressJson(value);
    if ((await this.broker.writeProgress(task.queue, task.id, json, task.raw)) === "not-active") throw over();
  }

  /** Writes a result for the handler of `task` (its context's `result.write`). */
  async writeResult(task: RunningTask, value: ResultValue): Promise<number> {
    if (task.aborted !== undefined || task.phase !== "handler") {
      throw new AsynqError(
        "ERR_RESULT_AFTER_DONE",
        "failed to write task result: the task is no longer running",
        {
          op: "result.write",
        },
      );
    }
    const bytes = encodePayload(value, "result");
    if (bytes === undefined) throw new ValidationError("result", value, "a result value is required");
    if ((await this.broker.writeResult(task.queue, task.id, bytes)) === "not-found") {
      throw new AsynqError(
        "ERR_RESULT_AFTER_DONE",
        "failed to write task result: the task no longer exists",
        {
          op: "result.write",
        },
      );
    }
    return bytes.length;
  }
}

/** Resolves true when `promise` settles within `ms`, false otherwise. */
/** How long outcome writes may still take once a shutdown has cut its running tasks off. */
const DRAIN_GRACE_MS = 1000;

async function raceTimeout(promise: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The deadline of one attempt (wire-format §5.4): start + timeout, capped by the task's deadline. */
function attemptDeadline(msg: TaskMessage, now: number): number {
  const timeout = Number(msg.timeout) * 1000;
  const deadline = Number(msg.deadline) * 1000;
  // Both: Go's min(now_unix_s + T, D), in whole seconds.
  if (timeout > 0 && deadline > 0) return Math.min(Math.floor(now / 1000) * 1000 + timeout, deadline);
  if (timeout > 0) return now + timeout;
  if (deadline > 0) return deadline;
  // asynq's fallback when a task has neither timeout nor deadline (wire-format §5.4).
  return now + DEFAULTS.enqueue.timeout;
}

/** Aborts the attempt once: records why, aborts its signal if the handler has one, ends the handler race. */
function abortTask(task: RunningTask, reason: AbortReason): void {
  if (task.aborted !== undefined) return;
  const error = new TaskAbortedError(reason, task.id);
  task.aborted = error;
  task.controller?.abort(error);
  task.onAbort?.();
}

/** Gives the task's slot back to its lane, once. */
function releaseSlot(task: RunningTask): void {
  const release = task.release;
  if (release === undefined) return;
  task.release = undefined;
  release();
}

/** True for a promise, or anything with a `then` method (a handler may return any thenable). */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/** The TaskContext of one attempt; its signal, deadline and result writer are built on first read. */
class AttemptContext implements TaskContext {
  readonly id: string;
  readonly queue: string;
  readonly retryCount: number;
  readonly maxRetry: number;
  private date: Date | undefined;
  private writer: ResultWriter | undefined;

  constructor(
    private readonly task: RunningTask,
    private readonly executor: Executor,
  ) {
    this.id = task.id;
    this.queue = task.queue;
    this.retryCount = task.msg.retried;
    this.maxRetry = task.msg.retry;
  }

  get result(): ResultWriter {
    return (this.writer ??= { write: (value) => this.executor.writeResult(this.task, value) });
  }

  get deadline(): Date {
    return (this.date ??= new Date(this.task.deadline));
  }

  progress(value: unknown): Promise<void> {
    return this.executor.writeProgress(this.task, value);
  }

  get signal(): AbortSignal {
    const { task } = this;
    if (task.controller === undefined) {
      task.controller = new AbortController();
      if (task.aborted !== undefined) task.controller.abort(task.aborted);
    }
    return task.controller.signal;
  }
}
