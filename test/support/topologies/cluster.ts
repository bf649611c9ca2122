// A Redis Cluster on consecutive loopback ports: each node started with `--cluster-enabled yes` in a
// directory of its own, and ready once every node reports `cluster_state:ok` with every slot served
// and all nodes known. By default 3 masters and 3 replicas, joined by `redis-cli --cluster create
// --cluster-replicas 1` (what the conformance suite runs on). Other shapes are for the benchmarks
// (bench/cluster-scale.ts: 1, 2 and 3 masters, no replicas): `redis-cli --cluster create` refuses
// fewer than 3 masters, so below 3 the slots are assigned here (CLUSTER ADDSLOTSRANGE, split as
// redis-cli splits them) and the nodes joined with CLUSTER MEET and CLUSTER REPLICATE.
import { spawnSync } from "node:child_process";
import { baseArgs, binary, cli, nodeDir, startNode, waitFor, type NodeProcess } from "./node.js";

/** A running cluster. */
export interface ClusterTopology {
  /** Every node: the masters first (as created), then the replicas. */
  readonly nodes: readonly NodeProcess[];
  /** Seed nodes for ioredis's Cluster. */
  readonly seeds: ReadonlyArray<{ host: string; port: number }>;
  /** The asynq-ts cluster URL (docs/deployment.md): every node a seed. */
  readonly url: string;
  /** Ports of the nodes that are masters now (they change after a failover). */
  masterPorts(): number[];
  /** Stops every node and removes their directories. */
  stop: () => Promise<void>;
}

/** The shape of a cluster and the server it runs. */
export interface ClusterOptions {
  /**
   * Masters, each serving an equal share of the 16,384 slots (1 to 100).
   * @defaultValue 3
   */
  masters?: number;
  /**
   * Replicas of each master (0 to 5).
   * @defaultValue 1
   */
  replicasPerMaster?: number;
  /**
   * The server binary of every node.
   * @defaultValue `redis-server` from PATH
   */
  serverBinary?: string;
}

/** How long a node may be unreachable before the others fail it over (ms). */
const NODE_TIMEOUT_MS = 3000;
const SLOTS = 16_384;
/** Below this many masters `redis-cli --cluster create` refuses to build a cluster. */
const CLI_MIN_MASTERS = 3;

/**
 * Starts a cluster on ports `firstPort` … `firstPort + masters × (1 + replicasPerMaster) - 1`, the
 * masters on the first ports. `startCluster(port)`: 3 masters and 3 replicas on six ports.
 * @throws Error for a shape out of range, or when a node does not start, the cluster cannot be
 *   created, or it is not ok within 30 s (the nodes started are stopped again).
 * @example
 * ```ts
 * const cluster = await startCluster(7210, { masters: 2, replicasPerMaster: 0 });
 * try { … new Server(cluster.url, …) … } finally { await cluster.stop(); }
 * ```
 */
