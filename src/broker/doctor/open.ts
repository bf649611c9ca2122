// Opens the doctor's port (port.ts) over a Redis connection: the reads, re-reads and repairs of this folder.
import { verifyConnection } from "../connection/check.js";
import { openConnection, type RedisConnection } from "../connection/connection.js";
import { DEFAULT_CONNECTION_OPTIONS } from "../connection/options.js";
import { STATS_TTL_SECONDS } from "../redis-values.js";
import type { DoctorBroker } from "./port.js";
import * as reads from "./reads.js";
import * as repairs from "./repair.js";
import * as snapshot from "./snapshot.js";
import { reclaimAggregationSet } from "../group/aggregation.js";

export type { RedisConnection };

/**
 * Opens (or adopts) a connection and returns the doctor's broker over it. Nothing is sent before
 * `connect()`; `close()` closes the connection only if it was opened here.
 * @throws ValidationError when `conn` is not a usable connection argument.
 */
export function openDoctorBroker(conn: RedisConnection, op = "doctor"): DoctorBroker {
  const { redis, owned } = openConnection(conn, op);
  return {
    statsTtlSeconds: STATS_TTL_SECONDS,
    connect: () => verifyConnection(redis, owned, DEFAULT_CONNECTION_OPTIONS.connectTimeout, op),
    close: () => {
      if (owned) redis.disconnect();
    },

    scanKeys: (cursor, match, count) => reads.scanKeys(redis, cursor, match, count),
    readTaskFields: (taskKeys) => reads.readTaskFields(redis, taskKeys),
    readStatesAndGroups: (taskKeys) => reads.readStatesAndGroups(redis, taskKeys),
    readStates: (taskKeys) => reads.readStates(redis, taskKeys),
    keyTypes: (keys) => reads.keyTypes(redis, keys),
    ttls: (keys) => reads.ttls(redis, keys),
    readStrings: (keys) => reads.readStrings(redis, keys),
    existing: (keys) => reads.existing(redis, keys),
    zsetMembership: (groups) => reads.zsetMembership(redis, groups),
    listChunk: (key, start, count) => reads.listChunk(redis, key, start, count),
    zsetChunk: (key, cursor, count) => reads.zsetChunk(redis, key, cursor, count),
    setMembers: (key) => reads.setMembers(redis, key),
    zsetMembers: (key) => reads.zsetMembers(redis, key),
    containerSizes: (containers) => reads.containerSizes(redis, containers),
    memoryEstimate: (queue) => reads.memoryEstimate(redis, queue),

    snapshotTasks: (items) => snapshot.snapshotTasks(redis, items),
    memberships: (items) => snapshot.memberships(redis, items),
    snapshotLocks: (items) => snapshot.snapshotLocks(redis, items),
    groupStates: (queue, names) => snapshot.groupStates(redis, queue, names),
    aggregationSetStates: (queue, setKeys) => snapshot.aggregationSetStates(redis, queue, setKeys),

    restoreTask: (taskKey, id, state, target) => repairs.restoreTask(redis, taskKey, id, state, target),
    archiveAsIs: (queue, id, observed, lockKey, nowMs) =>
      repairs.archiveAsIs(redis, queue, id, observed, lockKey, nowMs),
    removeDangling: (container, taskKey, id, companion) =>
      repairs.removeDangling(redis, container, taskKey, id, companion),
    removeMisplaced: (container, taskKey, id, state, home, companion) =>
      repairs.removeMisplaced(redis, container, taskKey, id, state, home, companion),
    addLease: (queue, id, expiresAtMs) => repairs.addLease(redis, queue, id, expiresAtMs),
    removeLease: (queue, id) => repairs.removeLease(redis, queue, id),
    releaseLock: (lockKey, ownerKey, id, owner) => repairs.releaseLock(redis, lockKey, ownerKey, id, owner),
    fixGroup: (queue, group, mode) => repairs.fixGroup(redis, queue, group, mode),
    registerAggregationSet: (queue, setKey, nowMs) =>
      repairs.registerAggregationSet(redis, queue, setKey, nowMs),
    reclaimAggregationSet: (queue, setKey, nowMs) => reclaimAggregationSet(redis, queue, setKey, nowMs),
    expireAt: (key, atSeconds) => repairs.expireAt(redis, key, atSeconds),
    pruneRegistry: (registry, member, score) => repairs.pruneRegistry(redis, registry, member, score),
    registerQueue: (queue) => repairs.registerQueue(redis, queue),
  };
}
