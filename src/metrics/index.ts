// asynq-ts/metrics: Prometheus metrics with prom-client (an optional peer dependency, loaded only by
// this entry; `import "asynq-ts"` never loads it).
//
// - Queue gauges, with the names and labels of asynq's x/metrics (Go's QueueMetricsCollector), read
//   through the Inspector when Prometheus scrapes: one `getQueueInfos()` per scrape, shared by every
//   metric of the scrape (2 to 3 round trips per queue, queues read concurrently).
// - Per-server metrics, from the Server's events: handler duration by task type and outcome, outcome
//   counters by type, tasks in flight, recovered tasks, errors.
//
// Like the CLI and the dashboard, this entry uses the library through its public entry only.
import { Counter, Gauge, Histogram, register as globalRegistry, type Registry } from "prom-client";
import type {
  QueueInfo,
  Server,
  ServerErrorEvent,
  TaskActiveEvent,
  TaskEndEvent,
  TaskExpiredEvent,
  TaskFailedEvent,
  TaskRecoveredEvent,
} from "../index.js";

/** What the server metrics listen to: a Server of `asynq-ts` fits. */
export type ObservedServer = Pick<Server, "on" | "off" | "running">;

/** What the queue metrics read: an Inspector of `asynq-ts` fits. */
export interface QueueMetricsSource {
  getQueueInfos(): Promise<QueueInfo[]>;
}

/** Options of {@link registerQueueMetrics}. */
export interface QueueMetricsOptions {
  /** Where the metrics are registered. @defaultValue prom-client's global registry */
  registry?: Registry;
  /** Only these queues (asynq's collector reads every queue). @defaultValue every queue */
  queues?: readonly string[];
}

/** Metrics registered in a registry; `unregister()` removes them (and stops what feeds them). */
export interface RegisteredMetrics {
  unregister(): void;
}

/** The configuration of a metric labelled by queue: what a Gauge and a Counter both take. */
interface QueueMetricConfig<M> {
  name: string;
  help: string;
  labelNames: ["queue"];
  registers: Registry[];
  collect(this: M): Promise<void>;
}

/** Writes a queue's value into a metric that was just reset: a gauge is set, a counter raised from 0. */
function sample(metric: Gauge<"queue"> | Counter<"queue">, queue: string, value: number): void {
  if (metric instanceof Gauge) metric.set({ queue }, value);
  else metric.inc({ queue }, value);
}

/** The task states of `asynq_tasks_enqueued_total` (asynq's six, and `aggregating`). */
const STATES = ["active", "pending", "scheduled", "retry", "archived", "completed", "aggregating"] as const;

/** The names of the queue metrics (asynq's x/metrics). */
export const QUEUE_METRICS = {
  tasksEnqueued: "asynq_tasks_enqueued_total",
  queueSize: "asynq_queue_size",
  latency: "asynq_queue_latency_seconds",
  memory: "asynq_queue_memory_usage_approx_bytes",
  processed: "asynq_tasks_processed_total",
  failed: "asynq_tasks_failed_total",
  paused: "asynq_queue_paused_total",
} as const;

/**
 * Registers asynq's queue metrics (x/metrics), read from Redis through `inspector` at each scrape:
 * `asynq_tasks_enqueued_total{queue,state}` (a gauge, as in asynq), `asynq_queue_size{queue}`,
 * `asynq_queue_latency_seconds{queue}`, `asynq_queue_memory_usage_approx_bytes{queue}`,
 * `asynq_tasks_processed_total{queue}` and `asynq_tasks_failed_total{queue}` (all-time counters),
 * `asynq_queue_paused_total{queue}` (1 when paused).
 * @example
 * ```ts
 * import { Inspector } from "asynq-ts";
 * import { registerQueueMetrics } from "asynq-ts/metrics";
 * import { register } from "prom-client";
 * registerQueueMetrics(new Inspector("redis://127.0.0.1:6379"));
 * // GET /metrics → res.end(await register.metrics())
 * ```
 */