export async function startCluster(
  firstPort: number,
  options: ClusterOptions = {},
): Promise<ClusterTopology> {
  const { masters = 3, replicasPerMaster = 1, serverBinary = binary("redis-server") } = options;
  if (!Number.isInteger(masters) || masters < 1 || masters > 100)
    throw new Error(`masters must be an integer from 1 to 100, not ${masters}`);
  if (!Number.isInteger(replicasPerMaster) || replicasPerMaster < 0 || replicasPerMaster > 5)
    throw new Error(`replicasPerMaster must be an integer from 0 to 5, not ${replicasPerMaster}`);
  const ports = Array.from({ length: masters * (1 + replicasPerMaster) }, (_, i) => firstPort + i);
  const nodes: NodeProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (const port of ports) nodes.push(await startClusterNode(serverBinary, port));
    if (masters >= CLI_MIN_MASTERS) createWithCli(ports, replicasPerMaster);
    else await createByHand(ports, masters);
    await waitFor(
      () => ports.every((p) => clusterOk(p, ports.length)),
      "the cluster to be ok on all nodes",
      30_000,
    );
    // The replicas must have synced too, or a test's first failover could lose what was written.
    await waitFor(
      () => replicasInSync(ports, ports.length - masters),
      "every replica to finish its first sync",
      30_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const seeds = ports.map((port) => ({ host: "127.0.0.1", port }));
  return {
    nodes,
    seeds,
    url: clusterUrl(ports),
    masterPorts: () => ports.filter((p) => /role:master/.test(cli(p, ["INFO", "replication"]))),
    stop,
  };
}

/** `redis://127.0.0.1:<first>?cluster=true&addr=127.0.0.1:<other>…` (docs/deployment.md). */
export function clusterUrl(ports: readonly number[]): string {
  const [first, ...rest] = ports;
  const extra = rest.map((p) => `&addr=127.0.0.1:${p}`).join("");
  return `redis://127.0.0.1:${first}?cluster=true${extra}`;
}

/**
 * The slot range `[first, last]` of master `index` of `masters`: equal shares in order, as
 * `redis-cli --cluster create` assigns them (3 masters: 0-5460, 5461-10922, 10923-16383).
 */
function slotRange(index: number, masters: number): [number, number] {
  const share = SLOTS / masters;
  return [Math.round(index * share), Math.round((index + 1) * share) - 1];
}

function startClusterNode(serverBinary: string, port: number): Promise<NodeProcess> {
  const dir = nodeDir(`cluster-${port}`);
  const args = [
    ...baseArgs(port, dir),
    "--cluster-enabled",
    "yes",
    "--cluster-config-file",
    "nodes.conf",
    "--cluster-node-timeout",
    String(NODE_TIMEOUT_MS),
  ];
  return startNode(serverBinary, args, port, dir);
}

/** `redis-cli --cluster create`: it makes the first `ports.length / (1 + replicas)` nodes masters. */
function createWithCli(ports: readonly number[], replicasPerMaster: number): void {
  const create = spawnSync(
    binary("redis-cli"),
    [
      "--cluster",
      "create",
      ...ports.map((p) => `127.0.0.1:${p}`),
      "--cluster-replicas",
      String(replicasPerMaster),
      "--cluster-yes",
    ],
    { encoding: "utf8", timeout: 60_000 },
  );
  if (create.status !== 0)
    throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
}

/**
 * What `redis-cli --cluster create` does, for any number of masters: a distinct config epoch and a
 * slot range per master, every node met by the first, then each replica attached to its master
 * (replica `j` of the list serves master `j % masters`, as redis-cli pairs them).
 */
async function createByHand(ports: readonly number[], masters: number): Promise<void> {
  const must = (port: number, args: string[]): void => {
    const reply = cli(port, args);
    if (reply !== "OK") throw new Error(`${args.join(" ")} on port ${port} answered "${reply}"`);
  };
  const masterPorts = ports.slice(0, masters);
  masterPorts.forEach((port, i) => {
    // Distinct epochs from the start: no collision for the cluster to resolve after the MEET.
    must(port, ["CLUSTER", "SET-CONFIG-EPOCH", String(i + 1)]);
    const [first, last] = slotRange(i, masters);
    must(port, ["CLUSTER", "ADDSLOTSRANGE", String(first), String(last)]);
  });
  // A lone node meets itself: a node learns its own address only from a MEET, and until then CLUSTER
  // SLOTS names its host as "", which ioredis skips (so a Cluster client finds no node and hangs).
  for (const port of ports.length === 1 ? ports : ports.slice(1))
    must(ports[0]!, ["CLUSTER", "MEET", "127.0.0.1", String(port)]);
  await waitFor(
    () => ports.every((p) => cli(p, ["CLUSTER", "INFO"]).includes(`cluster_known_nodes:${ports.length}`)),
    "every node to know every other",
    30_000,
  );
  const ids = masterPorts.map((port) => cli(port, ["CLUSTER", "MYID"]));
  ports.slice(masters).forEach((port, j) => must(port, ["CLUSTER", "REPLICATE", ids[j % masters]!]));
}

function clusterOk(port: number, size: number): boolean {
  const info = cli(port, ["CLUSTER", "INFO"]);
  return (
    info.includes("cluster_state:ok") &&
    info.includes(`cluster_slots_ok:${SLOTS}`) &&
    info.includes(`cluster_known_nodes:${size}`)
  );
}

function replicasInSync(ports: readonly number[], expected: number): boolean {
  let replicas = 0;
  for (const port of ports) {
    const info = cli(port, ["INFO", "replication"]);
    if (!info.includes("role:slave")) continue;
    if (!info.includes("master_link_status:up") || info.includes("master_sync_in_progress:1")) return false;
    replicas++;
  }
  return replicas === expected;
}
