// Logging as an interface: the server logs a readable sentence plus structured fields through it;
// by default one line per call on stderr, and any logger (winston as it is, pino through an adapter) plugs in.
import { inspect } from "node:util";
import { errorMessage } from "./errors.js";

/** Log levels, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/**
 * The structured facts of a log line; the message says the same in words. Field names are camelCase
 * and stable (renaming one is a breaking change); a field that does not apply is left out:
 *
 * - `component`: who logs: `server`, `processor`, `forwarder`, `recoverer`, `heartbeater`, `janitor`,
 *   `aggregator`, `subscriber`, `healthchecker`, `connection`, `inspector`
 * - `serverId`: this server's ID; `concurrency`, `queues` (`name:priority,…`): its settings (start line)
 * - `queue`, `taskId`, `type`: the queue, task ID and task type the line is about; `group`: the
 *   task group (aggregation); `entryId`: the scheduler entry
 * - `attempt`, `maxAttempts`: which attempt (1 = the first run) of how many the task may have (its
 *   `maxRetry` + 1), as in "attempt 2 of 26"
 * - `outcome`: what happens to the task: `retry`, `archived`, `expired`, `revoked`, `requeued`,
 *   `quarantined` (archived unread), `removed` (an ID without task data); for a write: `skipped`,
 *   `applied` (its reply was lost, but it had been written)
 * - `reason`: why: `retries-exhausted`, `skip-retry`, `deadline` (failures, expiry), `lease-expired`,
 *   `no-lease` (recoverer)
 * - `aborted`: why the attempt's signal was aborted: `timeout`, `deadline`, `canceled`, `shutdown`, `lease-lost`
 * - `retryAt` (ISO-8601) and `retryInMs`: when a retried task runs again; `deadline` (ISO-8601): the task's
 * - `counted`: `false` when `isFailure` said the error is no failure (the retry is not counted)
 * - `error`: the error message, a string
 * - `operation`: the work that failed or was skipped: `done`, `retry`, `archive`, `dequeue`, `forward`,
 *   `extend lease`, `write server state`, `recover`, `clean` …
 * - `count`: how many tasks or queues a line is about; `failures`: consecutive failures so far
 * - `delayMs`: the pause before the next try; `durationMs`: how long something took; `timeoutMs`: a limit
 * - `signal`: the process signal received
 * - `address`, `db`: the Redis server and DB index (connection lines); `key`: a Redis key (inspector)
 */
export type LogFields = Record<string, unknown>;

/**
 * What asynq-ts logs through: `(message, fields?)`, the message a readable sentence and `fields`
 * the same facts, named as documented on {@link LogFields}. winston loggers fit as they are; pino
 * and bunyan take the fields first: wrap them with {@link pinoLogger}. Implementations must not
 * throw (what they throw is dropped).
 * @example
 * ```ts
 * new Server(url, { logger: winston.createLogger({ format: winston.format.json(), transports }) });
 * new Server(url, { logger: pinoLogger(pino()) });
 * new Server(url, { logger: { debug() {}, info() {}, warn: report, error: report } }); // (message, fields)
 * ```
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/**
 * A logger that drops messages below `level`, prefixes the rest with `asynq:`, and drops what the
 * base logger throws: a broken logger must not break task processing.
 */
