// The processor: keeps up to `concurrency` tasks running. Its slots are split among a few lanes; each
// lane's loop takes as many tasks as it has free slots (one dequeue call per chosen queue, which also
// writes the successes finished since the last one), starts them, and when every queue is empty
// waits for a wake-up (a new task, a freed slot, the poll interval, or stop). Two lanes keep a busy
// worker's Node process and Redis working at the same time: one lane's call is in Redis while the
// other lane's tasks run (at concurrency 100 in bench/: 48.5k tasks/s with two lanes, 37.8k with one).
// A queue whose dequeue keeps failing (a key of the wrong type, say) is backed off on its own
// (queue-backoff.ts), so the other queues keep being served and the log gets one line per step.
import type { DequeuedTask, ProcessorPort } from "../broker/ports.js";
import { errorMessage } from "../internal/errors.js";
import { componentLogger, type Logger } from "../internal/logger.js";
import type { ResolvedServerConfig } from "./config.js";
import { fail, Finisher, settle, type PendingFinish } from "./finisher.js";
import { Executor, type RunningTask } from "./executor.js";
import { NO_EVENTS, type EventHub } from "./events.js";
import type { AbortReason } from "../errors.js";
import type { Handler } from "./mux.js";
import { QueueBackoff } from "./queue-backoff.js";
import { QueueOrder } from "./queue-order.js";

/** Runs the fetch loops (lanes) and the tasks they start. Shape shared by every server component. */
export class Processor {
  private readonly order: QueueOrder;
  private readonly executor: Executor;
  private readonly finisher: Finisher;
  private readonly lanes: Lane[];
  private loops: Promise<void> | undefined;
  private halted = false;
  /** The processor's log lines, with `component: "processor"`. */
  readonly logger: Logger;
  /** Queues whose dequeue keeps failing, shared by the lanes. */
  readonly backoff: QueueBackoff;
  /** The queue, when the server serves only one. */
  readonly onlyQueue: string | undefined;

  constructor(
    readonly broker: ProcessorPort,
    readonly config: ResolvedServerConfig,
    handler: Handler,
    readonly events: EventHub = NO_EVENTS,
  ) {
    this.logger = componentLogger(config.logger, "processor");
    this.backoff = new QueueBackoff({
      logger: this.logger,
      operation: "dequeue",
      cannot: (queue) => `cannot dequeue from queue "${queue}"`,
      // The fetch loop would spin on a failing call: even a lost connection pauses it, up to 5 s.
      otherErrorMaxMs: 5000,
    });
    this.order = new QueueOrder({ queues: config.queues, strictPriority: config.strictPriority });
    const names = Object.keys(config.queues);
    this.onlyQueue = names.length === 1 ? names[0] : undefined;
    this.finisher = new Finisher(broker, () => config.clock.now());
    this.executor = new Executor(broker, { ...config, logger: this.logger }, handler, this.finisher, events);
    const count = config.concurrency >= MIN_SLOTS_PER_LANE * 2 ? 2 : 1;
    this.lanes = Array.from(
      { length: count },
      (_, i) =>
        new Lane(this, Math.floor(config.concurrency / count) + (i < config.concurrency % count ? 1 : 0)),
    );
  }

  /** Number of tasks running now. */
  get running(): number {
    return this.executor.running;
  }

  /** The tasks running now (for heartbeats). */
  runningTasks(): IterableIterator<RunningTask> {
    return this.executor.runningTasks();
  }

  /** Aborts a running task's signal; false if this server is not running it. */
  abort(id: string, reason: AbortReason): boolean {
    return this.executor.abort(id, reason);
  }

  /** True once stop() was called: the lanes take no more tasks. */
  get stopped(): boolean {
    return this.halted;
  }

  start(): void {
    if (this.loops !== undefined) return;
    this.halted = false;
    this.loops = Promise.all(this.lanes.map((lane) => lane.run())).then(() => undefined);
  }

  /** Stops taking new tasks; running tasks go on. */
  async stop(): Promise<void> {
    this.halted = true;
    for (const lane of this.lanes) lane.wakeUp();
    await this.loops;
  }

