// A Sentinel set: one master, one replica of it, and three `redis-sentinel`s (redis-server --sentinel)
// watching the master under the name "asynq", with a quorum of 2 and a short down-after so that a
// failover test takes seconds. Ready once every sentinel knows the replica and the other sentinels.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { baseArgs, binary, cli, nodeDir, startNode, waitFor, type NodeProcess } from "./node.js";

/** The master name the sentinels watch. */
export const SENTINEL_MASTER_NAME = "asynq";

/** A running Sentinel set. */
export interface SentinelTopology {
  readonly master: NodeProcess;
  readonly replica: NodeProcess;
  readonly sentinels: readonly NodeProcess[];
  /** The sentinels, as ioredis's `sentinels` option takes them. */
  readonly sentinelAddresses: ReadonlyArray<{ host: string; port: number }>;
  /** The asynq-ts sentinel URL (docs/deployment.md). */
  readonly url: string;
  /** The port of the master the sentinels name now (it changes after a failover). */
  currentMasterPort(): number | undefined;
  stop: () => Promise<void>;
}

/** How long the master may not answer before a sentinel deems it down (ms). */
const DOWN_AFTER_MS = 2000;

/**
 * Starts the master on `masterPort`, its replica on `replicaPort` and the sentinels on `sentinelPorts`.
 * @throws Error when a process does not start or the set is not formed within 30 s.
 */
export async function startSentinel(
  masterPort: number,
  replicaPort: number,
  sentinelPorts: readonly number[],
): Promise<SentinelTopology> {
  const server = binary("redis-server");
  const started: NodeProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((n) => n.stop()));
  };
  try {
    const masterDir = nodeDir(`sentinel-master-${masterPort}`);
    const master = await startNode(server, baseArgs(masterPort, masterDir), masterPort, masterDir);
    started.push(master);
    const replicaDir = nodeDir(`sentinel-replica-${replicaPort}`);
    const replicaArgs = [
      ...baseArgs(replicaPort, replicaDir),
      "--replicaof",
      "127.0.0.1",
      String(masterPort),
    ];
    const replica = await startNode(server, replicaArgs, replicaPort, replicaDir);
    started.push(replica);
    await waitFor(
      () => cli(replicaPort, ["INFO", "replication"]).includes("master_link_status:up"),
      "the replica to sync",
      30_000,
    );
    const sentinels: NodeProcess[] = [];
    for (const port of sentinelPorts) {
      const dir = nodeDir(`sentinel-${port}`);
      // A sentinel rewrites its configuration file, so it must be a file of its own.
      const conf = join(dir, "sentinel.conf");
      writeFileSync(
        conf,
        [
          `port ${port}`,
          "bind 127.0.0.1",
          `dir ${dir}`,
          `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} ${DOWN_AFTER_MS}`,
          `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 10000`,
          `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
          "",
        ].join("\n"),
      );
      const node = await startNode(server, [conf, "--sentinel"], port, dir);
      started.push(node);
      sentinels.push(node);
    }
    await waitFor(
      () =>
        sentinelPorts.every((p) => {
          const info = cli(p, ["SENTINEL", "MASTER", SENTINEL_MASTER_NAME]);
          return /num-slaves\n1\b/.test(info) && /num-other-sentinels\n2\b/.test(info);
        }),
      "every sentinel to know the replica and the other sentinels",
      30_000,
    );
    const sentinelAddresses = sentinelPorts.map((port) => ({ host: "127.0.0.1", port }));
    return {
      master,
      replica,
      sentinels,
      sentinelAddresses,
      url: sentinelUrl(sentinelPorts),
      currentMasterPort: () => {
        for (const p of sentinelPorts) {
          const reply = cli(p, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", SENTINEL_MASTER_NAME]).split("\n");
          if (reply.length === 2) return Number(reply[1]);
        }
        return undefined;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** `redis://127.0.0.1:<sentinel>?sentinel=asynq&addr=…` (docs/deployment.md). */
export function sentinelUrl(sentinelPorts: readonly number[]): string {
  const [first, ...rest] = sentinelPorts;
  const extra = rest.map((p) => `&addr=127.0.0.1:${p}`).join("");
  return `redis://127.0.0.1:${first}?sentinel=${SENTINEL_MASTER_NAME}${extra}`;
}
