// Logging as an interface: the server logs through it; console by default, any logger can plug in.

/** Log levels, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** What asynq-ts logs through. Compatible with console, pino and winston style loggers. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/** A logger that drops messages below `level` and prefixes the rest with `asynq:`. */
export function leveledLogger(base: Logger, level: LogLevel): Logger {
  const at =
    (name: Exclude<LogLevel, "silent">) =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (RANK[name] < RANK[level]) return;
      if (fields === undefined) base[name](`asynq: ${message}`);
      else base[name](`asynq: ${message}`, fields);
    };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** The default logger: the console. */
export const consoleLogger: Logger = console;
