// Server configuration: every option documented with its default, validated and resolved once here.
import { availableParallelism } from "node:os";
import {
  CONNECTION_OPTION_KEYS,
  resolveConnectionOptions,
  type ConnectionOptions,
  type ResolvedConnectionOptions,
} from "../broker/connection/options.js";
import { DEFAULTS } from "../defaults.js";
import { ValidationError } from "../errors.js";
import { systemClock, type Clock } from "../internal/clock.js";
import { consoleLogger, leveledLogger, type Logger, type LogLevel } from "../internal/logger.js";
import { integerOption, resolveArchiveLimits } from "../internal/resolve.js";
import type { HandlerTask } from "./mux.js";
import type { GroupAggregator } from "./aggregator.js";
import { normalizeQueues } from "./queue-order.js";
import { defaultRetryDelay, type RetryDelayFn } from "./retry-delay.js";

/** Facts about a task given to the error handler. */
export interface FailedTaskInfo {
  id: string;
  queue: string;
  /** Failures counted before this one. */
  retried: number;
  maxRetry: number;
}

/**
 * Options of a Server. Durations are milliseconds. `commandTimeout` and `connectTimeout` guard the
 * connection (see {@link ConnectionOptions}). The defaults are those of `DEFAULTS.server` and
 * `DEFAULTS.archive` (src/defaults.ts).
 */
export interface ServerConfig extends ConnectionOptions {
  /**
   * Maximum number of tasks processed at once.
   * @defaultValue the number of CPUs (`os.availableParallelism()`), as asynq
   */
  concurrency?: number;
  /**
   * Queues to serve, name -> priority (a positive integer).
   * @defaultValue `{ default: 1 }`
   */
  queues?: Record<string, number>;
  /**
   * With strict priority, a lower queue is served only while every higher one is empty; otherwise
   * a queue comes first with probability priority / sum of priorities (wire-format §5.2).
   * @defaultValue false
   */
  strictPriority?: boolean;
  /**
   * Delay before retry number `retried + 1`, in ms.
   * @defaultValue asynq's: (retried⁴ + 15 + random(0..29) × (retried + 1)) seconds
   */
  retryDelay?: RetryDelayFn;
  /**
   * Whether an error counts as a failure. Non-failures are retried without counting a retry or the
   * failed counters (asynq's IsFailure). @defaultValue every error is a failure
   */
  isFailure?: (error: Error) => boolean;
  /**
   * Called for every failed attempt and every expired task, before the task is retried or archived;
   * and for every aggregation that could not be written (see `groupAggregator`), with the set's
   * oldest task and its ID.
   */
  errorHandler?: (error: Error, task: HandlerTask, info: FailedTaskInfo) => void | Promise<void>;
  /**
   * How long `shutdown()` waits for running tasks before putting them back at the front of their
   * queue (not counted as failures) and aborting their signals; one `warn` line says how many. The
   * whole shutdown then ends within about one more second, Redis reachable or not.
   *
   * JavaScript cannot stop a promise: a handler that ignores its signal keeps running in the
   * background after that (and keeps the process alive if it holds a timer or a socket), while its
   * task, back in its queue, runs again here or on another server. Pass `ctx.signal` on to what the
   * handler awaits.
   * @defaultValue 8000
   */
  shutdownTimeout?: number;
  /**
   * What happens to a task whose deadline passed before it could start: archived (with a
   * `task expired: …` error) or deleted. Either way it is never retried.
   * @defaultValue "archive"
   */
  onExpired?: "archive" | "delete";
  /** Limits of each queue's archive; the oldest tasks beyond them are deleted with their data. */
  archive?: {
    /** @defaultValue 10000 */
    maxSize?: number;
    /** @defaultValue 90 days */
    maxAge?: number;
  };
  /**
   * How long a dequeued task is leased to this server; heartbeats extend it. Keep asynq's default
   * when Go servers share the queues. @defaultValue 30000
   */
  leaseDuration?: number;
  /**
   * How often an idle server re-checks its queues when nothing wakes it earlier (new tasks wake it
   * within milliseconds). @defaultValue 1000
   */
  pollInterval?: number;
  /**
   * Called every `healthCheckInterval` with null when Redis answered a PING, or the error.
   * @defaultValue none (no health checks)
   */
  healthCheck?: (error: Error | null) => void;
  /** @defaultValue 15000 */
  healthCheckInterval?: number;
  /**
   * How often the server writes its state (asynqmon and the `asynq` CLI list servers from it) and
   * extends its leases. Keep asynq's default when Go tools watch the queues. @defaultValue 5000
   */
  heartbeatInterval?: number;
  /**
   * How often the recoverer looks for tasks that no live server holds (a crashed worker's).
   * @defaultValue 10000 (asynq: 60000)
   */
  recoverInterval?: number;
  /**
   * How long a lease must have run out (or an active task must have had none) before the task is
   * recovered: room for clock skew and slow heartbeats. @defaultValue 30000 (asynq's)
   */
  recoveryGrace?: number;
  /** How often completed tasks past their retention are deleted and archives trimmed. @defaultValue 8000 */
  janitorInterval?: number;
  /** Tasks per janitor script call. @defaultValue 100 */
  janitorBatchSize?: number;
  /**
   * Merges the tasks of a group into one task (asynq's GroupAggregator): called with the group name
   * and its tasks, oldest first, it returns the task to enqueue (or a promise of it). That task goes
   * to the group's queue unless its `options.queue` names another; its other options (`maxRetry`,
   * `timeout`, `deadline`, `retention`, `taskId`, `headers`) apply as for `Client.enqueue`;
   * `processAt`, `processIn`, `unique` and `group` are refused. If it throws, returns something else
   * than a valid task, or has not settled when the set's 2-minute deadline passes, nothing is written,
   * `errorHandler` hears of it (an AsynqError with code `ERR_AGGREGATION`), and the recoverer puts the
   * tasks back into their group after the deadline: nothing is lost.
   * @defaultValue none (grouped tasks wait; the server logs a warning once per queue and group)
   */
  groupAggregator?: GroupAggregator;
  /**
   * A group is aggregated once no task joined it for this long (ms, at least 1000; Redis keeps
   * whole seconds). Groups are checked every min(7 s, groupGracePeriod).
   * @defaultValue 60000
   */
  groupGracePeriod?: number;
  /**
   * A group is aggregated once its oldest task waited this long (ms, whole seconds), even while
   * tasks keep joining it. @defaultValue 0
   */
  groupMaxDelay?: number;
  /**
   * At most this many tasks per aggregation; a group that reaches it is aggregated at the next
   * check, the oldest tasks first. @defaultValue 0
   */
  groupMaxSize?: number;
  /**
   * Where to log: each line is a sentence plus the same facts as fields (names on `LogFields`).
   * winston loggers fit as they are; wrap pino or bunyan with `pinoLogger(…)`.
   * @defaultValue `consoleLogger`: stderr, one line per call, fields appended as `key=value`
   */
  logger?: Logger;
  /**
   * The lowest level logged. At `info`, every failed task attempt is a `warn` line (type, ID, queue,
   * "attempt n of max", the error, and whether it is retried, archived or expired); `debug` adds
   * routine detail (tasks moved by the forwarder, repeats of an ongoing outage).
   * @defaultValue "info"
   */
  logLevel?: LogLevel;
  /** Source of time, for tests. @defaultValue the system clock */
  clock?: Clock;
}

