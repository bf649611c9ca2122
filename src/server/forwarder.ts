// The forwarder: moves scheduled and retry tasks whose time has come to pending (or back into their group).
import { Periodic } from "./periodic.js";
import type { ForwardPort } from "../broker/ports.js";
import type { ForwardResult } from "../broker/upkeep/forward.js";
import { DEFAULTS } from "../defaults.js";
import type { Clock } from "../internal/clock.js";
import { errorMessage } from "../internal/errors.js";
import { componentLogger, type Logger } from "../internal/logger.js";
import { QueueBackoff } from "./queue-backoff.js";

/**
 * When the aligned checks run: `alignOffset` ms after each whole second (`interval`). Scores are
 * whole unix seconds, so the set of due tasks only changes at boundaries.
 */
const ALIGNED = DEFAULTS.forwarder;

/** Parameters of a {@link Forwarder}. */
export interface ForwarderParams {
  broker: ForwardPort;
  clock: Clock;
  logger: Logger;
  /** Queues to forward. */
  queues: readonly string[];
  /**
   * Time between the end of a check and the start of the next one, in ms, for tests. Without it (as
   * the server runs it) each check runs just after the next whole second (asynq checks every 5 s).
   */
  interval?: number;
}

/**
 * Moves due scheduled and retry tasks to pending (or back into their group) so workers see them:
 * once a second by default, just after the second starts, so a task scheduled for T runs close to T.
 * An idle check is one pipelined round trip. A check that fails as a whole (no connection) is logged
 * once per outage at error level and the next one runs on schedule; a queue that fails on its own (a
 * key of the wrong type) is backed off alone, 1 s, 2 s, 4 s … up to 60 s, one log line per step.
 */
export class Forwarder {
  private readonly broker: ForwardPort;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly queues: readonly string[];
  private readonly interval: number | undefined;
  private failing = false;
  private readonly backoff: QueueBackoff;
  private readonly loop = new Periodic<number>(
    () => this.check(),
    () => this.nextDelay(),
  );

  /** @throws Error when `interval` is given and is not a positive finite number (a bug: no option sets it). */
  constructor(params: ForwarderParams) {
    if (params.interval !== undefined && !(Number.isFinite(params.interval) && params.interval > 0)) {
      throw new Error(
        `forwarder: bad interval ${params.interval} (a bug: it must be a positive number of ms)`,
      );
    }
    this.broker = params.broker;
    this.clock = params.clock;
    this.logger = componentLogger(params.logger, "forwarder");
    this.backoff = new QueueBackoff({
      logger: this.logger,
      operation: "forward",
      cannot: (queue) => `forwarder: cannot forward scheduled and retry tasks of queue "${queue}"`,
      // Checks run once a second anyway: a lost connection needs no pause of its own.
      otherErrorMaxMs: 0,
    });
    this.queues = Object.freeze([...params.queues]);
    this.interval = params.interval;
  }

  /** Starts checking; the first check runs after one interval (or at the next second). */
  start(): void {
    this.loop.start();
  }

  /** Stops the timer and waits for a check in progress. */
  async shutdown(): Promise<void> {
    await this.loop.stop();
  }

  /**
   * Runs one check now (joining the one in progress, if any).
   * @returns the number of tasks moved; 0 when the check failed (the failure is logged, never thrown).
   */
  runOnce(): Promise<number> {
    return this.loop.runOnce();
  }

  /** The fixed interval, or the time until just after the next whole second. */
  private nextDelay(): number {
    if (this.interval !== undefined) return this.interval;
    return ALIGNED.interval - (this.clock.now() % ALIGNED.interval) + ALIGNED.alignOffset;
  }

  private async check(): Promise<number> {
    const queues = this.backoff.ready(this.queues);
    if (queues.length === 0) return 0;
    let result: ForwardResult;
    try {
      result = await this.broker.forwardDue(queues, this.clock.now());
    } catch (error) {
      this.failed(error);
      return 0;
    }
    this.report(queues, result);
    return result.moved;
  }

  private report(queues: readonly string[], result: ForwardResult): void {
    for (const { queue, id } of result.dangling) {
      this.logger.warn(
        `forwarder: dropped task ID "${id}" from queue "${queue}": it was scheduled or retrying but had no task data`,
        { queue, taskId: id, outcome: "removed" },
      );
    }
    if (result.moved > 0)
      this.logger.debug(`forwarder: moved ${result.moved} due task(s)`, { count: result.moved });
    if (this.failing) this.logger.info("forwarder: working again", { operation: "forward" });
    this.failing = false;
    const failed = new Map(result.failed.map(({ queue, error }) => [queue, error]));
    for (const queue of queues) {
      const error = failed.get(queue);
      if (error === undefined) this.backoff.succeeded(queue);
      else this.backoff.failed(queue, error);
    }
  }

  /** Logs a failed check: the first of an outage at error level, the repeats at debug. */
  private failed(error: unknown): void {
    const message = `forwarder: cannot forward scheduled and retry tasks: ${errorMessage(error)}`;
    const fields = { operation: "forward", error: errorMessage(error) };
    if (this.failing) this.logger.debug(message, fields);
    else this.logger.error(`${message} (retrying on schedule; repeats are logged at debug level)`, fields);
    this.failing = true;
  }
}
