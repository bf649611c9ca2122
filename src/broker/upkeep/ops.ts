// The upkeep port's Redis operations (ports.ts) over a connection: forwarder, recoverer, janitor,
// heartbeat and cancelation. openBroker (broker.ts) runs them under its supervisor (supervised.ts).
import type { Redis } from "ioredis";
import type { AdminPort, UpkeepPort } from "../ports.js";
import { forwardDue } from "./forward.js";
import * as heartbeat from "./heartbeat.js";
import { deleteExpiredCompleted } from "./janitor.js";
import { publishCancel } from "./pubsub.js";
import * as recover from "./recover.js";

/** The one-call operations of the upkeep components (the subscription and health check are stateful). */
export type UpkeepOps = Omit<
  UpkeepPort,
  "subscribeCancel" | "ping" | "resetConnection" | "extendLease" | "trimArchive"
> &
  Pick<AdminPort, "publishCancel">;

/** The upkeep operations on `redis`, unsupervised. */
export function upkeepOps(redis: Redis): UpkeepOps {
  return {
    forwardDue: (queues, nowMs) => forwardDue(redis, queues, nowMs),
    deleteExpiredCompleted: (queue, nowMs, batchSize) =>
      deleteExpiredCompleted(redis, queue, nowMs, batchSize),
    listLeaseExpired: (queue, cutoffMs, offset, limit) =>
      recover.listLeaseExpired(redis, queue, cutoffMs, offset, limit),
    listUnleased: (queue) => recover.listUnleased(redis, queue),
    readMessages: (queue, ids) => recover.readMessages(redis, queue, ids),
    recoverRetry: (r) => recover.recoverRetry(redis, r),
    recoverArchive: (r) => recover.recoverArchive(redis, r),
    recoverQuarantine: (r) => recover.recoverQuarantine(redis, r.queue, r.id, r.nowMs, r.guard),
    writeServerState: (info, workers, nowMs, ttlSeconds) =>
      heartbeat.writeServerState(redis, info, workers, nowMs, ttlSeconds),
    clearServerState: (host, pid, serverId) => heartbeat.clearServerState(redis, host, pid, serverId),
    publishCancel: (id) => publishCancel(redis, id),
  };
}
