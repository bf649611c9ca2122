// Inspector reads of servers, workers and schedulers (wire-format §4.28.10) and the Cluster helpers (§4.28.12).
// Records come back raw (protobuf bytes); the inspector decodes them.
import type { Redis } from "ioredis";
import { unixSeconds } from "../../internal/clock.js";
import * as keys from "../../wire/keys.js";
import { address, isCluster, masters } from "../connection/cluster.js";
import { execPipeline as exec } from "../redis-values.js";

/** One stored value and the key (and hash field) it came from. */
export interface RawRecord {
  key: string;
  /** The hash field (a task ID) for worker records; "" otherwise. */
  field: string;
  value: Buffer;
}

/** What the server registry holds: ServerInfo strings and WorkerInfo hash values of live servers. */
export interface ServerStateRecords {
  servers: RawRecord[];
  workers: RawRecord[];
}

/** A SchedulerEnqueueEvent as stored, with its score (enqueue time, unix s). */
export interface RawEvent {
  value: Buffer;
  score: number;
}

/** A cluster node serving a slot. */
export interface ClusterNode {
  /** Node ID. */
  id: string;
  /** `host:port`. */
  addr: string;
}

/**
 * Reads the live members of asynq:servers and asynq:workers (score >= now) and removes the stale ones
 * (score < now), as asynq's ListServers/ListWorkers do, in one pipeline; then `GET` each server key and
 * `HGETALL` each workers hash in a second one. Keys that expired in between are skipped.
 *
 * @throws the Redis error when a command fails.
 */
export async function readServerState(redis: Redis, nowMs: number): Promise<ServerStateRecords> {
  const now = unixSeconds(nowMs);
  const [serverKeys, , workerKeys] = (await exec(
    redis
      .pipeline()
      .zrangebyscore(keys.ALL_SERVERS, now, "+inf")
      .zremrangebyscore(keys.ALL_SERVERS, "-inf", `(${now}`)
      .zrangebyscore(keys.ALL_WORKERS, now, "+inf")
      .zremrangebyscore(keys.ALL_WORKERS, "-inf", `(${now}`),
  )) as [string[], number, string[], number];
  if (serverKeys.length + workerKeys.length === 0) return { servers: [], workers: [] };
  const pipeline = redis.pipeline();
  for (const k of serverKeys) pipeline.getBuffer(k);
  for (const k of workerKeys) pipeline.hgetallBuffer(k);
  const replies = await exec(pipeline);
  const servers: RawRecord[] = [];
  serverKeys.forEach((key, i) => {
    const value = replies[i] as Buffer | null;
    if (value !== null) servers.push({ key, field: "", value });
  });
  const workers: RawRecord[] = [];
  workerKeys.forEach((key, i) => {
    const hash = replies[serverKeys.length + i] as Record<string, Buffer>;
    for (const [field, value] of Object.entries(hash)) workers.push({ key, field, value });
  });
  return { servers, workers };
}

/**
 * Reads the SchedulerEntry lists of the live schedulers (asynq:schedulers members with score >= now;
 * stale members are removed), as asynq's ListSchedulerEntries does: one pipeline for the registry, one
 * for `LRANGE 0 -1` of each list. Records keep the list order.
 *
 * @throws the Redis error when a command fails.
 */
export async function readSchedulerEntries(redis: Redis, nowMs: number): Promise<RawRecord[]> {
  const now = unixSeconds(nowMs);
  const [entryKeys] = (await exec(
    redis
      .pipeline()
      .zrangebyscore(keys.ALL_SCHEDULERS, now, "+inf")
      .zremrangebyscore(keys.ALL_SCHEDULERS, "-inf", `(${now}`),
  )) as [string[], number];
  if (entryKeys.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const k of entryKeys) pipeline.lrangeBuffer(k, 0, -1);
  const lists = (await exec(pipeline)) as Buffer[][];
  return entryKeys.flatMap((key, i) => (lists[i] ?? []).map((value) => ({ key, field: "", value })));
}

