// The scheduler's heartbeat (wire-format §4.27, §6.2): writes the SchedulerEntry list that `asynq cron
// ls`, asynqmon and the Inspector read, every interval with a TTL of twice the interval; at shutdown
// removes the list, its registry member and the entries' enqueue history, as asynq does.
import type { SchedulerPort } from "../broker/ports.js";
import type { Clock } from "../internal/clock.js";
import { errorMessage } from "../internal/errors.js";
import type { Logger } from "../internal/logger.js";
import { Periodic } from "../server/periodic.js";
import { toSchedulerEntry, type Entry } from "./entry.js";

/** What a SchedulerHeartbeat is built from. Durations are ms. */
export interface SchedulerHeartbeatParams {
  broker: Pick<SchedulerPort, "writeSchedulerEntries" | "clearSchedulerEntries" | "clearSchedulerHistory">;
  clock: Clock;
  logger: Logger;
  /** `<host>:<pid>:<uuid>`: names the entries key. */
  schedulerId: string;
  /** Time between writes; the list lives twice as long (whole seconds, at least 1). */
  interval: number;
  /** The entries to write (and whose history to delete at shutdown). */
  entries: () => readonly Entry[];
}

/** Writes the scheduler's entries from `start()` (at once, then every interval) until `shutdown()`. */
export class SchedulerHeartbeat {
  private readonly ttlSeconds: number;
  private readonly periodic: Periodic<void>;
  private started = false;
  private stopped = false;
  /** True while writes fail: the first failure of an outage is a warning, the rest debug lines. */
  private failing = false;

  constructor(private readonly params: SchedulerHeartbeatParams) {
    this.ttlSeconds = Math.max(1, Math.ceil((2 * params.interval) / 1000));
    this.periodic = new Periodic(
      () => this.write(),
      () => params.interval,
    );
  }

  /** Writes the entries now, then every interval. */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.periodic.runOnce();
    this.periodic.start();
  }

  /**
   * Writes the entries now, or again after a write in progress (which read them before the change):
   * after a register or unregister.
   */
  beat(): Promise<void> {
    if (!this.started || this.stopped) return Promise.resolve();
    return this.periodic.runAgain();
  }

  /** Stops writing, then removes the entries, their registry member and their history. Never throws. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    await this.periodic.stop();
    if (!this.started) return;
    const { broker, schedulerId } = this.params;
    try {
      await broker.clearSchedulerEntries(schedulerId);
      await broker.clearSchedulerHistory(this.params.entries().map((e) => e.id));
    } catch (error) {
      this.params.logger.warn(
        `cannot clear the scheduler's entries and history (the entries expire in ${this.ttlSeconds} s): ${errorMessage(error)}`,
        { schedulerId, operation: "clear scheduler state", error: errorMessage(error) },
      );
    }
  }

  private async write(): Promise<void> {
    const { broker, clock, logger, schedulerId } = this.params;
    try {
      const entries = this.params.entries().map(toSchedulerEntry);
      await broker.writeSchedulerEntries(schedulerId, entries, clock.now(), this.ttlSeconds);
      if (this.failing) logger.info("heartbeat: can write the scheduler entries again", { schedulerId });
      this.failing = false;
    } catch (error) {
      const fields = { schedulerId, operation: "write scheduler entries", error: errorMessage(error) };
      const message = `heartbeat: cannot write the scheduler entries: ${errorMessage(error)}`;
      if (this.failing) logger.debug(message, fields);
      else logger.warn(`${message} (retrying on schedule)`, fields);
      this.failing = true;
    }
  }
}