export function registerQueueMetrics(
  inspector: QueueMetricsSource,
  options: QueueMetricsOptions = {},
): RegisteredMetrics {
  const registry = options.registry ?? globalRegistry;
  const only = options.queues === undefined ? undefined : new Set(options.queues);
  // One read per scrape: the metrics of a scrape are collected concurrently and share it.
  let reading: Promise<QueueInfo[]> | undefined;
  const read = (): Promise<QueueInfo[]> =>
    (reading ??= inspector
      .getQueueInfos()
      .then((infos) => infos.filter((info) => info.error === undefined && (only?.has(info.queue) ?? true)))
      .finally(() => {
        // Let the other metrics of this scrape take the same answer, then read afresh next time.
        setImmediate(() => (reading = undefined));
      }));
  // A metric labelled by queue, Gauge or Counter: both collect alike (reset, then one sample per queue).
  const perQueue = <M extends Gauge<"queue"> | Counter<"queue">>(
    Metric: new (config: QueueMetricConfig<M>) => M,
    name: string,
    help: string,
    value: (info: QueueInfo) => number,
  ): M =>
    new Metric({
      name,
      help,
      labelNames: ["queue"],
      registers: [registry],
      async collect() {
        const infos = await read();
        this.reset();
        for (const info of infos) sample(this, info.queue, value(info));
      },
    });
  const metrics = [
    new Gauge({
      name: QUEUE_METRICS.tasksEnqueued,
      help: "Number of tasks enqueued; broken down by queue and state.",
      labelNames: ["queue", "state"],
      registers: [registry],
      async collect() {
        const infos = await read();
        this.reset();
        for (const info of infos) {
          for (const state of STATES) this.set({ queue: info.queue, state }, info[state]);
        }
      },
    }),
    perQueue(Gauge, QUEUE_METRICS.queueSize, "Number of tasks in a queue", (info) => info.size),
    perQueue(
      Gauge,
      QUEUE_METRICS.latency,
      "Number of seconds the oldest pending task is waiting in pending state to be processed.",
      (info) => info.latency / 1000,
    ),
    perQueue(
      Gauge,
      QUEUE_METRICS.memory,
      "Number of memory used by a given queue (approximated number by sampling).",
      (info) => info.memoryUsage,
    ),
    perQueue(
      Counter,
      QUEUE_METRICS.processed,
      "Number of tasks processed (both succeeded and failed); broken down by queue",
      (info) => info.processedTotal,
    ),
    perQueue(
      Counter,
      QUEUE_METRICS.failed,
      "Number of tasks failed; broken down by queue",
      (info) => info.failedTotal,
    ),
    perQueue(Gauge, QUEUE_METRICS.paused, "Number of queues paused", (info) => (info.paused ? 1 : 0)),
  ];
  return {
    unregister: () => {
      for (const metric of metrics) registry.removeSingleMetric((metric as unknown as { name: string }).name);
    },
  };
}

/** The names of the per-server metrics. */
export const SERVER_METRICS = {
  duration: "asynq_handler_duration_seconds",
  wait: "asynq_task_wait_seconds",
  outcomes: "asynq_handler_outcomes_total",
  inFlight: "asynq_server_tasks_in_flight",
  recovered: "asynq_server_recovered_tasks_total",
  errors: "asynq_server_errors_total",
} as const;

/** Options of {@link registerServerMetrics}. */
export interface ServerMetricsOptions {
  /** Where the metrics are registered. @defaultValue prom-client's global registry */
  registry?: Registry;
  /**
   * Buckets of the duration histogram, in seconds.
   * @defaultValue 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300
   */
  buckets?: number[];
  /**
   * Buckets of the wait-time histogram, in seconds.
   * @defaultValue 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600
   */
  waitBuckets?: number[];
}

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const DEFAULT_WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];