export function leveledLogger(base: Logger, level: LogLevel): Logger {
  const at =
    (name: Exclude<LogLevel, "silent">) =>
    (message: string, fields?: LogFields): void => {
      if (RANK[name] < RANK[level]) return;
      try {
        if (fields === undefined) base[name](`asynq: ${message}`);
        else base[name](`asynq: ${message}`, fields);
      } catch {
        // Nowhere left to report it.
      }
    };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A logger that adds `component` to every line's fields (components log through one). */
export function componentLogger(base: Logger, component: string): Logger {
  const at =
    (name: Exclude<LogLevel, "silent">) =>
    (message: string, fields?: LogFields): void =>
      base[name](message, { ...fields, component });
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/**
 * A logger whose methods take the fields first, as pino's and bunyan's do: `logger.warn(fields, message)`.
 * Typed by shape, so asynq-ts does not depend on either.
 */
export interface FieldsFirstLogger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}

/**
 * Adapts a pino (or bunyan) logger: each line becomes one JSON record with the fields as
 * properties and the sentence as `msg`. Lines below the server's `logLevel` are dropped before
 * they reach it, so set both levels.
 * @example
 * ```ts
 * import pino from "pino";
 * const server = new Server(redisUrl, { logger: pinoLogger(pino()), logLevel: "info" });
 * // {"level":40,"time":…,"queue":"default","taskId":"3f2b…","type":"email:welcome","attempt":2,
 * //  "maxAttempts":26,"outcome":"retry",…,"component":"processor","msg":"asynq: task failed: …"}
 * ```
 */
export function pinoLogger(target: FieldsFirstLogger): Logger {
  return {
    debug: (message, fields) => target.debug(fields ?? {}, message),
    info: (message, fields) => target.info(fields ?? {}, message),
    warn: (message, fields) => target.warn(fields ?? {}, message),
    error: (message, fields) => target.error(fields ?? {}, message),
  };
}

/**
 * A logger writing one line per call to `write` (each line ends with "\n"), in the format of
 * {@link formatLogLine}.
 */
export function lineLogger(write: (line: string) => void, now: () => Date = () => new Date()): Logger {
  const at =
    (level: Exclude<LogLevel, "silent">) =>
    (message: string, fields?: LogFields): void =>
      write(`${formatLogLine(level, message, fields, now())}\n`);
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/**
 * The default logger: every level to stderr (stdout stays the application's), one line per call:
 * `2026-12-07T08:40:00.123Z WARN  asynq: task failed: … | queue=default taskId=3f2b… attempt=2`.
 */
export const consoleLogger: Logger = lineLogger((line) => {
  process.stderr.write(line);
});

/**
 * One log line: time, level, message, then ` | ` and the fields as `key=value` pairs. Values with
 * spaces, quotes, `=` or escapes are double-quoted (JSON string syntax). Control characters
 * (newlines, ANSI escape sequences), Unicode line separators and bidi overrides are escaped
 * everywhere, so text from a task type or an error cannot break the line or drive the terminal.
 */
export function formatLogLine(
  level: string,
  message: string,
  fields: LogFields | undefined,
  at: Date,
): string {
  let line = `${at.toISOString()} ${level.toUpperCase().padEnd(5)} ${escapeControls(message)}`;
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (value === undefined) continue;
    pairs.push(`${BARE.test(key) ? key : quote(key)}=${formatValue(value)}`);
  }
  if (pairs.length > 0) line += ` | ${pairs.join(" ")}`;
  return line;
}

// These patterns exist to find control characters, which the lint rule below forbids in general.
/* eslint-disable no-control-regex */
/** A value written without quotes: no space, quote, `=`, backslash or character needing an escape. */
const BARE = /^[^\s"=\\\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+$/;
/** What JSON.stringify leaves as it is but a terminal would act on: DEL, C1 controls, line separators, bidi controls. */
const UNSAFE_AFTER_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** Every character escaped in a message: C0 and C1 controls, DEL, line separators, bidi controls. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/* eslint-enable no-control-regex */
const SHORT_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function unicodeEscape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** The text with every unsafe character written as an escape (`\n`, `\u001b`). */
function escapeControls(text: string): string {
  return text.replace(UNSAFE, (c) => SHORT_ESCAPES[c] ?? unicodeEscape(c));
}

function quote(text: string): string {
  return JSON.stringify(text).replace(UNSAFE_AFTER_JSON, unicodeEscape);
}

function formatValue(value: unknown): string {
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  if (value === null) return "null";
  let text: string;
  if (typeof value === "string") text = value;
  else if (value instanceof Date) text = Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  else if (value instanceof Error) text = value.message;
  else {
    try {
      // undefined for a function or a symbol, which JSON cannot write.
      text = JSON.stringify(value) ?? inspect(value);
    } catch {
      text = inspect(value, { depth: 2, breakLength: Infinity });
    }
  }
  return text !== "" && BARE.test(text) ? text : quote(text);
}

/** The message of the innermost `cause` (for a BrokerError: what Redis or ioredis said). */
export function rootMessage(error: unknown): string {
  let e = error;
  for (let depth = 0; depth < 16 && e instanceof Error && e.cause !== undefined; depth++) e = e.cause;
  return errorMessage(e);
}

/** A duration for people: `250 ms`, `40 s`, `2 min 5 s`, `3 h 10 min`, `2 d 4 h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const two = (big: number, bigUnit: string, small: number, smallUnit: string): string =>
    small === 0 ? `${big} ${bigUnit}` : `${big} ${bigUnit} ${small} ${smallUnit}`;
  if (s < 3600) return two(Math.floor(s / 60), "min", s % 60, "s");
  if (s < 86_400) return two(Math.floor(s / 3600), "h", Math.floor((s % 3600) / 60), "min");
  return two(Math.floor(s / 86_400), "d", Math.floor((s % 86_400) / 3600), "h");
}

/** `1st`, `2nd`, `3rd`, `4th`, `11th`, `21st` … */
export function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th");
  return `${n}${suffix}`;
}
