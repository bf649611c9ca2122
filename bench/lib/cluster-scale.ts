// One run of bench/cluster-scale.ts: a cluster of N masters with its queues spread over the masters,
// a timed batch enqueue, then worker children (bench/lib/worker.ts) timed until every task is
// processed, with the CPU seconds of each master and of each worker. Everything started is kept in
// `started`, so that the entry can stop it on any exit path.
import { loadavg } from "node:os";
import { Cluster, Redis } from "ioredis";
import { processedTotalKey } from "../../src/wire/keys.js";
import { startCluster, type ClusterTopology } from "../../test/support/topologies/cluster.js";
import { loadAsynqTs } from "./asynq.js";
import { spawnWorkers, type WorkerChild } from "./children.js";
import { payload, TASK_TYPE } from "./libs.js";
import { infoNumbers, redisCpuSeconds } from "./redis.js";
import { sleep } from "./stats.js";

const POLL_MS = 20;

/** What a run needs from the command line. */
export interface RunParams {
  /** Tasks enqueued (plus one untimed per queue first). */
  tasks: number;
  /** Tasks per enqueueBatch call. */
  batch: number;
  /** Worker processes, each a Server over every queue. */
  workers: number;
  concurrency: number;
}

/** A cluster of one size, with the queues picked for it and a connection to each master. */
export interface Size {
  masters: number;
  topology: ClusterTopology;
  admin: Cluster;
  /** One connection per master, for INFO cpu and FLUSHALL (in master order). */
  masterConnections: Redis[];
  /** Queue name -> port of the master that serves its slot. */
  queues: Map<string, number>;
}

/** Everything started, so that any exit path (error, signal) can stop it: {@link stopEverything}. */
export const started = { sizes: [] as Size[], workers: [] as WorkerChild[] };

/** Kills the workers still running and stops every cluster started. */
export async function stopEverything(): Promise<void> {
  for (const w of started.workers) w.kill();
  started.workers = [];
  const sizes = started.sizes.splice(0);
  for (const s of sizes) {
    s.admin.disconnect();
    for (const c of s.masterConnections) c.disconnect();
  }
  await Promise.all(sizes.map((s) => s.topology.stop()));
}

/** The master port of each slot range, from CLUSTER SLOTS. */
async function slotOwners(admin: Cluster): Promise<Array<[first: number, last: number, port: number]>> {
  const slots = await admin.cluster("SLOTS");
  return slots.map(([first, last, master]) => [first, last, master![1]]);
}

/**
 * Picks `count` queue names (`scale-0`, `scale-1`, …, skipping names whose slot falls on a master
 * that has its share) so that every master serves `count / masters` of them, give or take one.
 */
async function pickQueues(
  admin: Cluster,
  masterPorts: readonly number[],
  count: number,
): Promise<Map<string, number>> {
  const owners = await slotOwners(admin);
  const share = (i: number) =>
    Math.floor(count / masterPorts.length) + (i < count % masterPorts.length ? 1 : 0);
  const taken = new Map<number, number>(masterPorts.map((p) => [p, 0]));
  const queues = new Map<string, number>();
  for (let k = 0; queues.size < count; k++) {
    if (k > 100_000) throw new Error("could not spread the queues over the masters");
    const name = `scale-${k}`;
    const slot = await admin.cluster("KEYSLOT", processedTotalKey(name));
    const port = owners.find(([first, last]) => slot >= first && slot <= last)?.[2];
    if (port === undefined) throw new Error(`no master serves slot ${slot}`);
    if (taken.get(port)! < share(masterPorts.indexOf(port))) {
      taken.set(port, taken.get(port)! + 1);
      queues.set(name, port);
    }
  }
  return queues;
}

/**
 * Starts a cluster of `masters` masters (no replicas) from `firstPort` and picks its queues.
 * @throws Error when the cluster cannot be started or the queues cannot be spread.
 */
export async function startSize(masters: number, firstPort: number, queueCount: number): Promise<Size> {
  const topology = await startCluster(firstPort, { masters, replicasPerMaster: 0 });
  const admin = new Cluster([...topology.seeds], { redisOptions: { maxRetriesPerRequest: 1 } });
  const size: Size = { masters, topology, admin, masterConnections: [], queues: new Map() };
  started.sizes.push(size);
  const ports = topology.masterPorts();
  size.masterConnections = ports.map(
    (port) => new Redis({ host: "127.0.0.1", port, maxRetriesPerRequest: 1 }),
  );
  size.queues = await pickQueues(admin, ports, queueCount);
  return size;
}

/**
 * Enqueues `tasks` tasks round-robin over the queues, `batch` per call; returns the seconds it took.
 * One task per queue goes first, untimed: the Client connects on its first call (slot map, a
 * connection per master, scripts loaded), which is not what the enqueue column measures.
 */
