// Every default and bound of asynq-ts's options, in one deeply frozen object. The Server's config
// resolution, the Client's enqueue options, the Inspector and the connection options read their numbers
// here; components receive the resolved values and have no defaults of their own. The
// `@defaultValue` tags of the option types cite these numbers (test/repo/defaults.test.ts checks the
// Server's). Durations are milliseconds.

const DAY_MS = 24 * 60 * 60 * 1000;

/** Freezes `value` and every object inside it. */
function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) {
    if (typeof inner === "object" && inner !== null) deepFreeze(inner as object);
  }
  return Object.freeze(value);
}

/** The defaults and bounds of every option. */
export const DEFAULTS = deepFreeze({
  /** `ServerConfig` (src/server/config.ts). */
  server: {
    // concurrency has no fixed default: it is the number of CPUs, `os.availableParallelism()`, as
    // asynq's `runtime.NumCPU()`; at least `min.concurrency`.
    queues: { default: 1 },
    strictPriority: false,
    shutdownTimeout: 8000,
    onExpired: "archive",
    /** asynq's: keep it when Go servers share the queues. */
    leaseDuration: 30_000,
    pollInterval: 1000,
    /** asynq's. */
    healthCheckInterval: 15_000,
    /** asynq's; the server's keys live twice as long. */
    heartbeatInterval: 5000,
    /** asynq: 60000. Recovering a crashed worker's tasks within 10 s costs one listing per queue. */
    recoverInterval: 10_000,
    /** asynq's: room for clock skew and slow heartbeats. */
    recoveryGrace: 30_000,
    /** asynq's JanitorInterval. */
    janitorInterval: 8000,
    /** asynq's JanitorBatchSize. */
    janitorBatchSize: 100,
    /** asynq's GroupGracePeriod: a group is aggregated once no task joined it for this long. */
    groupGracePeriod: 60_000,
    /** asynq's GroupMaxDelay: 0 = no limit on how long a group's oldest task waits. */
    groupMaxDelay: 0,
    /** asynq's GroupMaxSize: 0 = no limit on the tasks of one aggregation. */
    groupMaxSize: 0,
    logLevel: "info",
    /** The smallest value each integer option accepts. */
    min: {
      concurrency: 1,
      shutdownTimeout: 0,
      leaseDuration: 1000,
      pollInterval: 10,
      healthCheckInterval: 10,
      heartbeatInterval: 10,
      recoverInterval: 10,
      recoveryGrace: 0,
      janitorInterval: 10,
      janitorBatchSize: 1,
      /** asynq panics under 1 s. */
      groupGracePeriod: 1000,
      groupMaxDelay: 0,
      groupMaxSize: 0,
    },
  },
  /** The aggregator (src/server/aggregator.ts), asynq's. */
  aggregator: {
    /** Checks run every min(this, groupGracePeriod) ms. */
    checkInterval: 7000,
    /** How long an aggregation set is the aggregator's before the recoverer reclaims it. */
    setDeadline: 120_000,
    /** Members read (and deleted) per round trip. */
    pageSize: 1000,
  },
  /** Limits of each queue's archive: the Server's `archive` option and the Inspector's (asynq's). */
  archive: {
    maxSize: 10_000,
    maxAge: 90 * DAY_MS,
    min: { maxSize: 1, maxAge: 1000 },
  },
  /** The forwarder checks once every `interval`, `alignOffset` after each whole multiple of it (asynq: every 5 s). */
  forwarder: {
    interval: 1000,
    /** Scores are whole unix seconds; 5 ms leaves room for a timer that fires a little early. */
    alignOffset: 5,
  },
  /** `ConnectionOptions` (src/broker/connection/options.ts), of the Client, the Server and the Inspector. */
  connection: {
    commandTimeout: 5000,
    connectTimeout: 5000,
    /** Bounds of both timeouts (an hour is already far past any useful bound). */
    min: 100,
    max: 3_600_000,
  },
  /** `EnqueueOptions` (src/client/options.ts), asynq's client defaults (wire-format §5.1). */
  enqueue: {
    queue: "default",
    maxRetry: 25,
    /** Per attempt, when neither `timeout` nor `deadline` is given; the server's fallback too (wire-format §5.4). */
    timeout: 30 * 60 * 1000,
  },
  /** `SchedulerOptions` (src/scheduler/options.ts) and the PeriodicTaskManager. */
  scheduler: {
    /** asynq's SchedulerOpts.Location: specs without `CRON_TZ=` are read in UTC, not the machine's zone. */
    location: "UTC",
    /** asynq's (HEAD); the entries list lives twice as long. */
    heartbeatInterval: 10_000,
    logLevel: "info",
    /** asynq's: ticks missed while no scheduler ran are not made up. */
    missedTicks: "skip",
    /** asynq's cap of each entry's enqueue history. */
    historySize: 1000,
    /**
     * How long an entry's tick marker outlives the interval to its next tick: the longest a late
     * scheduler may fire a tick after another one enqueued it and still be refused.
     */
    tickMarkerGrace: 60_000,
    /** asynq's PeriodicTaskManager SyncInterval. */
    syncInterval: 3 * 60 * 1000,
    min: { heartbeatInterval: 10, syncInterval: 10, runOnceWithin: 1000 },
  },
  /** Pagination of the Inspector's listings. */
  inspector: {
    pageSize: 30,
    /** Tasks read per round trip pair by `iterateTasks`. */
    iterateBatch: 100,
    max: {
      /** The largest page (and iteration batch): bigger reads would hold Redis for too long. */
      pageSize: 10_000,
      /** Days `history` reads (daily counters live 90 days). */
      historyDays: 3650,
    },
  },
  /** `SandboxOptions` (src/sandbox/options.ts). */
  sandbox: {
    /** ms an aborted attempt may take to return before its thread is terminated: enough to unwind. */
    abortGrace: 200,
  },
} as const);
