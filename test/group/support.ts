// Shared helpers of the aggregation tests: an Aggregator (and a Recoverer that reclaims sets) on a
// broker of their own, with a manual clock, collected logs and errorHandler calls.
import { onTestFinished } from "vitest";
import { openBroker } from "../../src/broker/broker.js";
import { openConnection } from "../../src/broker/connection/connection.js";
import type { Broker } from "../../src/broker/ports.js";
import { DEFAULTS } from "../../src/defaults.js";
import type { Clock } from "../../src/internal/clock.js";
import { Aggregator, type AggregatorParams, type GroupAggregator } from "../../src/server/aggregator.js";
import type { HandlerTask } from "../../src/server/mux.js";
import { Recoverer } from "../support/components.js";
import {
  collectingLogger,
  errorHandlerRecorder,
  type ErrorHandlerCall,
  type LogLine,
} from "../support/server.js";

/** A broker of its own on the test DB, closed after the test. */
export function testBroker(url: string): Broker {
  const broker = openBroker(openConnection(url, "test"));
  onTestFinished(() => broker.close());
  return broker;
}

/** An aggregator under test, its logs and its errorHandler calls. */
export interface TestAggregator {
  aggregator: Aggregator;
  broker: Broker;
  logs: LogLine[];
  errors: ErrorHandlerCall[];
}

/** The payloads of tasks as UTF-8 strings. */
export function payloads(tasks: readonly HandlerTask[]): string[] {
  return tasks.map((t) => Buffer.from(t.payload).toString("utf8"));
}

/** An aggregator that joins the payloads with "\n" into `notify:digest:batch`, as the golden scenarios' does. */
export const joinPayloads: GroupAggregator = (_group, tasks) => ({
  type: "notify:digest:batch",
  payload: Buffer.from(payloads(tasks).join("\n")),
});

/**
 * An Aggregator with asynq's settings unless overridden (grace 1 min, no max delay or size), on the
 * given clock; shut down after the test. `runOnce()` runs a check.
 */
export function testAggregator(
  url: string,
  clock: Clock,
  aggregate: GroupAggregator | undefined,
  params: Partial<Omit<AggregatorParams, "broker" | "clock" | "logger" | "aggregate">> = {},
): TestAggregator {
  const broker = testBroker(url);
  const { logger, lines } = collectingLogger();
  const { calls, errorHandler } = errorHandlerRecorder();
  const aggregator = new Aggregator({
    broker,
    clock,
    logger,
    queues: ["default"],
    aggregate,
    gracePeriod: DEFAULTS.server.groupGracePeriod,
    maxDelay: 0,
    maxSize: 0,
    interval: DEFAULTS.aggregator.checkInterval,
    setDeadline: DEFAULTS.aggregator.setDeadline,
    pageSize: DEFAULTS.aggregator.pageSize,
    errorHandler,
    ...params,
  });
  onTestFinished(() => aggregator.shutdown());
  return { aggregator, broker, logs: lines, errors: calls };
}

/** A Recoverer that only matters here for its aggregation-set work. */
export function testRecoverer(
  broker: Broker,
  clock: Clock,
  pageSize: number = DEFAULTS.aggregator.pageSize,
): Recoverer {
  const { logger } = collectingLogger();
  return new Recoverer({
    broker,
    clock,
    logger,
    queues: ["default"],
    retryDelay: () => 1000,
    isFailure: () => true,
    aggregation: { broker, pageSize },
  });
}