/**
 * Registers per-server metrics fed by the events of `servers` (one registry may take several servers
 * of the process):
 * - `asynq_handler_duration_seconds{type,outcome}`: histogram of handler run times per attempt;
 *   outcome `completed`, or what a failure led to: `retry`, `archived`, `expired`, `revoked`;
 * - `asynq_handler_outcomes_total{type,outcome}`: the same attempts counted, and the tasks that
 *   expired before they could start (outcome `expired`, no duration);
 * - `asynq_task_wait_seconds{queue}`: histogram of the time tasks waited in pending before they
 *   started (from enqueue, or from when their scheduled or retry time moved them to pending); tasks
 *   with no recorded pending time (put back by a shutdown) are not observed;
 * - `asynq_server_tasks_in_flight`: tasks on the servers now (running or writing their outcome);
 * - `asynq_server_recovered_tasks_total{queue,action}`: tasks of crashed workers settled by the
 *   servers' recoverers;
 * - `asynq_server_errors_total{operation}`: what the servers could not do (as logged at error level).
 *
 * Register before `start()` to observe every task: a dequeue asks for the pending time only while
 * someone listens, and the first one is sent as `start()` resolves. Listening costs one small object
 * per event; see docs/observability.md for the figures.
 */
export function registerServerMetrics(
  servers: ObservedServer | readonly ObservedServer[],
  options: ServerMetricsOptions = {},
): RegisteredMetrics {
  const list: readonly ObservedServer[] = Array.isArray(servers) ? servers : [servers as ObservedServer];
  const registry = options.registry ?? globalRegistry;
  const registers = [registry];
  const duration = new Histogram({
    name: SERVER_METRICS.duration,
    help: "Handler run time per attempt, by task type and outcome (seconds).",
    labelNames: ["type", "outcome"],
    buckets: options.buckets ?? DEFAULT_BUCKETS,
    registers,
  });
  const wait = new Histogram({
    name: SERVER_METRICS.wait,
    help: "Time tasks waited in pending before they started on these servers, by queue (seconds).",
    labelNames: ["queue"],
    buckets: options.waitBuckets ?? DEFAULT_WAIT_BUCKETS,
    registers,
  });
  const outcomes = new Counter({
    name: SERVER_METRICS.outcomes,
    help: "Attempts ended, by task type and outcome (completed, retry, archived, expired, revoked).",
    labelNames: ["type", "outcome"],
    registers,
  });
  new Gauge({
    name: SERVER_METRICS.inFlight,
    help: "Tasks on this process's servers now (running, or writing their outcome).",
    registers,
    collect() {
      let n = 0;
      for (const server of list) n += server.running;
      this.set(n);
    },
  });
  const recovered = new Counter({
    name: SERVER_METRICS.recovered,
    help: "Tasks of crashed or stalled workers settled by the recoverer, by queue and action.",
    labelNames: ["queue", "action"],
    registers,
  });
  const errors = new Counter({
    name: SERVER_METRICS.errors,
    help: "What the server could not do on its own (logged at error level), by operation.",
    labelNames: ["operation"],
    registers,
  });
  const onActive = (e: TaskActiveEvent): void => {
    if (e.wait !== undefined) wait.observe({ queue: e.queue }, e.wait / 1000);
  };
  const onCompleted = (e: TaskEndEvent): void => {
    duration.observe({ type: e.type, outcome: "completed" }, e.duration / 1000);
    outcomes.inc({ type: e.type, outcome: "completed" });
  };
  const onFailed = (e: TaskFailedEvent): void => {
    duration.observe({ type: e.type, outcome: e.next }, e.duration / 1000);
    outcomes.inc({ type: e.type, outcome: e.next });
  };
  const onExpired = (e: TaskExpiredEvent): void => {
    // An expiry after a failed attempt was counted with its `failed` event.
    if (e.beforeStart) outcomes.inc({ type: e.type, outcome: "expired" });
  };
  const onRecovered = (e: TaskRecoveredEvent): void => recovered.inc({ queue: e.queue, action: e.action });
  const onError = (e: ServerErrorEvent): void => errors.inc({ operation: e.operation });
  for (const server of list) {
    server.on("active", onActive);
    server.on("completed", onCompleted);
    server.on("failed", onFailed);
    server.on("expired", onExpired);
    server.on("recovered", onRecovered);
    server.on("error", onError);
  }
  return {
    unregister: () => {
      for (const server of list) {
        server.off("active", onActive);
        server.off("completed", onCompleted);
        server.off("failed", onFailed);
        server.off("expired", onExpired);
        server.off("recovered", onRecovered);
        server.off("error", onError);
      }
      for (const name of Object.values(SERVER_METRICS)) registry.removeSingleMetric(name);
    },
  };
}
