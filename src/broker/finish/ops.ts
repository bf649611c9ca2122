// The finish writes of the processor's port (ports.ts) over a connection: request objects to the
// script calls of lifecycle.ts. openBroker (broker.ts) runs them under its supervisor (supervised.ts).
import type { Redis } from "ioredis";
import { encodeTaskMessage } from "../../wire/proto.js";
import type { ProcessorPort } from "../ports.js";
import * as lifecycle from "./lifecycle.js";

/** The writes on active tasks, and the archive trim. */
export type FinishOps = Pick<
  ProcessorPort,
  | "done"
  | "markComplete"
  | "retry"
  | "archive"
  | "requeue"
  | "quarantine"
  | "deleteActive"
  | "writeResult"
  | "writeProgress"
  | "extendLease"
  | "trimArchive"
>;

/** The finish writes on `redis`, unsupervised. */
export function finishOps(redis: Redis): FinishOps {
  return {
    done: (r) =>
      lifecycle.done(
        redis,
        r.queue,
        r.id,
        r.uniqueKey,
        r.nowMs,
        r.fence,
        r.revoked === true ? "revoked" : "completed",
      ),
    markComplete: (r) =>
      lifecycle.markComplete(
        redis,
        r.queue,
        r.id,
        encodeTaskMessage(r.msg),
        r.msg.uniqueKey,
        r.nowMs,
        r.expirySeconds,
        r.fence,
      ),
    retry: (r) =>
      lifecycle.retry(
        redis,
        r.queue,
        r.id,
        encodeTaskMessage(r.msg),
        r.retryAtMs,
        r.counted,
        r.nowMs,
        r.fence,
        r.msg.errorMsg,
      ),
    archive: (r) => lifecycle.archive(redis, r),
    requeue: (queue, id, fence) => lifecycle.requeue(redis, queue, id, fence),
    quarantine: (queue, id, nowMs) => lifecycle.quarantine(redis, queue, id, nowMs),
    deleteActive: (r) =>
      lifecycle.deleteActive(redis, r.queue, r.id, r.uniqueKey, r.nowMs, r.fence, r.errorMsg),
    writeResult: (queue, id, bytes) => lifecycle.writeResult(redis, queue, id, bytes),
    writeProgress: (queue, id, json, fence) => lifecycle.writeProgress(redis, queue, id, json, fence),
    extendLease: (queue, ids, leaseExpiresAtMs) => lifecycle.extendLease(redis, queue, ids, leaseExpiresAtMs),
    trimArchive: (r) => lifecycle.trimArchive(redis, r.queue, r.nowMs, r.maxSize, r.maxAgeMs),
  };
}