/**
 * Reads a page of an entry's enqueue history, newest first (`ZREVRANGE start stop WITHSCORES`).
 * @throws the Redis error when the command fails.
 */
export async function readSchedulerEvents(
  redis: Redis,
  entryId: string,
  start: number,
  stop: number,
): Promise<RawEvent[]> {
  const flat = await redis.zrevrangeBuffer(keys.schedulerHistoryKey(entryId), start, stop, "WITHSCORES");
  const events: RawEvent[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    events.push({ value: flat[i]!, score: Number(flat[i + 1]!.toString("latin1")) });
  }
  return events;
}

/** One master of a Redis Cluster and what its `INFO` says. */
export interface RedisNodeInfo {
  /** `host:port`. */
  addr: string;
  /** Every `key:value` line of its INFO, as {@link redisInfo} reads them. */
  info: Record<string, string>;
}

/**
 * The server's `INFO` (wire-format §4.28.12): every `key:value` line of every section, as strings
 * (section headers and blank lines left out; a value keeps any further colons). On a Cluster, the
 * INFO of its first master by address: a Cluster sends a keyless command to a random master, so
 * two reads in a row would describe two servers (see {@link clusterRedisInfo} for every master).
 * @throws the Redis error when INFO fails.
 */
export async function redisInfo(redis: Redis): Promise<Record<string, string>> {
  const node = isCluster(redis) ? (masters(redis)[0] ?? redis) : redis;
  return parseInfo(await node.info());
}

/**
 * The `INFO` of every master of a Cluster, by address (the keys of a Cluster are split over its
 * masters, so no one node's figures describe it).
 * @returns "not-cluster" on a single server.
 * @throws the Redis error when INFO fails on a master.
 */
export async function clusterRedisInfo(redis: Redis): Promise<RedisNodeInfo[] | "not-cluster"> {
  if (!isCluster(redis)) return "not-cluster";
  return Promise.all(
    masters(redis).map(async (node) => ({ addr: address(node), info: parseInfo(await node.info()) })),
  );
}

function parseInfo(text: string): Record<string, string> {
  const info: Record<string, string> = {};
  for (const line of text.split("\r\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon > 0) info[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return info;
}

/**
 * The cluster slot of a queue's keys: `CLUSTER KEYSLOT asynq:{<q>}:pending` (wire-format §4.28.12).
 * @returns "not-cluster" when the server has cluster support disabled (a standalone Redis).
 * @throws the Redis error for any other failure.
 */
export async function clusterKeySlot(redis: Redis, queue: string): Promise<number | "not-cluster"> {
  try {
    return (await redis.call("CLUSTER", "KEYSLOT", keys.pendingKey(queue))) as number;
  } catch (error) {
    if (isClusterDisabled(error)) return "not-cluster";
    throw error;
  }
}

/**
 * The nodes (primary first, then replicas) serving a queue's slot, from `CLUSTER SLOTS` (wire-format §4.28.12).
 * @returns "not-cluster" on a standalone Redis; "no-node" when no slot range covers the queue's slot.
 * @throws the Redis error for any other failure.
 */
export async function clusterNodes(
  redis: Redis,
  queue: string,
): Promise<ClusterNode[] | "not-cluster" | "no-node"> {
  const slot = await clusterKeySlot(redis, queue);
  if (slot === "not-cluster") return slot;
  let ranges: unknown[];
  try {
    ranges = (await redis.call("CLUSTER", "SLOTS")) as unknown[];
  } catch (error) {
    if (isClusterDisabled(error)) return "not-cluster";
    throw error;
  }
  for (const range of ranges) {
    const [start, end, ...nodes] = range as [number, number, ...unknown[]];
    if (slot < start || slot > end) continue;
    return nodes.map((n) => {
      const [host, port, id] = n as [string, number, string?];
      return { id: id ?? "", addr: `${host}:${port}` };
    });
  }
  return "no-node";
}

function isClusterDisabled(error: unknown): boolean {
  return error instanceof Error && /cluster support disabled/i.test(error.message);
}
