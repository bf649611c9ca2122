// The processor: keeps up to `concurrency` tasks running. Each turn of its loop takes as many tasks
// as there are free slots (one dequeue call per chosen queue), starts them, and when every queue is
// empty waits for a wake-up (a new task, a freed slot, the poll interval, or stop).
import type { Broker, DequeuedTask } from "../broker/broker.js";
import type { ResolvedServerConfig } from "./config.js";
import { DeadlineWatcher } from "./deadlines.js";
import { Executor, type RunningTask } from "./executor.js";
import type { AbortReason } from "./context.js";
import type { Handler } from "./mux.js";
import { QueueOrder } from "./queue-order.js";

/** Longest back-off after consecutive Redis errors while fetching (no busy loop while Redis is away). */
const MAX_ERROR_BACKOFF_MS = 5000;

/** Runs the fetch loop and the tasks it starts. Shape shared by every server component. */
export class Processor {
  private readonly order: QueueOrder;
  private readonly executor: Executor;
  private readonly deadlines: DeadlineWatcher;
  private loop: Promise<void> | undefined;
  private stopped = false;
  /** Resolves the loop's current wait early (new capacity, stop). */
  private wake: (() => void) | undefined;
  private errorStreak = 0;
  /** Queues found paused by the last fetch: not waited on (their pending list is not empty). */
  private readonly paused = new Set<string>();

  constructor(
    private readonly broker: Broker,
    private readonly config: ResolvedServerConfig,
    handler: Handler,
  ) {
    this.order = new QueueOrder({ queues: config.queues, strictPriority: config.strictPriority });
    this.deadlines = new DeadlineWatcher(() => config.clock.now());
    this.executor = new Executor(broker, config, handler, this.deadlines, () => this.wake?.());
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

  start(): void {
    if (this.loop !== undefined) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Stops taking new tasks; running tasks go on. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  /**
   * Stops taking tasks, waits up to `shutdownTimeout` for the running ones, then puts the rest back
   * at the front of their queues (spec §5.9) and aborts their signals.
   */
  async shutdown(): Promise<void> {
    await this.stop();
    await this.executor.drain(this.config.shutdownTimeout);
    this.deadlines.clear();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const free = this.config.concurrency - this.executor.running;
      if (free <= 0) {
        await this.sleep(this.config.pollInterval);
        continue;
      }
      let tasks: DequeuedTask[];
      try {
        tasks = await this.fetch(free);
        this.errorStreak = 0;
      } catch (error) {
        this.errorStreak++;
        const backoff = Math.min(MAX_ERROR_BACKOFF_MS, 100 * 2 ** Math.min(this.errorStreak, 6));
        this.config.logger.error(`cannot dequeue tasks (retrying in ${backoff} ms): ${String(error)}`);
        await this.sleep(backoff);
        continue;
      }
      for (const task of tasks) this.executor.start(task);
      if (tasks.length === 0 && !this.stopped) await this.idle();
    }
  }

  /**
   * Takes up to `free` tasks. Each free slot picks its first queue by the priority rule; queues are
   * asked for their share in parallel; a shortfall is then filled from the other queues in order.
   * A failing queue is logged and skipped, so it neither blocks the others nor loses what they
   * returned; only when every queue fails does the fetch throw (and the loop backs off).
   */
  private async fetch(free: number): Promise<DequeuedTask[]> {
    const shares = new Map<string, number>();
    for (let i = 0; i < free; i++) {
      const first = this.order.next()[0]!;
      shares.set(first, (shares.get(first) ?? 0) + 1);
    }
    const exhausted = new Set<string>();
    const failures: unknown[] = [];
    const taken: DequeuedTask[] = [];
    this.paused.clear();
    const take = async (queue: string, max: number): Promise<void> => {
      try {
        const leaseUntil = this.config.clock.now() + this.config.leaseDuration;
        const result = await this.broker.dequeue(queue, max, leaseUntil);
        await this.refreshLeases(queue, result.tasks, leaseUntil);
        for (const id of result.dangling) {
          this.config.logger.warn(
            `dropped task ID "${id}" from queue "${queue}": it was pending but had no task data`,
          );
        }
        if (result.paused) this.paused.add(queue);
        if (result.tasks.length < max) exhausted.add(queue);
        taken.push(...result.tasks);
      } catch (error) {
        exhausted.add(queue);
        failures.push(error);
        this.config.logger.error(`cannot dequeue from queue "${queue}": ${String(error)}`);
      }
    };
    await Promise.all([...shares].map(([queue, max]) => take(queue, max)));
    for (const queue of this.order.next()) {
      if (this.stopped || taken.length >= free) break;
      if (!exhausted.has(queue)) await take(queue, free - taken.length);
    }
    if (taken.length === 0 && failures.length > 0 && failures.length >= exhausted.size) throw failures[0];
    return taken;
  }

  /**
   * A dequeue that waited out a Redis outage may come back with leases that have (nearly) run out:
   * extend them before the tasks start, so they are not lost at once to "lease expired".
   */
  private async refreshLeases(queue: string, tasks: DequeuedTask[], leaseUntil: number): Promise<void> {
    const now = this.config.clock.now();
    if (tasks.length === 0 || now < leaseUntil - this.config.leaseDuration / 2) return;
    const extended = now + this.config.leaseDuration;
    try {
      await this.broker.extendLease(
        queue,
        tasks.map((t) => t.id),
        extended,
      );
      for (const task of tasks) task.leaseExpiresAt = Math.floor(extended / 1000) * 1000;
    } catch (error) {
      this.config.logger.warn(`cannot extend the leases of just-dequeued tasks: ${String(error)}`);
    }
  }

  /** Waits until a queue may have work: a new pending task, the poll interval, or stop. */
  private async idle(): Promise<void> {
    const queues = Object.keys(this.config.queues).filter((q) => !this.paused.has(q));
    const interval = this.config.pollInterval;
    if (queues.length === 0) return this.sleep(interval);
    let wakeUp: () => void = () => {};
    const woken = new Promise<void>((resolve) => (wakeUp = resolve));
    this.wake = wakeUp;
    const timer = setTimeout(wakeUp, interval);
    // A blocking wait on the pending lists answers within milliseconds of a push, from any producer.
    this.broker.waitForPending(queues, interval).then(wakeUp, (error: unknown) => {
      if (!this.stopped) this.config.logger.debug(`wait for pending tasks failed: ${String(error)}`);
    });
    await woken;
    clearTimeout(timer);
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
