// The doctor's report for the dashboard: the read-only audit of asynq-ts/doctor (never `fix`), one at
// a time, its report reused for a while. The audit SCANs the whole keyspace and reads every task hash
// (2 minutes for 1,000,000 tasks on a loaded 2-CPU machine, docs/dashboard.md), so a page left open
// or many viewers must not start one each: the page runs it only when asked, and a report is reused
// for 30 s or ten times as long as it took, whichever is longer, so that audits keep Redis busy at
// most about a tenth of the time.
import { doctor, type DoctorReport, type Issue } from "../doctor/index.js";
import type { RedisConnection } from "../index.js";
import { HttpError } from "./errors.js";
import { jsonDate } from "./json.js";

/** A report younger than this is sent again instead of a new audit... */
export const DOCTOR_REUSE_MS = 30_000;
/** ...or younger than this many times the audit's duration, when that is longer. */
export const DOCTOR_REUSE_FACTOR = 10;
/** Findings listed per kind and queue (all are counted). */
export const DOCTOR_ISSUE_LIMIT = 50;
/** Keys per SCAN and pipeline (the doctor's default). */
const DOCTOR_BATCH = 1000;

/** What one audit covers: every queue (""), or one queue. */
type Scope = string;

interface Run {
  scope: Scope;
  /** When it started, then when it ended. */
  at: number;
  /** How long its report is reused once it ended. */
  reuseMs: number;
  report: Promise<DoctorReport>;
}

/**
 * Runs the audit for the dashboard. `check(queue)` answers the last report of that scope while it
 * runs or is young enough (see DOCTOR_REUSE_MS), else starts an audit; while an audit of another
 * scope runs, it answers 409 ERR_DOCTOR_BUSY.
 */
export class DoctorRunner {
  private last: Run | undefined;
  private running = false;
  /** Aborts the audit in progress when the dashboard closes. */
  private readonly closing = new AbortController();

  constructor(
    private readonly redis: RedisConnection | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  async check(queue: string | undefined): Promise<Record<string, unknown>> {
    if (this.redis === undefined) {
      throw new HttpError(
        404,
        "ERR_DOCTOR_UNAVAILABLE",
        "the doctor needs a Redis connection: this dashboard was given an Inspector, not `redis`",
      );
    }
    const scope = queue ?? "";
    const last = this.last;
    const fresh = last !== undefined && last.scope === scope && this.now() - last.at < last.reuseMs;
    if (last !== undefined && (fresh || (this.running && last.scope === scope))) {
      return reportJson(await last.report, true, this.now() - last.at, last.reuseMs);
    }
    if (this.running) {
      throw new HttpError(409, "ERR_DOCTOR_BUSY", "an audit of another scope is running; try again soon");
    }
    const run: Run = {
      scope,
      at: this.now(),
      reuseMs: DOCTOR_REUSE_MS,
      report: doctor(this.redis, {
        signal: this.closing.signal,
        fix: false,
        batch: DOCTOR_BATCH,
        limit: DOCTOR_ISSUE_LIMIT,
        ...(queue === undefined ? {} : { queues: [queue] }),
      }),
    };
    this.running = true;
    this.last = run;
    try {
      const report = await run.report;
      run.at = this.now();
      run.reuseMs = Math.max(DOCTOR_REUSE_MS, DOCTOR_REUSE_FACTOR * report.elapsedMs);
      return reportJson(report, false, 0, run.reuseMs);
    } catch (error) {
      if (this.last === run) this.last = undefined; // a failure is not reused
      throw error;
    } finally {
      this.running = false;
    }
  }

  /** Stops an audit in progress (its requests fail) and refuses new ones: the dashboard is closing. */
  close(): void {
    this.closing.abort(new HttpError(503, "ERR_CLOSED", "the dashboard is closing"));
  }
}

function issueJson(i: Issue): Record<string, unknown> {
  return {
    kind: i.kind,
    queue: i.queue ?? null,
    key: i.key,
    id: i.id ?? null,
    detail: i.detail,
    fixable: i.fixable,
  };
}

/** The report as JSON: instants as ISO strings, findings without repairs (none are made here). */
export function reportJson(
  r: DoctorReport,
  reused: boolean,
  ageMs: number,
  reuseMs: number,
): Record<string, unknown> {
  return {
    startedAt: jsonDate(r.startedAt),
    elapsedMs: r.elapsedMs,
    scannedKeys: r.scannedKeys,
    clean: r.clean,
    truncated: r.truncated,
    reused,
    ageMs,
    reuseMs,
    issueLimit: DOCTOR_ISSUE_LIMIT,
    queues: r.queues.map((q) => ({
      queue: q.queue,
      registered: q.registered,
      tasks: q.tasks,
      quarantined: q.quarantined,
      containers: q.containers,
      memoryBytes: q.memoryBytes,
      counts: q.counts.byKind,
      issues: q.issues.map(issueJson),
    })),
    global: r.global.map(issueJson),
    globalCounts: r.globalCounts.byKind,
  };
}
