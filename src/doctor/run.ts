// Runs the doctor over a DoctorBroker: options checked and resolved, the connection checked, the audit,
// and Redis failures turned into BrokerError. doctor() (index.ts) opens the broker; a test may pass
// its own, e.g. the real one with faults injected.
import type { DoctorBroker } from "../broker/doctor/port.js";
import { AsynqError, BrokerError, ValidationError } from "../errors.js";
import { systemClock, type Clock } from "../internal/clock.js";
import { audit } from "./audit.js";
import type { Settings } from "./context.js";
import type { DoctorReport } from "./report.js";

/** Options of `doctor()`. */
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
  /**
   * Stops the audit: `doctor()` then rejects with the signal's reason, and issues no command after
   * the ones in flight (repairs already made stay made). @defaultValue none
   */
  signal?: AbortSignal;
}

/** Options resolved and checked: the settings of one run (less its broker), and the queues to audit. */
interface ResolvedOptions {
  settings: Omit<Settings, "broker">;
  /** Only these queues (no global checks), or every queue. */
  queues: string[] | undefined;
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
 * Checks and resolves the options (defaults applied).
 * @throws ValidationError on an invalid option.
 */
export function resolveOptions(options: DoctorOptions): ResolvedOptions {
  const batch = integer("batch", options.batch, 1000, 10, 10_000);
  const limit = integer("limit", options.limit, 1000, 1, Number.MAX_SAFE_INTEGER);
  const indexLimit = integer("indexLimit", options.indexLimit, 2_000_000, 1, Number.MAX_SAFE_INTEGER);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new ValidationError("options.signal", options.signal, "must be an AbortSignal", { op: "doctor" });
  }
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
  return {
    settings: { fix: options.fix === true, batch, limit, indexLimit, clock: options.clock ?? systemClock },
    queues: queues === undefined ? undefined : [...new Set(queues)],
  };
}

/**
 * Connects the broker (nothing is read or repaired before Redis is known to be reachable,
 * authenticated and on the DB asked for), then audits. Does not close the broker.
 * @throws ConnectionError when Redis cannot be reached or used.
 * @throws BrokerError when Redis (or the broker) fails during the audit.
 */
export async function runDoctor(broker: DoctorBroker, options: ResolvedOptions): Promise<DoctorReport> {
  try {
    await broker.connect();
    return await audit({ ...options.settings, broker }, options.queues);
  } catch (error) {
    if (error instanceof AsynqError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new BrokerError(`doctor: Redis failed: ${message}`, { op: "doctor", cause: error });
  }
}
