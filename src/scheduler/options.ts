// Scheduler options: their documentation and validation live here, and only here (their defaults are
// DEFAULTS.scheduler, src/defaults.ts).
import {
  CONNECTION_OPTION_KEYS,
  resolveConnectionOptions,
  type ConnectionOptions,
  type ResolvedConnectionOptions,
} from "../broker/connection/options.js";
import type { EnqueueOptions } from "../client/options.js";
import { DEFAULTS } from "../defaults.js";
import { ValidationError } from "../errors.js";
import { systemClock, type Clock } from "../internal/clock.js";
import { integerOption } from "../internal/resolve.js";
import {
  componentLogger,
  consoleLogger,
  leveledLogger,
  type Logger,
  type LogLevel,
} from "../internal/logger.js";
import type { Task, TaskInfo } from "../task.js";
import { resolveTimeZone } from "./cronspec.js";

/** The tick of an entry that a hook or the error handler is told about. */
export interface TickInfo {
  /** The entry's ID, as `register` returned it and `asynq cron ls` lists it. */
  entryId: string;
  /** The cron spec as registered. */
  spec: string;
  /** The scheduled instant of the tick (not when it was enqueued). */
  tick: Date;
}

/**
 * What became of one tick: `enqueued` (by this scheduler), `already-enqueued` (another asynq-ts
 * scheduler with the same entry enqueued this tick), or `failed` (the error went to `errorHandler`).
 */
export type TickResult =
  | (TickInfo & { status: "enqueued"; info: TaskInfo })
  | (TickInfo & { status: "already-enqueued" })
  | (TickInfo & { status: "failed"; error: Error });

/**
 * Ticks missed while no scheduler ran: `"skip"` (asynq's behaviour), or `{ runOnceWithin: ms }`:
 * when an entry starts (at `start()`, or when registered on a running scheduler), its last tick is
 * enqueued at once if it passed less than `runOnceWithin` ago and no asynq-ts scheduler enqueued it.
 * For `@every` entries, whose ticks count from when a scheduler starts, "missed" means: the entry
 * was enqueued before (by any asynq-ts scheduler), and its next tick is overdue by less than
 * `runOnceWithin`.
 */
export type MissedTicks = "skip" | { runOnceWithin: number };

/**
 * Options of a Scheduler. Durations are milliseconds. `commandTimeout` and `connectTimeout` guard
 * the connection (see {@link ConnectionOptions}); defaults are `DEFAULTS.scheduler` (src/defaults.ts).
 */
export interface SchedulerOptions extends ConnectionOptions {
  /**
   * Time zone (IANA name) of the specs that have no `CRON_TZ=` prefix; `"Local"` is the machine's.
   * @defaultValue "UTC" (asynq's)
   */
  location?: string;
  /**
   * Time between writes of the entries (read by `asynq cron ls`, asynqmon and the Inspector); they
   * live twice as long. The first write is at `start()`.
   * @defaultValue 10000 (asynq's)
   */
  heartbeatInterval?: number;
  /** Where to log. @defaultValue `consoleLogger` */
  logger?: Logger;
  /** The lowest level logged; each enqueue is a `debug` line, each failure a `warn` line. @defaultValue "info" */
  logLevel?: LogLevel;
  /** Called before each tick's enqueue (asynq's PreEnqueueFunc). What it throws is logged. */
  preEnqueue?: (task: Task, options: EnqueueOptions, tick: TickInfo) => void | Promise<void>;
  /** Called after each tick's enqueue with what became of it (asynq's PostEnqueueFunc). What it throws is logged. */
  postEnqueue?: (result: TickResult) => void | Promise<void>;
  /**
   * Called when a tick could not be enqueued (Redis down, a duplicate, an ID conflict…), as asynq's
   * EnqueueErrorHandler. The scheduler goes on: the next tick is tried as usual.
   */
  errorHandler?: (error: Error, task: Task, tick: TickInfo) => void | Promise<void>;
  /** Ticks missed while no scheduler ran. @defaultValue "skip" (asynq's) */
  missedTicks?: MissedTicks;
  /** Source of time, for tests. @defaultValue the system clock */
  clock?: Clock;
}

/** The options with every default applied; what the scheduler's parts receive. */
export interface ResolvedSchedulerOptions {
  readonly location: string;
  readonly heartbeatInterval: number;
  readonly logger: Logger;
  readonly preEnqueue: SchedulerOptions["preEnqueue"];
  readonly postEnqueue: SchedulerOptions["postEnqueue"];
  readonly errorHandler: SchedulerOptions["errorHandler"];
  /** null: skip missed ticks. */
  readonly runOnceWithin: number | null;
  readonly historySize: number;
  readonly tickMarkerGrace: number;
  readonly clock: Clock;
  readonly connection: ResolvedConnectionOptions;
}

const D = DEFAULTS.scheduler;
const KNOWN = new Set([
  "location",
  "heartbeatInterval",
  "logger",
  "logLevel",
  "preEnqueue",
  "postEnqueue",
  "errorHandler",
  "missedTicks",
  "clock",
  ...CONNECTION_OPTION_KEYS,
]);
const LEVELS: readonly string[] = ["debug", "info", "warn", "error", "silent"];

/**
 * Applies the defaults and validates.
 * @throws ValidationError naming the first invalid option (`options.<name>`).
 */
export function resolveSchedulerOptions(options: SchedulerOptions = {}): ResolvedSchedulerOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new ValidationError("options", options, "expected an object");
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      throw new ValidationError(
        `options.${key}`,
        (options as Record<string, unknown>)[key],
        "unknown option",
      );
    }
  }
  const level = options.logLevel ?? D.logLevel;
  if (!LEVELS.includes(level)) {
    throw new ValidationError(
      "options.logLevel",
      level,
      'expected "debug", "info", "warn", "error" or "silent"',
    );
  }
  const location = options.location ?? D.location;
  if (typeof location !== "string") {
    throw new ValidationError("options.location", location, "expected an IANA time zone name");
  }
  return Object.freeze({
    location: resolveTimeZone(
      location,
      (reason) => new ValidationError("options.location", location, reason),
    ),
    heartbeatInterval:
      integerOption(options.heartbeatInterval, "options.heartbeatInterval", D.min.heartbeatInterval) ??
      D.heartbeatInterval,
    logger: componentLogger(leveledLogger(options.logger ?? consoleLogger, level), "scheduler"),
    preEnqueue: fn(options.preEnqueue, "options.preEnqueue"),
    postEnqueue: fn(options.postEnqueue, "options.postEnqueue"),
    errorHandler: fn(options.errorHandler, "options.errorHandler"),
    runOnceWithin: missedTicks(options.missedTicks),
    historySize: D.historySize,
    tickMarkerGrace: D.tickMarkerGrace,
    clock: options.clock ?? systemClock,
    connection: resolveConnectionOptions(options),
  });
}

function missedTicks(given: unknown): number | null {
  const value = given ?? D.missedTicks;
  if (value === "skip") return null;
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "runOnceWithin") {
      const within = integerOption(
        (value as { runOnceWithin: unknown }).runOnceWithin,
        "options.missedTicks.runOnceWithin",
        D.min.runOnceWithin,
      );
      if (within !== undefined) return within;
    }
  }
  throw new ValidationError("options.missedTicks", value, 'expected "skip" or { runOnceWithin: <ms> }');
}

function fn<T>(value: T | undefined, field: string): T | undefined {
  if (value !== undefined && typeof value !== "function") {
    throw new ValidationError(field, value, "expected a function");
  }
  return value;
}
