// What a Redis Cluster connection needs that a single server does not. The broker's operations take a
// connection typed as a single server (`Redis`); an ioredis Cluster answers the same commands,
// routing each by the hash slot of its keys. Every per-queue key shares the `{<queue>}` hash tag, so a
// script or MULTI of one queue runs on one shard; what differs is handled here, only for a Cluster
// (a single server's commands take the same path as before, with no extra step):
//
// - Pipelines. ioredis refuses a cluster pipeline whose keys live on different masters, and several
//   read paths pipeline a cross-queue key (`asynq:queues`, `asynq:servers`) with per-queue keys. On a
//   Cluster, `pipeline()` returns a pipeline that sends each command on its own (routed by its slot),
//   all at once, and gathers the replies in order, as `exec()` does. A pipeline was never atomic, so
//   nothing changes in what Redis does; commands for one master still arrive in the order given.
// - SCAN walks every master (scanStep), script preloading loads on every master (forEachMaster), and
//   `duplicate()` takes the Cluster's own arguments (duplicateConnection).
import { Cluster, type ChainableCommander, type Redis, type RedisOptions } from "ioredis";

/** True for an ioredis Cluster, of this or another copy of ioredis (ioredis sets `isCluster`). */
export function isCluster(redis: unknown): boolean {
  return (
    redis instanceof Cluster ||
    (typeof redis === "object" && redis !== null && (redis as { isCluster?: unknown }).isCluster === true)
  );
}

/** The Cluster behind a connection that isCluster() accepted. */
function asCluster(redis: Redis): Cluster {
  return redis as unknown as Cluster;
}

/**
 * The Cluster as the broker's operations use it: the Cluster itself, but for `pipeline()`, which
 * returns a {@link splitPipeline}. The proxy leaves the Cluster unchanged (a caller's Cluster stays
 * as it was), and its other members are the Cluster's own, called on the Cluster.
 */
export function clusterFacade(cluster: Cluster): Redis {
  const pipeline = (): ChainableCommander => splitPipeline(cluster);
  // Methods are bound to the Cluster (once each), so ioredis's code never sees the proxy as `this`.
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(cluster, {
    get(target, property) {
      if (property === "pipeline") return pipeline;
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== "function") return value;
      let method = bound.get(property);
      if (method === undefined) bound.set(property, (method = (value as () => unknown).bind(target)));
      return method;
    },
  }) as unknown as Redis;
}

/** One recorded command of a split pipeline. */
type Recorded = [name: string, args: unknown[]];
type Reply = [Error | null, unknown];

/**
 * A pipeline for a Cluster whose commands may live on different masters: records the commands (any
 * command method, chainable as on ioredis's pipeline) and, on `exec()`, sends each one through the
 * Cluster and resolves with `[error, reply]` per command, in order. Never rejects: as with ioredis,
 * a failed command is an error in its slot of the replies.
 */
export function splitPipeline(cluster: Cluster): ChainableCommander {
  const queue: Recorded[] = [];
  const commands = cluster as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const exec = async (): Promise<Reply[]> =>
    Promise.all(
      queue.splice(0).map(async ([name, args]): Promise<Reply> => {
        try {
          return [null, await commands[name]!.apply(cluster, args)];
        } catch (error) {
          return [error instanceof Error ? error : new Error(String(error)), null];
        }
      }),
    );
  const recorder: ChainableCommander = new Proxy({} as ChainableCommander, {
    get(_, property) {
      if (property === "exec") return exec;
      if (property === "length") return queue.length;
      if (typeof property !== "string" || typeof commands[property] !== "function") return undefined;
      return (...args: unknown[]) => {
        queue.push([property, args]);
        return recorder;
      };
    },
  });
  return recorder;
}

/** The masters of a Cluster, in a stable order (by address). */
export function masters(redis: Redis): Redis[] {
  return asCluster(redis)
    .nodes("master")
    .sort((a, b) => address(a).localeCompare(address(b)));
}

/** A node's `host:port`, as it was given to (or discovered by) ioredis. */
export function address(node: Redis): string {
  return `${node.options.host ?? ""}:${node.options.port ?? 0}`;
}

/** Runs `fn` on every master of a Cluster (e.g. SCRIPT LOAD, which a Cluster sends to one node). */
export async function forEachMaster(redis: Redis, fn: (node: Redis) => Promise<unknown>): Promise<void> {
  await Promise.all(masters(redis).map(fn));
}

/**
 * One SCAN step over a whole Cluster: its cursor is `<master index>:<cursor on that master>` ("0" to
 * start, and "0" once the last master is done), the masters taken in address order.
 */
export async function clusterScanStep(
  redis: Redis,
  cursor: string,
  match: string,
  count: number,
): Promise<[string, string[]]> {
  const nodes = masters(redis);
  const [indexText, nodeCursor] = cursor === "0" ? ["0", "0"] : cursor.split(":");
  const index = Number(indexText);
  const node = nodes[index];
  if (node === undefined || nodeCursor === undefined) return ["0", []];
  const [next, found] = await node.scan(nodeCursor, "MATCH", match, "COUNT", count);
  if (next !== "0") return [`${index}:${next}`, found];
  return [index + 1 < nodes.length ? `${index + 1}:0` : "0", found];
}

/** One SCAN step of a single server, or of every master of a Cluster (see clusterScanStep). */
export async function scanStep(
  redis: Redis,
  cursor: string,
  match: string,
  count: number,
): Promise<[string, string[]]> {
  if (isCluster(redis)) return clusterScanStep(redis, cursor, match, count);
  const [next, found] = await redis.scan(cursor, "MATCH", match, "COUNT", count);
  return [next, found];
}

/**
 * A new connection like `redis` with `overrides` (blocking waits, the subscriber): `duplicate()` of a
 * single server; of a Cluster, a Cluster with the same seeds whose nodes get `overrides`.
 */
export function duplicateConnection(redis: Redis, overrides: RedisOptions): Redis {
  if (!isCluster(redis)) return redis.duplicate(overrides);
  const cluster = asCluster(redis);
  const { connectionName, ...nodeOptions } = overrides;
  const duplicate = cluster.duplicate([], {
    redisOptions: { ...cluster.options.redisOptions, ...nodeOptions, connectionName },
  });
  return duplicate as unknown as Redis;
}

/** The seeds of a Cluster as `host:port,…`, for error messages and logs. */
export function clusterSeeds(redis: Redis): string {
  const seeds = (redis as unknown as { startupNodes?: unknown[] }).startupNodes ?? [];
  return seeds
    .map((s) => {
      if (typeof s === "string") return s;
      if (typeof s === "number") return `127.0.0.1:${s}`;
      const n = s as { host?: string; port?: number };
      return `${n.host ?? "127.0.0.1"}:${n.port ?? 6379}`;
    })
    .join(",");
}