  /**
   * Stops taking tasks, waits up to `shutdownTimeout` for the running ones, then puts the rest back
   * at the front of their queues (wire-format §5.9) and aborts their signals.
   */
  async shutdown(): Promise<void> {
    // shutdownTimeout counts from now, not from the end of the fetch loops: while Redis is away a
    // loop waits on its dequeue, and the running tasks must not wait with it.
    const stopped = this.stop();
    await this.executor.drain(this.config.shutdownTimeout);
    this.executor.clearDeadlines();
    await stopped;
  }

  /**
   * The queues to ask now, in the order the priority rule gives for the next slot (its queue
   * first); queues backed off after failures are left out.
   */
  nextQueues(): string[] {
    return this.backoff.ready(this.order.next());
  }

  /** Starts a task; `release` gives its slot back to the lane that claimed it. */
  startTask(task: DequeuedTask, release: () => void): void {
    this.executor.start(task, release);
  }

  /** The successes waiting to be written for `queue`, for a dequeue to carry. */
  takeFinished(queue: string): PendingFinish[] {
    return this.finisher.take(queue);
  }
}

/** Lanes get at least this many slots; fewer slots make one lane. */
const MIN_SLOTS_PER_LANE = 8;

/** One fetch loop over a share of the processor's slots. */
class Lane {
  /** Slots in use: tasks started by this lane that have not released theirs. */
  private busy = 0;
  /** Resolves the loop's current wait early (new capacity, stop). */
  private wake: (() => void) | undefined;
  /** Queues found paused by the last fetch: not waited on (their pending list is not empty). */
  private readonly paused = new Set<string>();
  private readonly release = (): void => {
    this.busy--;
    this.wakeUp();
  };

  constructor(
    private readonly processor: Processor,
    private readonly slots: number,
  ) {}

  wakeUp(): void {
    this.wake?.();
  }

