// The `asynq-ts/doctor` entry point: audit a live Redis for broken task-key invariants and, with `fix`,
// repair them. A layer on top of the library: it reaches Redis only through its port (DoctorBroker,
// src/broker/doctor/port.ts), and the main entry never loads it.
import { openDoctorBroker, type RedisConnection } from "../broker/doctor/open.js";
import type { DoctorBroker } from "../broker/doctor/port.js";
import type { DoctorReport } from "./report.js";
import { resolveOptions, runDoctor, type DoctorOptions } from "./run.js";

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
export type { DoctorOptions } from "./run.js";

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
 * @throws the reason of `options.signal` once it is aborted (an `AbortError` by default).
 * @example
 * ```ts
 * import { doctor, formatReport } from "asynq-ts/doctor";
 *
 * const report = await doctor("redis://127.0.0.1:6379", { queues: ["critical"] });
 * if (!report.clean) console.error(formatReport(report));
 * ```
 */
export async function doctor(redis: RedisConnection, options: DoctorOptions = {}): Promise<DoctorReport> {
  const settings = resolveOptions(options);
  const { signal } = options;
  signal?.throwIfAborted();
  const broker = openDoctorBroker(redis, "doctor");
  // On abort, a connection the doctor opened is closed (what is in flight fails), and no call is
  // made after it on any connection: the audit ends at once.
  const abort = (): void => broker.close();
  signal?.addEventListener("abort", abort, { once: true });
  try {
    return await runDoctor(signal === undefined ? broker : abortable(broker, signal), settings);
  } catch (error) {
    signal?.throwIfAborted();
    throw error;
  } finally {
    signal?.removeEventListener("abort", abort);
    broker.close();
  }
}

/** The broker, each of whose calls first throws the signal's reason once it is aborted. */
function abortable(broker: DoctorBroker, signal: AbortSignal): DoctorBroker {
  return new Proxy(broker, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== "function" || property === "close") return value;
      return (...args: unknown[]): unknown => {
        signal.throwIfAborted();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
