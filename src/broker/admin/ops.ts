// The Inspector's Redis operations (AdminPort in ports.ts) over a connection: queues, tasks, servers.
// openBroker (broker.ts) runs them under its supervisor (supervised.ts).
import type { Redis } from "ioredis";
import { QueueNotFoundError, TaskNotFoundError } from "../../errors.js";
import * as keys from "../../wire/keys.js";
import type { AdminPort } from "../ports.js";
import { listTaskRecords, seekTaskRecords } from "./list.js";
import { mutateAllTasks, mutateTasks, replaceTaskMessage } from "./mutate.js";
import { removeQueue } from "./queue-removal.js";
import * as queues from "./queues.js";
import { readQueueSizes, readTaskRecord } from "./read.js";
import * as servers from "./servers.js";

/** The admin operations (connect, close, the archive trim and publishCancel come from the rest of the broker). */
export type AdminOps = Omit<AdminPort, "connect" | "close" | "trimArchive" | "publishCancel">;

/** The admin operations on `redis`, unsupervised. */
export function adminOps(redis: Redis): AdminOps {
  return {
    queues: () => redis.smembers(keys.ALL_QUEUES),
    queueSizes: async (queue) => {
      const sizes = await readQueueSizes(redis, queue);
      if (sizes === "queue-not-found") throw new QueueNotFoundError(queue, { op: "broker.queueSizes" });
      return sizes;
    },
    getTaskRecord: async (queue, id) => {
      const op = "broker.getTaskRecord";
      const record = await readTaskRecord(redis, queue, id);
      if (record === "queue-not-found") throw new QueueNotFoundError(queue, { op });
      if (record === "task-not-found") throw new TaskNotFoundError(queue, id, { op });
      return record;
    },
    queueStats: (queue, nowMs) => queues.readQueueStats(redis, queue, nowMs),
    queueHistory: (queue, days, nowMs) => queues.readQueueHistory(redis, queue, days, nowMs),
    pauseQueue: (queue, nowMs) => queues.pauseQueue(redis, queue, nowMs),
    unpauseQueue: (queue) => queues.unpauseQueue(redis, queue),
    queueGroups: (queue) => queues.readGroups(redis, queue),
    removeQueue: (r) => removeQueue(redis, r.queue, r.force, r.nowMs),
    listTaskRecords: (queue, source, start, stop) => listTaskRecords(redis, queue, source, start, stop),
    seekTaskRecords: (queue, source, cursor, size) => seekTaskRecords(redis, queue, source, cursor, size),
    mutateTasks: (queue, op, ids, nowMs) => mutateTasks(redis, queue, op, ids, nowMs),
    mutateAllTasks: (queue, op, source, nowMs) => mutateAllTasks(redis, queue, op, source, nowMs),
    replaceTaskMessage: (r) => replaceTaskMessage(redis, r.queue, r.id, r.expected, r.next, r.states),
    serverState: (nowMs) => servers.readServerState(redis, nowMs),
    schedulerEntries: (nowMs) => servers.readSchedulerEntries(redis, nowMs),
    schedulerEvents: (entryId, start, stop) => servers.readSchedulerEvents(redis, entryId, start, stop),
    redisInfo: () => servers.redisInfo(redis),
    clusterRedisInfo: () => servers.clusterRedisInfo(redis),
    clusterKeySlot: (queue) => servers.clusterKeySlot(redis, queue),
    clusterNodes: (queue) => servers.clusterNodes(redis, queue),
  };
}
