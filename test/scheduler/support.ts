// Helpers of the scheduler tests: schedulers' parts (ticker, heartbeat) on a real broker and a manual
// clock, so that ticks are driven by moving the clock, never by waiting.
import type { Redis } from "ioredis";
import { onTestFinished } from "vitest";
import { openBroker } from "../../src/broker/broker.js";
import { openConnection } from "../../src/broker/connection/connection.js";
import type { Broker } from "../../src/broker/ports.js";
import type { EnqueueOptions } from "../../src/client/options.js";
import type { ManualClock } from "../../src/internal/clock.js";
import { buildEntry, type Entry } from "../../src/scheduler/entry.js";
import {
  resolveSchedulerOptions,
  type ResolvedSchedulerOptions,
  type SchedulerOptions,
  type TickResult,
} from "../../src/scheduler/options.js";
import { Ticker } from "../../src/scheduler/ticker.js";
import type { Task } from "../../src/task.js";
import * as keys from "../../src/wire/keys.js";
import { decodeSchedulerEnqueueEvent, decodeTaskMessage } from "../../src/wire/proto.js";
import { collectingLogger, type LogLine } from "../support/server.js";

/** A broker of its own on the test DB, closed after the test. */
export function testBroker(url: string): Broker {
  const broker = openBroker(openConnection(url, "test"));
  onTestFinished(() => broker.close());
  return broker;
}

/** One scheduler's ticker on the manual clock, with its results and logs collected; stopped after the test. */
export interface TestTicker {
  ticker: Ticker;
  options: ResolvedSchedulerOptions;
  results: TickResult[];
  errors: Error[];
  logs: LogLine[];
  /** Registers an entry (validated as `register` does) and returns it. */
  add: (cronspec: string, task: Task, options?: EnqueueOptions) => Entry;
}

export function testTicker(
  url: string,
  clock: ManualClock,
  options: Omit<SchedulerOptions, "clock" | "logger"> = {},
  broker: Broker = testBroker(url),
): TestTicker {
  const { logger, lines } = collectingLogger();
  const results: TickResult[] = [];
  const errors: Error[] = [];
  const resolved = resolveSchedulerOptions({
    logLevel: "debug",
    postEnqueue: (r) => void results.push(r),
    errorHandler: (e) => void errors.push(e),
    ...options,
    clock,
    logger,
  });
  const ticker = new Ticker({ broker, options: resolved });
  onTestFinished(() => ticker.stop());
  return {
    ticker,
    options: resolved,
    results,
    errors,
    logs: lines,
    add: (cronspec, task, opts) => {
      const entry = buildEntry({ cronspec, task, options: opts }, resolved.location, clock.now());
      ticker.add(entry);
      return entry;
    },
  };
}

/** Every task in the queue's pending list, oldest first, decoded. */
export async function pendingTasks(
  redis: Redis,
  queue = "default",
): Promise<Array<{ id: string; type: string; pendingSince: string }>> {
  const ids = (await redis.lrange(keys.pendingKey(queue), 0, -1)).reverse();
  return Promise.all(
    ids.map(async (id) => {
      const [msg, since] = await redis.hmgetBuffer(keys.taskKey(queue, id), "msg", "pending_since");
      return { id, type: decodeTaskMessage(msg!).type, pendingSince: since!.toString() };
    }),
  );
}

/** The history of an entry, oldest first: task ID, score and event time (ms). */
export async function history(
  redis: Redis,
  entryId: string,
): Promise<Array<{ taskId: string; score: number; atMs: number }>> {
  const flat = await redis.zrangeBuffer(keys.schedulerHistoryKey(entryId), 0, -1, "WITHSCORES");
  const out = [];
  for (let i = 0; i < flat.length; i += 2) {
    const e = decodeSchedulerEnqueueEvent(flat[i]!);
    const t = e.enqueueTime!;
    out.push({
      taskId: e.taskId,
      score: Number(flat[i + 1]!.toString()),
      atMs: Number(t.seconds) * 1000 + t.nanos / 1e6,
    });
  }
  return out;
}

/** Sets the clock and runs the ticker's due ticks (several tickers: in the order given). */
export async function tickAt(clock: ManualClock, at: number, ...tickers: Ticker[]): Promise<void> {
  clock.set(at);
  await Promise.all(tickers.map((t) => t.runDue()));
}