/** The configuration with every default applied; what components receive. */
export interface ResolvedServerConfig {
  readonly concurrency: number;
  readonly queues: Readonly<Record<string, number>>;
  readonly strictPriority: boolean;
  readonly retryDelay: RetryDelayFn;
  readonly isFailure: (error: Error) => boolean;
  readonly errorHandler: ServerConfig["errorHandler"];
  readonly shutdownTimeout: number;
  readonly onExpired: "archive" | "delete";
  readonly archiveMaxSize: number;
  readonly archiveMaxAge: number;
  readonly leaseDuration: number;
  readonly pollInterval: number;
  readonly healthCheck: ((error: Error | null) => void) | undefined;
  readonly healthCheckInterval: number;
  readonly heartbeatInterval: number;
  readonly recoverInterval: number;
  readonly recoveryGrace: number;
  readonly janitorInterval: number;
  readonly janitorBatchSize: number;
  readonly groupAggregator: GroupAggregator | undefined;
  readonly groupGracePeriod: number;
  readonly groupMaxDelay: number;
  readonly groupMaxSize: number;
  readonly logger: Logger;
  readonly clock: Clock;
  /** `commandTimeout` and `connectTimeout`, resolved. */
  readonly connection: ResolvedConnectionOptions;
}

const D = DEFAULTS.server;
const KNOWN = new Set([
  "concurrency",
  "queues",
  "strictPriority",
  "retryDelay",
  "isFailure",
  "errorHandler",
  "shutdownTimeout",
  "onExpired",
  "archive",
  "leaseDuration",
  "pollInterval",
  "healthCheck",
  "healthCheckInterval",
  "heartbeatInterval",
  "recoverInterval",
  "recoveryGrace",
  "janitorInterval",
  "janitorBatchSize",
  "groupAggregator",
  "groupGracePeriod",
  "groupMaxDelay",
  "groupMaxSize",
  "logger",
  "logLevel",
  "clock",
  ...CONNECTION_OPTION_KEYS,
]);

