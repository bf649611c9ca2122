// Runs one dequeued task as a pipeline of small steps: decode, check expiry, run the handler under
// its deadline, then settle the outcome (outcomes.ts). Also tracks what is running, for shutdown.
import type { DequeuedTask, ProcessorPort } from "../broker/ports.js";
import { DEFAULTS } from "../defaults.js";
import { AsynqError, TaskAbortedError, ValidationError, type AbortReason } from "../errors.js";
import { encodePayload } from "../client/payload.js";
import { errorMessage } from "../internal/errors.js";
import type { TaskMessage } from "../wire/messages.js";
import { decodeTaskMessage } from "../wire/proto.js";
import type { ResolvedServerConfig } from "./config.js";
import type { ResultValue, ResultWriter, TaskContext } from "./context.js";
import type { DeadlineWatcher } from "./deadlines.js";
import type { Handler, HandlerTask } from "./mux.js";
import type { Finisher } from "./finisher.js";
import { Outcomes } from "./outcomes.js";
import { taskFields } from "./attempt-log.js";

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
  /** Settles when the task has left this server (outcome written, or requeued). */
  readonly finished: Promise<void>;
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

  constructor(
    private readonly broker: ProcessorPort,
    private readonly config: ResolvedServerConfig,
    private readonly handler: Handler,
    private readonly deadlines: DeadlineWatcher,
    finisher: Finisher,
  ) {
    this.outcomes = new Outcomes(broker, config, finisher);
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
    let finish: () => void = () => {};
    const task: RunningTask = {
      id: dequeued.id,
      queue: dequeued.queue,
      msg,
      raw: dequeued.msg!,
      startedAt: now,
      deadline: attemptDeadline(msg, now),
      leaseExpiresAt: dequeued.leaseExpiresAt,
      phase: "handler",
      aborted: undefined,
      controller: undefined,
      onAbort: undefined,
      finished: new Promise<void>((resolve) => (finish = resolve)),
    };
    this.tasks.set(task.id, task);
    let released = false;
    const releaseOnce = (): void => {
      if (released) return;
      released = true;
      release();
    };
    this.process(task, releaseOnce)
      .catch((error: unknown) =>
        this.config.logger.error(`task "${task.id}" failed to settle: ${errorMessage(error)}`, {
          queue: task.queue,
          taskId: task.id,
          type: msg.type,
          error: errorMessage(error),
        }),
      )
      .finally(() => {
        this.tasks.delete(task.id);
        finish();
        releaseOnce();
      });
  }

  /**
   * Waits up to `timeoutMs` for running tasks; then puts each task whose handler is still running
   * back at the front of its queue and aborts its signal (wire-format §5.9), and says so. Outcomes
   * being written get {@link DRAIN_GRACE_MS} more (Redis may be away); what is still unwritten then is
   * left to the recoverer, and no write retries past the drain.
   */
  async drain(timeoutMs: number): Promise<void> {
    const all = () => Promise.all([...this.tasks.values()].map((t) => t.finished)).then(() => true);
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
        "its signal keeps running in the background until it returns",
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
    this.broker.quarantine(queue, id, this.config.clock.now()).catch((error: unknown) =>
      this.config.logger.error(
        `cannot archive corrupt task "${id}" in queue "${queue}": ${errorMessage(error)}`,
        {
          queue,
          taskId: id,
          operation: "quarantine",
          error: errorMessage(error),
        },
      ),
    );
    return undefined;
  }

  private async process(task: RunningTask, release: () => void): Promise<void> {
    const { msg } = task;
    if (msg.deadline > 0n && task.startedAt >= Number(msg.deadline) * 1000) {
      task.phase = "settling";
      return this.outcomes.expired(task);
    }
    const reason: AbortReason =
      msg.deadline > 0n && Number(msg.deadline) * 1000 <= task.deadline ? "deadline" : "timeout";
    const unwatch = this.deadlines.add(task.deadline, () => abortTask(task, reason));
    let outcome: HandlerOutcome;
    try {
      outcome = await this.runHandler(task);
    } finally {
      unwatch();
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
    release();
    return written;
  }

  /** Runs the handler; settles at the first of: the handler settling, the task being aborted. */
  private runHandler(task: RunningTask): Promise<HandlerOutcome> {
    if (task.aborted !== undefined) return Promise.resolve({ error: task.aborted, failed: true });
    const handlerTask: HandlerTask = {
      type: task.msg.type,
      payload: task.msg.payload,
      headers: task.msg.headers,
    };
    const ctx = new AttemptContext(task, (value) => this.writeResult(task, value));
    return new Promise((resolve) => {
      task.onAbort = () => resolve({ error: task.aborted, failed: true });
      let running: unknown;
      try {
        running = this.handler(handlerTask, ctx);
      } catch (error) {
        resolve({ error, failed: true });
        return;
      }
      Promise.resolve(running).then(
        () => resolve(SUCCEEDED),
        (error: unknown) => resolve({ error, failed: true }),
      );
    }).finally(() => (task.onAbort = undefined)) as Promise<HandlerOutcome>;
  }

  private async writeResult(task: RunningTask, value: ResultValue): Promise<number> {
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

/** The TaskContext of one attempt; its signal and deadline are built on first read. */
class AttemptContext implements TaskContext {
  readonly id: string;
  readonly queue: string;
  readonly retryCount: number;
  readonly maxRetry: number;
  readonly result: ResultWriter;
  private date: Date | undefined;

  constructor(
    private readonly task: RunningTask,
    write: (value: ResultValue) => Promise<number>,
  ) {
    this.id = task.id;
    this.queue = task.queue;
    this.retryCount = task.msg.retried;
    this.maxRetry = task.msg.retry;
    this.result = { write };
  }

  get deadline(): Date {
    return (this.date ??= new Date(this.task.deadline));
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
