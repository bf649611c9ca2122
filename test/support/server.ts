// Shared helpers for Server tests on a real Redis: polling, a collecting logger, servers shut down
// after each test, and raw reads of a task's hash.
import type { Redis } from "ioredis";
import { onTestFinished } from "vitest";
import type { RedisConnection } from "../../src/broker/connection/connection.js";
import { unixNanos } from "../../src/internal/clock.js";
import type { LogFields, Logger } from "../../src/internal/logger.js";
import type { FailedTaskInfo, ServerConfig } from "../../src/server/config.js";
import type { Handler, HandlerTask, ServeMux } from "../../src/server/mux.js";
import { Server } from "../../src/server/server.js";
import * as keys from "../../src/wire/keys.js";
import type { TaskMessage } from "../../src/wire/messages.js";
import { decodeTaskMessage } from "../../src/wire/proto.js";

/**
 * Polls `condition` every `intervalMs` until it returns a truthy value, and returns that value.
 * @throws an Error naming `what` (and the last value seen) after `timeoutMs`.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  what: string,
  { timeoutMs = 5000, intervalMs = 10 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await condition();
    if (last) return last;
    if (Date.now() >= until) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last value: ${String(last)})`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A promise with its resolve function, to hold a handler until the test lets it go. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  message: string;
  /** The structured fields of the line; `{}` when none were given. */
  fields: LogFields;
}

/** A logger that keeps every line, for assertions (and a quiet test output); `text()` joins them. */
export function collectingLogger(): { logger: Logger; lines: LogLine[]; text: () => string } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine["level"]) =>
    (message: string, fields?: LogFields): void => {
      lines.push({ level, message, fields: fields ?? {} });
    };
  return {
    logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") },
    lines,
    text: () => lines.map((l) => `${l.level}: ${l.message}`).join("\n"),
  };
}

/** Test defaults: one slot, quick polling, a short shutdown, logs collected at debug level. */
export const TEST_SERVER_DEFAULTS = {
  concurrency: 1,
  pollInterval: 20,
  shutdownTimeout: 1000,
  logLevel: "debug",
} as const satisfies ServerConfig;

export interface StartedServer {
  server: Server;
  /** Every line the server logged. */
  logs: LogLine[];
}

/**
 * Creates and starts a Server with {@link TEST_SERVER_DEFAULTS} overridden by `config`; it is shut
 * down when the current test finishes (a second shutdown is a no-op). Call inside a test.
 * @param beforeStart sees the server before it starts: to listen to its events (or register its
 *   metrics) from the first task on, as an app should.
 */
export async function startServer(
  redis: RedisConnection,
  handler: Handler | ServeMux,
  config: ServerConfig = {},
  beforeStart: (server: Server) => void = () => {},
): Promise<StartedServer> {
  const { logger, lines } = collectingLogger();
  const server = new Server(redis, { ...TEST_SERVER_DEFAULTS, logger, ...config });
  onTestFinished(() => server.shutdown());
  beforeStart(server);
  await server.start(handler);
  return { server, logs: lines };
}

/** One call of a Server's `errorHandler`. */
export interface ErrorHandlerCall {
  error: Error;
  task: HandlerTask;
  info: FailedTaskInfo;
}

/** An `errorHandler` for a Server's config that records its calls. */
export function errorHandlerRecorder(): {
  calls: ErrorHandlerCall[];
  errorHandler: (error: Error, task: HandlerTask, info: FailedTaskInfo) => void;
} {
  const calls: ErrorHandlerCall[] = [];
  return { calls, errorHandler: (error, task, info) => void calls.push({ error, task, info }) };
}

/** The raw fields of a task hash, its `msg` decoded; null when the hash does not exist. */
export interface RawTask {
  state: string | undefined;
  msg: TaskMessage | undefined;
  fields: Record<string, string>;
}

export async function readTask(redis: Redis, queue: string, id: string): Promise<RawTask | null> {
  const key = keys.taskKey(queue, id);
  const raw = await redis.hgetallBuffer(key);
  if (Object.keys(raw).length === 0) return null;
  const fields = Object.fromEntries(Object.entries(raw).map(([f, v]) => [f, v.toString("utf8")]));
  return { state: fields.state, msg: raw.msg ? decodeTaskMessage(raw.msg) : undefined, fields };
}

/** The task's `state` field, or null when its hash does not exist. */
export async function stateOf(redis: Redis, queue: string, id: string): Promise<string | null> {
  return redis.hget(keys.taskKey(queue, id), "state");
}

/**
 * Moves a task from the retry (or scheduled) zset to pending exactly as Go's forwarder does (spec
 * §4.16, a task without a group): ZREM the zset, LPUSH pending, HSET state = pending and
 * pending_since = now in unix ns. asynq-ts has no forwarder yet, so tests do its job by hand.
 */
export async function forwardToPending(
  redis: Redis,
  queue: string,
  id: string,
  nowMs: number,
  from: "retry" | "scheduled" = "retry",
): Promise<void> {
  const source = from === "retry" ? keys.retryKey(queue) : keys.scheduledKey(queue);
  const replies = await redis
    .multi()
    .zrem(source, id)
    .lpush(keys.pendingKey(queue), id)
    .hset(keys.taskKey(queue, id), "state", "pending", "pending_since", unixNanos(nowMs))
    .exec();
  if (replies?.[0]?.[1] !== 1) throw new Error(`task ${id} was not in ${source}`);
}

/** The counters of a queue: totals and today's (per `nowMs`) daily keys, null when absent. */
export async function counters(
  redis: Redis,
  queue: string,
  nowMs: number,
): Promise<{
  processed: string | null;
  failed: string | null;
  processedToday: string | null;
  failedToday: string | null;
}> {
  const day = new Date(nowMs);
  const [processed, failed, processedToday, failedToday] = await redis.mget(
    keys.processedTotalKey(queue),
    keys.failedTotalKey(queue),
    keys.processedKey(queue, day),
    keys.failedKey(queue, day),
  );
  return {
    processed: processed ?? null,
    failed: failed ?? null,
    processedToday: processedToday ?? null,
    failedToday: failedToday ?? null,
  };
}
