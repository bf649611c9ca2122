// Library entry of the doctor: audit a live Redis for broken task-key invariants and, with `fix`, repair them.
import { verifyConnection } from "../broker/connection/check.js";
import { DEFAULT_CONNECTION_OPTIONS } from "../broker/connection/options.js";
import { openConnection, type RedisConnection } from "../broker/connection/connection.js";
import { AsynqError, BrokerError, ValidationError } from "../errors.js";
import { systemClock, type Clock } from "../internal/clock.js";
import { audit } from "./audit.js";
import type { DoctorReport } from "./report.js";

export { formatReport, ISSUE_KINDS } from "./report.js";
export type {
  ContainerSizes,
  DoctorReport,
  Issue,
  IssueCounts,
  IssueKind,
  QueueReport,
  Repair,
} from "./report.js";

/** Options of {@link doctor}. */
export interface DoctorOptions {
  /**
   * Repair what is safe to repair, each repair a script that re-checks the damage first.
   * @defaultValue false (read-only audit)
   */
  fix?: boolean;
  /**
   * SCAN COUNT, and the chunk size of every LRANGE / ZSCAN and pipeline. An integer from 10 to 10,000.
   * @defaultValue 1000
   */
  batch?: number;
  /** Audit only these queues (SCAN MATCH on their keys); the global checks are then skipped. */
  queues?: readonly string[];
  /**
   * Issues listed per kind and queue; the counts always cover every issue. An integer >= 1.
   * @defaultValue 1000
   */
  limit?: number;
  /**
   * Most members of a pending or active list indexed at once (8 bytes each). A longer list is
   * checked in ceil(length / indexLimit) partitions, each with one more SCAN of its queue.
   * @defaultValue 2,000,000 (16 MB)
   */
  indexLimit?: number;
  /** Source of "now" (lease expiries, archive scores, registry expiry). @defaultValue the system clock */
  clock?: Clock;
}

function integer(
  field: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(`options.${field}`, value, `must be an integer from ${min} to ${max}`, {
      op: "doctor",
    });
  }
  return value;
}

/**
 * Audits the asynq data in a Redis: per queue, task counts per state, asynq's memory estimate, and
 * every broken invariant of the task lifecycle (orphaned hashes, dangling or misplaced IDs, corrupt
 * tasks, missing or stale leases, stale uniqueness locks, inconsistent groups, aggregation sets no
 * one reclaims, keys that must expire but do not, unknown keys, unregistered queues, expired
 * registry entries). It reads with SCAN in batches and pipelined reads, never KEYS, and holds at
 * most `limit` issues per kind and one list index at a time per list, so it is safe on a production
 * Redis with millions of keys. With `fix`, each finding that is safe to repair is repaired at once
 * by a script that re-verifies it, and the repair is reported with the issue; unknown keys are never
 * touched.
 *
 * @param redis a redis:// URL, ioredis options, or an ioredis connection (not closed by doctor).
 * @returns the report; render it with {@link formatReport}.
 * @throws ValidationError on an invalid option or connection argument.
 * @throws ConnectionError (a BrokerError) when Redis cannot be reached or used: refused, unknown
 *   host, wrong password, DB index out of range. Nothing was read or written.
 * @throws BrokerError when Redis fails during the audit.
 */
export async function doctor(redis: RedisConnection, options: DoctorOptions = {}): Promise<DoctorReport> {
  const batch = integer("batch", options.batch, 1000, 10, 10_000);
  const limit = integer("limit", options.limit, 1000, 1, Number.MAX_SAFE_INTEGER);
  const indexLimit = integer("indexLimit", options.indexLimit, 2_000_000, 1, Number.MAX_SAFE_INTEGER);
  const queues = options.queues;
  if (queues !== undefined) {
    queues.forEach((q, i) => {
      if (typeof q !== "string" || q.trim() === "") {
        throw new ValidationError(`options.queues[${i}]`, q, "must be a non-blank queue name", {
          op: "doctor",
        });
      }
    });
  }
  const connection = openConnection(redis, "doctor");
  try {
    // Reachable, authenticated and on the DB asked for, before anything is read (or repaired).
    await verifyConnection(
      connection.redis,
      connection.owned,
      DEFAULT_CONNECTION_OPTIONS.connectTimeout,
      "doctor",
    );
    return await audit(
      {
        redis: connection.redis,
        fix: options.fix === true,
        batch,
        limit,
        indexLimit,
        clock: options.clock ?? systemClock,
      },
      queues === undefined ? undefined : [...new Set(queues)],
    );
  } catch (error) {
    if (error instanceof AsynqError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new BrokerError(`doctor: Redis failed: ${message}`, { op: "doctor", cause: error });
  } finally {
    if (connection.owned) connection.redis.disconnect();
  }
}
