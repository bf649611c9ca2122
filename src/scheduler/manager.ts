// The PeriodicTaskManager (wire-format §6.2): keeps a Scheduler's entries in line with a provider's
// list, read at start and then every syncInterval. Unchanged configs keep their entry (and ID), found
// by a stable hash; a provider that fails, or lists an invalid config, leaves the entries as they are.
import type { RedisConnection } from "../broker/connection/connection.js";
import { DEFAULTS } from "../defaults.js";
import { ValidationError } from "../errors.js";
import { errorMessage, toError } from "../internal/errors.js";
import type { Logger } from "../internal/logger.js";
import { integerOption } from "../internal/resolve.js";
import { Periodic } from "../server/periodic.js";
import { configHash, type PeriodicTaskConfig } from "./entry.js";
import { resolveSchedulerOptions, type SchedulerOptions } from "./options.js";
import { Scheduler } from "./scheduler.js";

export type { PeriodicTaskConfig } from "./entry.js";

/** Lists the periodic tasks that should be registered (asynq's PeriodicTaskConfigProvider). */
export type PeriodicTaskConfigProvider = () =>
  Promise<readonly PeriodicTaskConfig[]> | readonly PeriodicTaskConfig[];

/** Options of a PeriodicTaskManager: the Scheduler's, plus the provider and when to read it. */
export interface PeriodicTaskManagerOptions extends SchedulerOptions {
  /** The list of periodic tasks, read at `start()` and then every `syncInterval`. */
  provider: PeriodicTaskConfigProvider;
  /**
   * Time between two reads of the provider, in ms.
   * @defaultValue 180000 (asynq's 3 minutes)
   */
  syncInterval?: number;
  /** Told when a sync fails (the provider threw or listed an invalid config); the entries stay as they were. */
  onSyncError?: (error: Error) => void;
}

/** What one sync changed. */
export interface SyncResult {
  /** IDs of the entries registered. */
  added: string[];
  /** IDs of the entries removed. */
  removed: string[];
  /** How many entries were kept as they were. */
  kept: number;
}

/**
 * Registers and removes a Scheduler's entries to match a provider's list (a file, a database, a
 * config service…), as asynq's PeriodicTaskManager does. Entries whose config is unchanged keep
 * their ID and history.
 *
 * @example
 * ```ts
 * const manager = new PeriodicTaskManager("redis://127.0.0.1:6379", {
 *   provider: async () => [
 *     { cronspec: "@every 5m", task: { type: "feeds:refresh" } },
 *     { cronspec: "0 4 * * *", task: { type: "db:vacuum" }, options: { queue: "low" } },
 *   ],
 *   onSyncError: (error) => console.error("periodic tasks not updated", error),
 * });
 * await manager.run(); // until SIGTERM or SIGINT
 * ```
 */
export class PeriodicTaskManager {
  /** The scheduler whose entries the manager keeps. */
  readonly scheduler: Scheduler;
  private readonly provider: PeriodicTaskConfigProvider;
  private readonly onSyncError: ((error: Error) => void) | undefined;
  private readonly location: string;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly periodic: Periodic<SyncResult | Error>;
  private closing: Promise<void> | undefined;
  private markClosed: () => void = () => {};
  /** Resolves when shutdown has completed. */
  private readonly closed = new Promise<void>((resolve) => (this.markClosed = resolve));
  /** Config hash -> entry ID, as last synced. */
  private entries = new Map<string, string>();

