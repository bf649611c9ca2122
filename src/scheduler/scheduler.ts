// The Scheduler: enqueues periodic tasks on cron specs, and stores its entries and enqueue history as
// asynq's Scheduler does (wire-format §4.27, §6), so that `asynq cron ls|history`, asynqmon and the
// Inspector list them. Unlike asynq's, any number of asynq-ts schedulers with the same entry enqueue
// each tick once (enqueue_tick.lua, docs/compatibility.md).
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { openBroker } from "../broker/broker.js";
import { openConnection, type RedisConnection } from "../broker/connection/connection.js";
import type { SchedulerPort } from "../broker/ports.js";
import type { EnqueueOptions } from "../client/options.js";
import { AsynqError } from "../errors.js";
import { errorMessage } from "../internal/errors.js";
import type { Task } from "../task.js";
import { buildEntry } from "./entry.js";
import { SchedulerHeartbeat } from "./heartbeat.js";
import { resolveSchedulerOptions, type ResolvedSchedulerOptions, type SchedulerOptions } from "./options.js";
import { Ticker } from "./ticker.js";

type State = "new" | "starting" | "active" | "closed";

/**
 * Enqueues tasks periodically, on cron specs as asynq reads them: five fields (`30 2 * * *`), the
 * descriptors (`@daily`, `@hourly`…), `@every <Go duration>` and `CRON_TZ=<zone>` prefixes. Its
 * entries and their enqueue history appear in `asynq cron ls` / `asynq cron history`, asynqmon and
 * `Inspector.listSchedulerEntries()`.
 *
 * Run as many schedulers with the same entries as you like: each tick of an entry is enqueued once,
 * by whichever scheduler comes first (the others count it as `already-enqueued`).
 *
 * @example
 * ```ts
 * const scheduler = new Scheduler("redis://127.0.0.1:6379", { location: "Europe/Paris" });
 * scheduler.register("0 3 * * *", { type: "report:daily", payload: { kind: "sales" } }, { queue: "low" });
 * scheduler.register("@every 30s", { type: "metrics:flush" });
 * await scheduler.run(); // until SIGTERM or SIGINT, then a clean shutdown
 * ```
 */
export class Scheduler {
  /** This scheduler's ID, `<host>:<pid>:<uuid>` as asynq's, listed by `asynq cron ls`. */
  readonly id: string;
  private readonly options: ResolvedSchedulerOptions;
  private readonly broker: SchedulerPort;
  private readonly ticker: Ticker;
  private readonly heartbeat: SchedulerHeartbeat;
  private state: State = "new";
  private closing: Promise<void> | undefined;
  private markClosed: () => void = () => {};
  private readonly closed = new Promise<void>((resolve) => (this.markClosed = resolve));

  /**
   * @param redis a `redis://` URL, ioredis options, or an ioredis connection you own (left open by
   *   `shutdown()`). Nothing connects before `start()`.
   * @param options see {@link SchedulerOptions}; every option has asynq's default.
   * @throws ValidationError for an invalid connection argument or option (e.g. an unknown `location`).
   */
  constructor(redis: RedisConnection, options: SchedulerOptions = {}) {
    this.options = resolveSchedulerOptions(options);
    const { connection, logger, clock } = this.options;
    this.id = `${hostnameOrUnknown()}:${process.pid}:${randomUUID()}`;
    this.broker = openBroker(openConnection(redis, "scheduler.constructor", connection), {
      options: connection,
      logger,
    });
    this.ticker = new Ticker({ broker: this.broker, options: this.options });
    this.heartbeat = new SchedulerHeartbeat({
      broker: this.broker,
      clock,
      logger,
      schedulerId: this.id,
      interval: this.options.heartbeatInterval,
      entries: () => this.ticker.list(),
    });
  }

  /**
   * Registers a periodic task. Options given here override the task's own, as for
   * `Client.enqueue`, and are listed (in asynq's `Option.String()` form) by `asynq cron ls`.
   * On a running scheduler the entry starts at once.
   *
   * @param cronspec five fields (`"*\/5 * * * *"`), a descriptor (`"@hourly"`), `"@every 1h30m"`, each
   *   optionally prefixed with `"CRON_TZ=America/New_York "`; read in `location` otherwise.
   * @returns the entry's ID (a UUID v4, as asynq's).
   * @throws ValidationError naming the field at fault (nothing is registered): `cronspec` for a spec
   *   that cannot be read or an unknown time zone (the message names the spec and the cron field),
   *   `task.type`, `task.payload`, `options.<name>` for an invalid task or option.
   * @throws AsynqError (`ERR_SCHEDULER_STATE`) after shutdown.
   * @example
   * ```ts
   * const id = scheduler.register("CRON_TZ=America/New_York 0 9 * * 1-5", { type: "standup:remind" });
   * ```
   */
  register(cronspec: string, task: Task, options?: EnqueueOptions): string {
    this.assertOpen("scheduler.register");
    const entry = buildEntry({ cronspec, task, options }, this.options.location, this.options.clock.now());
    this.ticker.add(entry);
    if (this.state === "active") void this.heartbeat.beat();
    this.options.logger.debug(`registered entry ${entry.id} (${cronspec}, ${task.type})`, {
      entryId: entry.id,
      type: task.type,
    });
    return entry.id;
  }

