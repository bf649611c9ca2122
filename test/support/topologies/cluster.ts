// A Redis Cluster of 3 masters and 3 replicas on six consecutive loopback ports: each node started with
// `--cluster-enabled yes` in a directory of its own, joined by `redis-cli --cluster create
// --cluster-replicas 1`, and ready once every node reports `cluster_state:ok` with every slot served
// and all six nodes known.
import { spawnSync } from "node:child_process";
import { baseArgs, binary, cli, nodeDir, startNode, waitFor, type NodeProcess } from "./node.js";

/** A running cluster. */
export interface ClusterTopology {
  /** The six nodes, masters first as created (`redis-cli` makes the first three masters). */
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

/** How long a node may be unreachable before the others fail it over (ms). */
const NODE_TIMEOUT_MS = 3000;

/**
 * Starts the cluster on ports `firstPort` … `firstPort + 5`.
 * @throws Error when a node does not start, the cluster cannot be created, or it is not ok within 30 s
 *   (the nodes started are stopped again).
 */
export async function startCluster(
  firstPort: number,
  serverBinary = binary("redis-server"),
): Promise<ClusterTopology> {
  const ports = [0, 1, 2, 3, 4, 5].map((i) => firstPort + i);
  const nodes: NodeProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (const port of ports) {
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
      nodes.push(await startNode(serverBinary, args, port, dir));
    }
    const create = spawnSync(
      binary("redis-cli"),
      [
        "--cluster",
        "create",
        ...ports.map((p) => `127.0.0.1:${p}`),
        "--cluster-replicas",
        "1",
        "--cluster-yes",
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    if (create.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    await waitFor(
      () => ports.every((p) => clusterOk(p, ports.length)),
      "the cluster to be ok on all nodes",
      30_000,
    );
    // The replicas must have synced too, or a test's first failover could lose what was written.
    await waitFor(() => replicasInSync(ports), "every replica to finish its first sync", 30_000);
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

function clusterOk(port: number, size: number): boolean {
  const info = cli(port, ["CLUSTER", "INFO"]);
  return (
    info.includes("cluster_state:ok") &&
    info.includes("cluster_slots_ok:16384") &&
    info.includes(`cluster_known_nodes:${size}`)
  );
}

function replicasInSync(ports: readonly number[]): boolean {
  let replicas = 0;
  for (const port of ports) {
    const info = cli(port, ["INFO", "replication"]);
    if (!info.includes("role:slave")) continue;
    if (!info.includes("master_link_status:up") || info.includes("master_sync_in_progress:1")) return false;
    replicas++;
  }
  return replicas === ports.length / 2;
}