/**
 * Applies defaults and validates.
 * @throws ValidationError naming the first invalid option.
 */
export function resolveServerConfig(config: ServerConfig = {}): ResolvedServerConfig {
  if (typeof config !== "object" || config === null)
    throw new ValidationError("config", config, "expected an object");
  for (const key of Object.keys(config)) {
    if (!KNOWN.has(key))
      throw new ValidationError(`config.${key}`, (config as Record<string, unknown>)[key], "unknown option");
  }
  const level = config.logLevel ?? D.logLevel;
  if (!["debug", "info", "warn", "error", "silent"].includes(level)) {
    throw new ValidationError(
      "config.logLevel",
      level,
      'expected "debug", "info", "warn", "error" or "silent"',
    );
  }
  const onExpired = config.onExpired ?? D.onExpired;
  if (onExpired !== "archive" && onExpired !== "delete") {
    throw new ValidationError("config.onExpired", onExpired, 'expected "archive" or "delete"');
  }
  return Object.freeze({
    concurrency: integer(config, "concurrency") ?? availableParallelism(),
    queues: Object.freeze(normalizeQueues(config.queues, "config.queues")),
    strictPriority: config.strictPriority ?? D.strictPriority,
    retryDelay: fn(config.retryDelay, "config.retryDelay") ?? defaultRetryDelay,
    isFailure: fn(config.isFailure, "config.isFailure") ?? (() => true),
    errorHandler: fn(config.errorHandler, "config.errorHandler"),
    shutdownTimeout: integer(config, "shutdownTimeout") ?? D.shutdownTimeout,
    onExpired,
    ...archiveLimits(config),
    leaseDuration: integer(config, "leaseDuration") ?? D.leaseDuration,
    pollInterval: integer(config, "pollInterval") ?? D.pollInterval,
    healthCheck: fn(config.healthCheck, "config.healthCheck"),
    healthCheckInterval: integer(config, "healthCheckInterval") ?? D.healthCheckInterval,
    heartbeatInterval: integer(config, "heartbeatInterval") ?? D.heartbeatInterval,
    recoverInterval: integer(config, "recoverInterval") ?? D.recoverInterval,
    recoveryGrace: integer(config, "recoveryGrace") ?? D.recoveryGrace,
    janitorInterval: integer(config, "janitorInterval") ?? D.janitorInterval,
    janitorBatchSize: integer(config, "janitorBatchSize") ?? D.janitorBatchSize,
    groupAggregator: fn(config.groupAggregator, "config.groupAggregator"),
    groupGracePeriod: integer(config, "groupGracePeriod") ?? D.groupGracePeriod,
    groupMaxDelay: integer(config, "groupMaxDelay") ?? D.groupMaxDelay,
    groupMaxSize: integer(config, "groupMaxSize") ?? D.groupMaxSize,
    logger: leveledLogger(config.logger ?? consoleLogger, level),
    clock: config.clock ?? systemClock,
    connection: resolveConnectionOptions(config, "config"),
  });
}

/** `config[key]` when it is an integer >= its minimum (`DEFAULTS.server.min`); undefined when unset. */
function integer(config: ServerConfig, key: keyof typeof D.min): number | undefined {
  return integerOption(config[key], `config.${key}`, D.min[key]);
}

/** The `archive` option, resolved as the Inspector's is. */
function archiveLimits(config: ServerConfig): Pick<ResolvedServerConfig, "archiveMaxSize" | "archiveMaxAge"> {
  const { maxSize, maxAge } = resolveArchiveLimits(config.archive, "config.archive");
  return { archiveMaxSize: maxSize, archiveMaxAge: maxAge };
}

function fn<T>(value: T | undefined, field: string): T | undefined {
  if (value !== undefined && typeof value !== "function") {
    throw new ValidationError(field, value, "expected a function");
  }
  return value;
}