async function fill(size: Size, o: RunParams): Promise<number> {
  const { Client } = await loadAsynqTs();
  const client = new Client(size.topology.url);
  const names = [...size.queues.keys()];
  const enqueue = async (from: number, count: number): Promise<void> => {
    const tasks = Array.from({ length: count }, (_, k) => ({
      type: TASK_TYPE,
      payload: payload(from + k),
      options: { queue: names[(from + k) % names.length]! },
    }));
    const failed = (await client.enqueueBatch(tasks)).find((r) => !r.ok);
    if (failed !== undefined && !failed.ok) throw failed.error;
  };
  try {
    await enqueue(0, names.length);
    const t0 = performance.now();
    for (let from = 0; from < o.tasks; from += o.batch)
      await enqueue(from, Math.min(o.batch, o.tasks - from));
    return (performance.now() - t0) / 1000;
  } finally {
    await client.close();
  }
}

async function processedSoFar(size: Size): Promise<number> {
  const counts = await Promise.all([...size.queues.keys()].map((q) => size.admin.get(processedTotalKey(q))));
  return counts.reduce((sum, c) => sum + Number(c ?? 0), 0);
}

/** `total_commands_processed` and `total_reads_processed` (socket reads), summed over the masters. */
async function commandsAndReads(size: Size): Promise<[commands: number, reads: number]> {
  const stats = await Promise.all(size.masterConnections.map((c) => infoNumbers(c, "stats")));
  const total = (field: string) => stats.reduce((sum, s) => sum + (s.get(field) ?? 0), 0);
  return [total("total_commands_processed"), total("total_reads_processed")];
}

/** Figures of one run of one size. */
export interface Run {
  masters: number;
  round: number;
  /** Tasks processed in the drain. */
  tasks: number;
  tasksPerSec: number;
  enqueuePerSec: number;
  drainSeconds: number;
  /** CPU seconds of each master over the drain, in master order. */
  redisCpu: number[];
  /**
   * Commands the masters ran per task (`total_commands_processed`, which counts the commands run
   * inside scripts too), the harness' polling included (a GET per queue every 20 ms: about 0.02).
   */
  commandsPerTask: number;
  /**
   * Commands (those inside scripts included) per socket read, over the masters: how much work a
   * client's write carried (ioredis sends what a tick queued for a node in one write). Fewer per
   * read is more system calls and event-loop turns per command.
   */
  commandsPerRead: number;
  /** CPU seconds of each worker process from start to stop. */
  workerCpu: number[];
  /** Cores busy over the drain: workers and masters. */
  coresBusy: number;
  load1: number;
}

/**
 * One run on one size: empty the masters, enqueue (timed), spawn the workers (untimed), then time the
 * drain and take the CPU seconds of the masters and the workers.
 * @throws Error when the queues do not drain in time or a worker fails.
 */
export async function runOnce(size: Size, o: RunParams, roundNo: number): Promise<Run> {
  await Promise.all(size.masterConnections.map((c) => c.flushall()));
  const enqueueSeconds = await fill(size, o);
  const workers = await spawnWorkers("asynq-ts", size.topology.url, o.workers, o.concurrency, {
    queues: [...size.queues.keys()],
  });
  started.workers = workers;
  const cpu0 = await Promise.all(size.masterConnections.map((c) => redisCpuSeconds(c)));
  const [commands0, reads0] = await commandsAndReads(size);
  const t0 = performance.now();
  for (const w of workers) w.start();
  const timeoutMs = 60_000 + o.tasks * 5;
  const total = o.tasks + size.queues.size; // with fill()'s first task per queue
  while ((await processedSoFar(size)) < total) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`${size.masters} master(s): not drained in time`);
    await sleep(POLL_MS);
  }
  const drainSeconds = (performance.now() - t0) / 1000;
  const cpu1 = await Promise.all(size.masterConnections.map((c) => redisCpuSeconds(c)));
  const [commands1, reads1] = await commandsAndReads(size);
  const commands = commands1 - commands0;
  const reports = await Promise.all(workers.map((w) => w.stop()));
  started.workers = [];
  const handled = reports.reduce((sum, r) => sum + r.handled, 0);
  if (handled < total) throw new Error(`handlers ran ${handled} times for ${total} tasks`);
  const redisCpu = cpu1.map((c, i) => c - cpu0[i]!);
  const workerCpu = reports.map((r) => r.cpuSeconds);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    masters: size.masters,
    round: roundNo,
    tasks: total,
    tasksPerSec: total / drainSeconds,
    enqueuePerSec: o.tasks / enqueueSeconds,
    drainSeconds,
    redisCpu,
    commandsPerTask: commands / total,
    commandsPerRead: commands / (reads1 - reads0),
    workerCpu,
    coresBusy: (sum(redisCpu) + sum(workerCpu)) / drainSeconds,
    load1: loadavg()[0] ?? 0,
  };
}
