// The forwarder: moves scheduled and retry tasks whose time has come to pending (or back into their group).
import { Periodic } from "./periodic.js";
import type { ForwardResult } from "../broker/forward.js";
import type { Clock } from "../internal/clock.js";
import type { Logger } from "../internal/logger.js";

/**
 * How long after a second boundary the aligned check runs. Scores are whole unix seconds, so the set
 * of due tasks only changes at boundaries; 5 ms leaves room for a timer that fires a little early.
 */
const ALIGN_OFFSET_MS = 5;

/** What the forwarder needs from the broker. */
export interface ForwardBroker {
  /**
   * Moves every task of `queues` due at `nowMs` from scheduled, then retry, to pending or to its
   * group (wire-format §4.16); one round trip when nothing is due.
   * @throws Error when Redis cannot be reached (per-queue failures are reported in the result).
   */
  forwardDue(queues: readonly string[], nowMs: number): Promise<ForwardResult>;
}

/** Parameters of a {@link Forwarder}. */
export interface ForwarderParams {
  broker: ForwardBroker;
  clock: Clock;
  logger: Logger;
  /** Queues to forward. */
  queues: readonly string[];
  /**
   * Time between the end of a check and the start of the next one, in ms.
   * @defaultValue none: each check runs just after the next whole second (asynq checks every 5 s)
   */
  interval?: number;
}

/**
 * Moves due scheduled and retry tasks to pending (or back into their group) so workers see them:
 * once a second by default, just after the second starts, so a task scheduled for T runs close to T.
 * An idle check is one pipelined round trip. Redis errors are logged (once per outage at error level)
 * and the next check runs on schedule.
 */
export class Forwarder {
  private readonly broker: ForwardBroker;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly queues: readonly string[];
  private readonly interval: number | undefined;
  private failing = false;
  private readonly loop = new Periodic<number>(
    () => this.check(),
    () => this.nextDelay(),
  );

  /** @throws RangeError when `interval` is given and is not a positive finite number. */
  constructor(params: ForwarderParams) {
    if (params.interval !== undefined && !(Number.isFinite(params.interval) && params.interval > 0)) {
      throw new RangeError(`forwarder: bad interval ${params.interval}`);
    }
    this.broker = params.broker;
    this.clock = params.clock;
    this.logger = params.logger;
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
    return 1000 - (this.clock.now() % 1000) + ALIGN_OFFSET_MS;
  }

  private async check(): Promise<number> {
    let result: ForwardResult;
    try {
      result = await this.broker.forwardDue(this.queues, this.clock.now());
    } catch (error) {
      this.failed(`cannot forward scheduled and retry tasks: ${String(error)}`);
      return 0;
    }
    this.report(result);
    return result.moved;
  }

  private report(result: ForwardResult): void {
    for (const { queue, id } of result.dangling) {
      this.logger.warn(
        `forwarder: dropped task ID "${id}" from queue "${queue}": it was scheduled or retrying but had no task data`,
      );
    }
    if (result.moved > 0) this.logger.debug(`forwarder: moved ${result.moved} due task(s)`);
    if (result.failed.length === 0) {
      if (this.failing) this.logger.info("forwarder: working again");
      this.failing = false;
      return;
    }
    const detail = result.failed.map(({ queue, error }) => `queue "${queue}": ${error.message}`).join("; ");
    this.failed(`cannot forward scheduled and retry tasks of ${detail}`);
  }

  /** Logs a failure: the first of an outage at error level, the repeats at debug. */
  private failed(message: string): void {
    if (this.failing) this.logger.debug(`forwarder: ${message}`);
    else this.logger.error(`forwarder: ${message} (retrying on schedule; repeats are logged at debug level)`);
    this.failing = true;
  }
}
