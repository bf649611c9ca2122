// Which test files each flavour runs. The existing integration files run unchanged; the choice keeps
// the whole suite (every flavour, 2 cores) near 8 minutes: every flavour runs the core (enqueue,
// process, inspect); the cluster, where the most can differ (slots, pipelines, SCAN, blocking waits,
// pub/sub), runs the most.
//
// Left out on a Cluster, as the files themselves assume one server (not the library): those that open
// `new Redis(testRedisUrl())` or proxy a single port (client/enqueue, client/connection,
// server/shutdown, server/logging, heartbeater outages), read Redis's MONITOR feed (forwarder, janitor,
// inspector/queues), send multi-key commands across queues (scheduler, queue-removal's golden t), or
// expect NotClusterError (inspector/servers). What they cover on a Cluster is in cluster.test.ts.

/** Run on every single-server flavour: enqueue, the server's pipeline end to end, the Inspector. */
const CORE = [
  "test/client/batch.test.ts",
  "test/server/outcomes.test.ts",
  "test/server/expiration.test.ts",
  "test/inspector/basics.test.ts",
];

/**
 * Files that reach Redis at the URL's own host and port (`new Redis(testRedisUrl())`, MONITOR on a
 * raw socket): every single-server flavour but Sentinel, whose URL names a sentinel.
 */
const DIRECT = ["test/client/enqueue.test.ts", "test/inspector/queues.test.ts"];

/** What a Cluster adds: every other domain of the broker, the doctor, and the web dashboard. */
const CLUSTER = [
  "test/client/batch.test.ts",
  "test/client/snapshots.test.ts",
  "test/server/outcomes.test.ts",
  "test/server/expiration.test.ts",
  "test/server/priority.test.ts",
  "test/server/concurrency.test.ts",
  "test/server/bad-input.test.ts",
  "test/server/archive-limits.test.ts",
  "test/server/recoverer.test.ts",
  "test/inspector/basics.test.ts",
  "test/inspector/bulk.test.ts",
  "test/inspector/iterate.test.ts",
  "test/inspector/list.test.ts",
  "test/inspector/mutate.test.ts",
  "test/inspector/tasks.test.ts",
  "test/inspector/golden-readback.test.ts",
  "test/group/server.test.ts",
  "test/doctor/clean.test.ts",
  "test/events/wait.test.ts",
  "test/events/progress.test.ts",
  "test/events/queue-events.test.ts",
  "test/events/lost.test.ts",
  "test/conformance/cluster.test.ts",
  "test/conformance/cluster-halfopen.test.ts",
  "test/conformance/dashboard.test.ts",
  "test/conformance/reshard.test.ts",
];

/** The files of each flavour. */
export const FILES: Record<string, readonly string[]> = {
  standalone: [...CORE, ...DIRECT],
  cluster: CLUSTER,
  sentinel: [...CORE, "test/conformance/sentinel.test.ts"],
  tls: [...CORE, ...DIRECT],
  // The ACL user must be enough for every domain: scheduler, heartbeats, the Inspector's mutations.
  acl: [
    ...CORE,
    ...DIRECT,
    "test/inspector/mutate.test.ts",
    "test/server/heartbeater.test.ts",
    "test/scheduler/scheduler.test.ts",
    "test/events/wait.test.ts",
    "test/events/progress.test.ts",
    "test/events/lost.test.ts",
  ],
  valkey: [...CORE, ...DIRECT, "test/server/priority.test.ts", "test/inspector/mutate.test.ts"],
};