  async run(): Promise<void> {
    const { processor } = this;
    const { config } = processor;
    while (!processor.stopped) {
      const free = this.slots - this.busy;
      if (free <= 0) {
        // Only a released slot or stop() changes anything here: no timer (it would be one per task).
        await this.wakeUpCall();
        // While other tasks still run, let every task that finishes in this turn of the event loop
        // release its slot first, so the next dequeue claims for all of them and carries all their
        // success writes.
        if (this.busy > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      let tasks: DequeuedTask[];
      try {
        tasks = await this.fetch(free);
      } catch (error) {
        // fetch() handles Redis errors per queue; this is a bug's last line of defence, not a busy loop.
        processor.logger.error(
          `fetch loop failed (retrying in ${config.pollInterval} ms): ${errorMessage(error)}`,
          {
            error: errorMessage(error),
            delayMs: config.pollInterval,
          },
        );
        await this.sleep(config.pollInterval);
        continue;
      }
      for (const task of tasks) {
        this.busy++;
        processor.startTask(task, this.release);
      }
      if (tasks.length === 0 && !processor.stopped) await this.idle();
    }
  }

  /**
   * Takes up to `free` tasks. Each free slot picks its first queue by the priority rule; queues are
   * asked for their share in parallel; a shortfall is then filled from the other queues in order.
   * Each dequeue also carries the successes waiting to be written for its queue.
   * A failing queue is backed off (and logged once per back-off step) and skipped, so it neither
   * blocks the others nor loses what they returned. Never throws.
   */
  private async fetch(free: number): Promise<DequeuedTask[]> {
    const { processor } = this;
    this.paused.clear();
    const only = processor.onlyQueue;
    if (only !== undefined) {
      // One queue (the common case): no shares to work out.
      if (processor.backoff.blocked(only)) return [];
      return (await this.take(only, free)) ?? [];
    }
    const shares = new Map<string, number>();
    for (let i = 0; i < free; i++) {
      const first = processor.nextQueues()[0];
      if (first === undefined) break; // every queue is backed off
      shares.set(first, (shares.get(first) ?? 0) + 1);
    }
    const exhausted = new Set<string>();
    const taken: DequeuedTask[] = [];
    const takeShare = async (queue: string, max: number): Promise<void> => {
      const tasks = await this.take(queue, max);
      if (tasks === undefined || tasks.length < max) exhausted.add(queue);
      if (tasks !== undefined) taken.push(...tasks);
    };
    await Promise.all([...shares].map(([queue, max]) => takeShare(queue, max)));
    for (const queue of processor.nextQueues()) {
      if (processor.stopped || taken.length >= free) break;
      if (!exhausted.has(queue)) await takeShare(queue, free - taken.length);
    }
    return taken;
  }

  /**
   * One dequeue of up to `max` tasks from `queue`, carrying the queue's waiting success writes.
   * Returns undefined when it failed (the queue is backed off). Never throws.
   */
  private async take(queue: string, max: number): Promise<DequeuedTask[] | undefined> {
    const { processor } = this;
    const { config, broker, backoff, logger } = processor;
    const finished = processor.takeFinished(queue);
    try {
      const now = config.clock.now();
      const leaseUntil = now + config.leaseDuration;
      const result = await broker.dequeue({
        queue,
        max,
        leaseExpiresAtMs: leaseUntil,
        finished: finished.length === 0 ? [] : finished.map((f) => f.task),
        nowMs: now,
        // Wait times are read only for `active` listeners (the metrics' wait-time histogram).
        withPendingSince: processor.events.count.active > 0,
      });
      if (finished.length > 0) settle(finished, result.finished);
      backoff.succeeded(queue);
      // Half the lease gone already: the call waited out a Redis outage.
      if (result.tasks.length > 0 && config.clock.now() >= leaseUntil - config.leaseDuration / 2)
        await this.refreshLeases(queue, result.tasks);
      for (const id of result.dangling) {
        logger.warn(`dropped task ID "${id}" from queue "${queue}": it was pending but had no task data`, {
          queue,
          taskId: id,
          outcome: "removed",
        });
      }
      if (result.paused) this.paused.add(queue);
      return result.tasks;
    } catch (error) {
      fail(finished, error);
      backoff.failed(queue, error);
      return undefined;
    }
  }

  /**
   * A dequeue that waited out a Redis outage may come back with leases that have (nearly) run out:
   * extend them before the tasks start, so they are not lost at once to "lease expired".
   */
  private async refreshLeases(queue: string, tasks: DequeuedTask[]): Promise<void> {
    const { config, broker } = this.processor;
    const extended = config.clock.now() + config.leaseDuration;
    try {
      await broker.extendLease(
        queue,
        tasks.map((t) => t.id),
        extended,
      );
      for (const task of tasks) task.leaseExpiresAt = Math.floor(extended / 1000) * 1000;
    } catch (error) {
      this.processor.logger.warn(
        `cannot extend the leases of ${tasks.length} just-dequeued task(s) of queue "${queue}": ${errorMessage(error)}`,
        { queue, count: tasks.length, operation: "extend lease", error: errorMessage(error) },
      );
    }
  }

  /**
   * Waits until a queue may have work: a new pending task, the poll interval, the end of a queue's
   * back-off, or stop. Backed-off queues are not waited on (a wrong-type pending key would fail the
   * blocking wait at once, and with it the wake-ups of every other queue).
   */
  private async idle(): Promise<void> {
    const { config, broker, backoff, logger } = this.processor;
    const queues = backoff.ready(Object.keys(config.queues).filter((q) => !this.paused.has(q)));
    const interval = Math.min(config.pollInterval, backoff.msUntilNextTry() ?? Infinity);
    if (queues.length === 0) return this.sleep(interval);
    let wakeUp: () => void = () => {};
    const woken = new Promise<void>((resolve) => (wakeUp = resolve));
    this.wake = wakeUp;
    const timer = setTimeout(wakeUp, interval);
    // A blocking wait on the pending lists answers within milliseconds of a push, from any producer.
    broker.waitForPending(queues, interval).then(wakeUp, (error: unknown) => {
      if (!this.processor.stopped) {
        logger.debug(`wait for pending tasks failed: ${errorMessage(error)}`, {
          operation: "wait for pending",
          error: errorMessage(error),
        });
      }
    });
    await woken;
    clearTimeout(timer);
    this.wake = undefined;
  }

  /** Resolves at the next wakeUp() (a released slot, stop). */
  private async wakeUpCall(): Promise<void> {
    await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = undefined;
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }
}