  /**
   * @param redis as for {@link Scheduler}.
   * @throws ValidationError for an invalid option (`options.provider` must be a function).
   */
  constructor(redis: RedisConnection, options: PeriodicTaskManagerOptions) {
    if (typeof options !== "object" || options === null) {
      throw new ValidationError("options", options, "expected an object with a provider");
    }
    const { provider, syncInterval, onSyncError, ...schedulerOptions } = options;
    if (typeof provider !== "function") {
      throw new ValidationError("options.provider", provider, "expected a function returning the configs");
    }
    if (onSyncError !== undefined && typeof onSyncError !== "function") {
      throw new ValidationError("options.onSyncError", onSyncError, "expected a function");
    }
    const S = DEFAULTS.scheduler;
    const interval =
      integerOption(syncInterval, "options.syncInterval", S.min.syncInterval) ?? S.syncInterval;
    const resolved = resolveSchedulerOptions(schedulerOptions);
    this.provider = provider;
    this.onSyncError = onSyncError;
    this.location = resolved.location;
    this.now = () => resolved.clock.now();
    this.logger = resolved.logger;
    this.scheduler = new Scheduler(redis, schedulerOptions);
    this.periodic = new Periodic(
      () => this.sync().catch((error: unknown) => toError(error)),
      () => interval,
    );
  }

  /**
   * Reads the provider and registers its entries, then starts the scheduler and the periodic syncs.
   * @throws the provider's error, or a ValidationError naming the invalid config (`configs[i].…`),
   *   when the first read fails: nothing is started.
   * @throws as `Scheduler.start()`.
   * @example
   * ```ts
   * await manager.start();
   * ```
   */
  async start(): Promise<void> {
    await this.sync();
    await this.scheduler.start();
    this.periodic.start();
  }

  /**
   * Starts (as `start`) and shuts down on SIGTERM or SIGINT. Resolves once shut down.
   * @throws as `start`.
   * @example
   * ```ts
   * await manager.run();
   * ```
   */
  async run(): Promise<void> {
    await this.start();
    const onShutdown = (signal: NodeJS.Signals): void => {
      this.logger.info(`${signal} received: shutting down`, { signal });
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
   * Reads the provider now and applies the difference. The periodic syncs call it; call it to apply
   * a change at once.
   * @returns what changed.
   * @throws the provider's error, or a ValidationError naming the invalid config; the entries are
   *   then left as they were (and `onSyncError` is told).
   * @example
   * ```ts
   * const { added, removed } = await manager.sync();
   * ```
   */
  async sync(): Promise<SyncResult> {
    let wanted: Map<string, PeriodicTaskConfig>;
    try {
      wanted = await this.read();
    } catch (thrown) {
      const error = toError(thrown);
      this.logger.error(`periodic task sync failed, the entries are unchanged: ${errorMessage(error)}`, {
        operation: "sync",
        error: errorMessage(error),
      });
      try {
        this.onSyncError?.(error);
      } catch {
        // A broken callback must not stop the syncs.
      }
      throw error;
    }
    const result: SyncResult = { added: [], removed: [], kept: 0 };
    for (const [hash, id] of this.entries) {
      if (wanted.has(hash)) continue;
      this.scheduler.unregister(id);
      this.entries.delete(hash);
      result.removed.push(id);
    }
    for (const [hash, config] of wanted) {
      if (this.entries.has(hash)) {
        result.kept++;
        continue;
      }
      const id = this.scheduler.register(config.cronspec, config.task, config.options);
      this.entries.set(hash, id);
      result.added.push(id);
    }
    return result;
  }

  /**
   * Stops the syncs and shuts the scheduler down (see `Scheduler.shutdown`); never rejects.
   * @example
   * ```ts
   * await manager.shutdown();
   * ```
   */
  shutdown(): Promise<void> {
    this.closing ??= (async () => {
      await this.periodic.stop();
      await this.scheduler.shutdown();
      this.markClosed();
    })();
    return this.closing;
  }

  /** The provider's configs by hash, every one validated. @throws the first problem. */
  private async read(): Promise<Map<string, PeriodicTaskConfig>> {
    const configs: unknown = await this.provider();
    if (!Array.isArray(configs)) {
      throw new ValidationError("configs", configs, "the provider must return an array of configs");
    }
    const now = this.now();
    const wanted = new Map<string, PeriodicTaskConfig>();
    (configs as unknown[]).forEach((config, i) => {
      if (typeof config !== "object" || config === null) {
        throw new ValidationError(`configs[${i}]`, config, "expected { cronspec, task, options? }");
      }
      const c = config as PeriodicTaskConfig;
      wanted.set(configHash(c, this.location, now, `configs[${i}].`), c);
    });
    return wanted;
  }
}