  /**
   * Removes an entry: it fires no more. On a running scheduler its history is deleted too.
   * @returns false when the scheduler has no entry with this ID (nothing is thrown).
   * @example
   * ```ts
   * scheduler.unregister(id);
   * ```
   */
  unregister(entryId: string): boolean {
    if (!this.ticker.remove(entryId)) return false;
    if (this.state === "active") {
      void this.heartbeat.beat();
      this.broker.clearSchedulerHistory([entryId]).catch((error: unknown) => {
        this.options.logger.warn(`cannot delete the history of entry ${entryId}: ${errorMessage(error)}`, {
          entryId,
          operation: "clear history",
          error: errorMessage(error),
        });
      });
    }
    return true;
  }

  /**
   * The IDs of the registered entries, in registration order.
   * @example
   * ```ts
   * for (const id of scheduler.entryIds()) scheduler.unregister(id);
   * ```
   */
  entryIds(): string[] {
    return this.ticker.list().map((e) => e.id);
  }

  /**
   * Connects to Redis, writes the entries (asynq writes them one heartbeat after start; we write
   * them at once), and starts firing ticks. Resolves once running.
   * @throws AsynqError (`ERR_SCHEDULER_STATE`) when started before or shut down.
   * @throws ConnectionError (a BrokerError) when Redis cannot be reached; nothing was written, and
   *   `start()` may be called again.
   * @example
   * ```ts
   * await scheduler.start();
   * ```
   */
  async start(): Promise<void> {
    if (this.state !== "new") {
      throw new AsynqError("ERR_SCHEDULER_STATE", `scheduler cannot start: it is ${this.state}`, {
        op: "scheduler.start",
      });
    }
    this.state = "starting";
    try {
      await this.broker.connect("scheduler.start");
    } catch (error) {
      if (this.state === "starting") this.state = "new";
      throw error;
    }
    // shutdown() may have run while connecting (TypeScript cannot see it change the state).
    if ((this.state as State) !== "starting") {
      throw new AsynqError("ERR_SCHEDULER_STATE", "scheduler was shut down while starting", {
        op: "scheduler.start",
      });
    }
    this.state = "active";
    this.ticker.start();
    this.heartbeat.start();
    this.options.logger.info(`scheduler ${this.id} started with ${this.ticker.list().length} entries`, {
      schedulerId: this.id,
      count: this.ticker.list().length,
    });
  }

  /**
   * Starts the scheduler (as `start`) and shuts it down on SIGTERM or SIGINT, as `Server.run()`
   * does. Resolves once it has shut down.
   * @throws as `start`.
   * @example
   * ```ts
   * await scheduler.run();
   * ```
   */
  async run(): Promise<void> {
    await this.start();
    const onShutdown = (signal: NodeJS.Signals): void => {
      this.options.logger.info(`${signal} received: shutting down`, { schedulerId: this.id, signal });
      void this.shutdown();
    };
    process.on("SIGTERM", onShutdown);
    process.on("SIGINT", onShutdown);
    try {
      await this.closed;
    } finally {
      process.off("SIGTERM", onShutdown);
      process.off("SIGINT", onShutdown);
    }
  }

  /**
   * Stops firing ticks, waits for the enqueues in progress, removes the entries and their history
   * from Redis (as asynq does), and closes the connection if the scheduler created it. Safe to call
   * more than once; never rejects.
   * @example
   * ```ts
   * await scheduler.shutdown();
   * ```
   */
  shutdown(): Promise<void> {
    this.closing ??= this.close();
    return this.closing;
  }

  /**
   * Shuts the scheduler down when an `await using` block ends (same as {@link Scheduler.shutdown}).
   * @example
   * ```ts
   * await using scheduler = new Scheduler("redis://127.0.0.1:6379");
   * scheduler.register("@hourly", { type: "cache:warm" });
   * await scheduler.start();
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  private async close(): Promise<void> {
    this.state = "closed";
    await this.ticker.stop();
    await this.heartbeat.shutdown();
    await this.broker.close();
    this.options.logger.info(`scheduler ${this.id} shut down`, { schedulerId: this.id });
    this.markClosed();
  }

  private assertOpen(op: string): void {
    if (this.state === "closed") {
      throw new AsynqError("ERR_SCHEDULER_STATE", "the scheduler is shut down", { op });
    }
  }
}

/** `os.hostname()`, or `unknown-host` (asynq's fallback) when it fails or is empty. */
function hostnameOrUnknown(): string {
  try {
    return hostname() || "unknown-host";
  } catch {
    return "unknown-host";
  }
}
