// The janitor: deletes completed tasks whose retention ran out and keeps every archive within its limits.
import type { JanitorPort } from "../broker/ports.js";
import { Periodic } from "./periodic.js";
import type { Clock } from "../internal/clock.js";
import { errorMessage } from "../internal/errors.js";
import { componentLogger, type Logger } from "../internal/logger.js";

/** Parameters of a {@link Janitor}, resolved by the server config (src/server/config.ts). Durations are milliseconds. */
export interface JanitorParams {
  broker: JanitorPort;
  clock: Clock;
  logger: Logger;
  /** Queues to clean. */
  queues: readonly string[];
  /** Time between the end of a run and the start of the next (`janitorInterval`). */
  interval: number;
  /** Completed tasks deleted per script call (`janitorBatchSize`). */
  batchSize: number;
  /** Most archived tasks kept per queue (`archive.maxSize`). */
  archiveMaxSize: number;
  /** How long an archived task is kept (`archive.maxAge`). */
  archiveMaxAge: number;
}

/** What one janitor run deleted. */
export interface JanitorRun {
  /** Completed tasks whose retention ran out. */
  completed: number;
  /** Archived tasks beyond the archive limits. */
  archived: number;
}

/**
 * Every `interval`, for each queue, deletes the completed tasks whose retention ran out and trims
 * the archive to `archiveMaxSize` / `archiveMaxAge` (also archives written by Go servers or the
 * inspector). A queue that fails is logged (once per outage at error level) and skipped; the next
 * run happens on schedule.
 */
export class Janitor {
  private readonly broker: JanitorPort;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly queues: readonly string[];
  private readonly interval: number;
  private readonly batchSize: number;
  private readonly archiveMaxSize: number;
  private readonly archiveMaxAge: number;
  private failing = false;
  private readonly loop = new Periodic<JanitorRun>(
    () => this.clean(),
    () => this.interval,
  );

  constructor(params: JanitorParams) {
    this.broker = params.broker;
    this.clock = params.clock;
    this.logger = componentLogger(params.logger, "janitor");
    this.queues = Object.freeze([...params.queues]);
    this.interval = params.interval;
    this.batchSize = params.batchSize;
    this.archiveMaxSize = params.archiveMaxSize;
    this.archiveMaxAge = params.archiveMaxAge;
  }

  /** Starts cleaning; the first run is after one interval (as asynq's). */
  start(): void {
    this.loop.start();
  }

  /** Stops the timer and waits for a run in progress. */
  async shutdown(): Promise<void> {
    await this.loop.stop();
  }

  /**
   * Runs once now (joining the run in progress, if any). Failures are logged, never thrown.
   * @returns what was deleted (queues that failed count 0).
   */
  runOnce(): Promise<JanitorRun> {
    return this.loop.runOnce();
  }

  private async clean(): Promise<JanitorRun> {
    const total: JanitorRun = { completed: 0, archived: 0 };
    const failures: Array<{ queue: string; error: string }> = [];
    for (const queue of this.queues) {
      try {
        const nowMs = this.clock.now();
        total.completed += await this.broker.deleteExpiredCompleted(queue, nowMs, this.batchSize);
        total.archived += await this.broker.trimArchive({
          queue,
          nowMs,
          maxSize: this.archiveMaxSize,
          maxAgeMs: this.archiveMaxAge,
        });
      } catch (error) {
        failures.push({ queue, error: errorMessage(error) });
      }
    }
    if (total.completed + total.archived > 0) {
      this.logger.debug(
        `janitor: deleted ${total.completed} expired completed and ${total.archived} trimmed archived task(s)`,
        { count: total.completed + total.archived },
      );
    }
    this.report(failures);
    return total;
  }

  /** Logs failures: the first run of an outage at error level, the repeats at debug, the recovery at info. */
  private report(failures: ReadonlyArray<{ queue: string; error: string }>): void {
    if (failures.length === 0) {
      if (this.failing) this.logger.info("janitor: working again", { operation: "clean" });
      this.failing = false;
      return;
    }
    const message = `janitor: cannot clean ${failures.map((f) => `queue "${f.queue}": ${f.error}`).join("; ")}`;
    // The first failing queue names the line; the message lists them all.
    const fields = {
      queue: failures[0]!.queue,
      count: failures.length,
      operation: "clean",
      error: failures[0]!.error,
    };
    if (this.failing) this.logger.debug(message, fields);
    else this.logger.error(`${message} (retrying on schedule; repeats are logged at debug level)`, fields);
    this.failing = true;
  }
}
