// What a doctor run reports: the kinds of damage, per-queue figures, repairs, and the bounded issue log.
import type { TaskState } from "../wire/keys.js";

/**
 * The kinds of damage the audit finds (see docs for the invariant each one breaks).
 *
 * - `orphaned-task`: a task hash that the container its `state` names does not hold.
 * - `dangling-id`: an ID in a container (pending, active, scheduled, retry, archived, completed, a
 *   group or an aggregation set) with no task hash.
 * - `misplaced-id`: an ID in a container whose task hash's `state` names another container.
 * - `corrupt-task`: a task hash whose `state` is missing or unknown, whose `msg` is missing or does not
 *   decode, whose msg.id / msg.queue disagree with its key, or an aggregating task without a group.
 * - `active-without-lease`: an ID in active with no lease entry.
 * - `stale-lease`: a lease entry whose ID is not in active.
 * - `stale-unique-lock`: a uniqueness lock whose task is gone, no longer live, or does not own it.
 * - `empty-group-registered`: a name in `groups` whose `g:<g>` is empty.
 * - `unregistered-group`: a non-empty `g:<g>` missing from `groups`.
 * - `unregistered-aggregation-set`: an aggregation set `g:<g>:<set>` missing from `aggregation_sets`
 *   (no recoverer would ever reclaim it).
 * - `stale-aggregation-set`: an aggregation set more than a minute past its deadline: its aggregator
 *   died or gave up, and no live recoverer reclaimed it (its tasks wait outside their group).
 * - `missing-ttl`: a key that must expire (daily counter, server, workers, scheduler-entries key, or
 *   asynq-ts's scheduler tick marker) has no TTL.
 * - `unknown-key`: a key under `asynq:` that is not part of the data model, or has the wrong type.
 * - `unregistered-queue`: a queue with keys that is not in `asynq:queues`.
 * - `expired-registry-entry`: a member of `asynq:servers` / `workers` / `schedulers` more than a
 *   minute past its expiry whose key is gone (a killed process leaves one behind, and any live server
 *   prunes it within a heartbeat: only one nothing pruned is reported).
 */
export type IssueKind =
  | "orphaned-task"
  | "dangling-id"
  | "misplaced-id"
  | "corrupt-task"
  | "active-without-lease"
  | "stale-lease"
  | "stale-unique-lock"
  | "empty-group-registered"
  | "unregistered-group"
  | "unregistered-aggregation-set"
  | "stale-aggregation-set"
  | "missing-ttl"
  | "unknown-key"
  | "unregistered-queue"
  | "expired-registry-entry";

/** Every issue kind, in report order. */
export const ISSUE_KINDS: readonly IssueKind[] = [
  "orphaned-task",
  "dangling-id",
  "misplaced-id",
  "corrupt-task",
  "active-without-lease",
  "stale-lease",
  "stale-unique-lock",
  "empty-group-registered",
  "unregistered-group",
  "unregistered-aggregation-set",
  "stale-aggregation-set",
  "missing-ttl",
  "unknown-key",
  "unregistered-queue",
  "expired-registry-entry",
];

/** What a repair did: `repaired`; `skipped` when its re-check found the condition gone or unsafe; `failed` on an error. */
export interface Repair {
  outcome: "repaired" | "skipped" | "failed";
  /** What was (or would have been) done, e.g. `ZREM asynq:{q}:lease <id>`. */
  action: string;
  /** Why it was skipped or failed. */
  reason?: string;
}

/** One finding. */
export interface Issue {
  kind: IssueKind;
  /** The queue, or undefined for a global finding. */
  queue?: string;
  /** The key concerned (task hash, container, lock, ...). */
  key: string;
  /** The task ID, when the finding is about one task. */
  id?: string;
  /** What is wrong, in words. */
  detail: string;
  /** False for findings doctor never repairs (unknown keys, corrupt tasks it cannot move safely, ...). */
  fixable: boolean;
  /** With `fix: true`, what the repair did (fixable issues only). */
  repair?: Repair;
}

/** Sizes of a queue's containers, as Redis reports them (LLEN / ZCARD). */
export interface ContainerSizes {
  pending: number;
  active: number;
  lease: number;
  scheduled: number;
  retry: number;
  archived: number;
  completed: number;
  /** Σ ZCARD of the group zsets `g:<g>` found. */
  aggregating: number;
  /** Number of group zsets `g:<g>` found. */
  groups: number;
  /** Number of aggregation sets `g:<g>:<set>` found. */
  aggregationSets: number;
}

/** Counts by kind, and repairs by outcome. */
export interface IssueCounts {
  byKind: Partial<Record<IssueKind, number>>;
  repaired: number;
  skipped: number;
  failed: number;
}

/** The audit of one queue. */
export interface QueueReport {
  queue: string;
  /** Whether the queue is in `asynq:queues`. */
  registered: boolean;
  /** Task hashes seen by the scan, by their `state` field (corrupt ones included when the state is valid). */
  tasks: Record<TaskState, number>;
  /** Task hashes in the archive whose msg cannot be read (set aside by doctor --fix or the recoverer). */
  quarantined: number;
  containers: ContainerSizes;
  /** asynq's memory estimate in bytes (wire-format §4.28.1: sampled task hashes scaled up, plus the containers); null when Redis refuses MEMORY USAGE. */
  memoryBytes: number | null;
  /** The findings, at most `limit` per kind (`counts` has them all). */
  issues: Issue[];
  counts: IssueCounts;
}

/** A whole doctor run. */
export interface DoctorReport {
  startedAt: Date;
  elapsedMs: number;
  /** Whether repairs were applied. */
  fix: boolean;
  /** Keys returned by SCAN (a key can be returned more than once). */
  scannedKeys: number;
  /** Per queue, sorted by name. */
  queues: QueueReport[];
  /**
   * Findings not tied to one queue: unknown keys, and (full audits only) global keys, unregistered
   * queues and expired registry entries.
   */
  global: Issue[];
  globalCounts: IssueCounts;
  /** True when no issue was found. */
  clean: boolean;
  /** True when some issues were counted but not listed (over the per-kind limit). */
  truncated: boolean;
}

/** Repairs an issue; returns what it did. Thrown errors become a `failed` repair. */
export type RepairFn = () => Promise<Repair>;

/** An issue as found, before the log adds `fixable` and `repair`. */
type Finding = Omit<Issue, "fixable" | "repair">;

/**
 * Collects the issues of one queue (or the global ones), keeping at most `limit` per kind, and runs
 * each issue's repair at once in fix mode, so that the audit never holds more than `limit` findings.
 */
export class IssueLog {
  readonly issues: Issue[] = [];
  readonly counts: IssueCounts = { byKind: {}, repaired: 0, skipped: 0, failed: 0 };
  truncated = false;

  constructor(
    private readonly limit: number,
    private readonly fix: boolean,
  ) {}

  /** Records a finding; with `repair` it is fixable, and in fix mode the repair runs before this resolves. */
  async add(finding: Finding, repair?: RepairFn): Promise<void> {
    const issue: Issue = { ...finding, fixable: repair !== undefined };
    if (this.fix && repair !== undefined) {
      try {
        issue.repair = await repair();
      } catch (error) {
        issue.repair = {
          outcome: "failed",
          action: "repair",
          reason: error instanceof Error ? error.message : String(error),
        };
      }
      this.counts[issue.repair.outcome]++;
    }
    const seen = this.counts.byKind[issue.kind] ?? 0;
    this.counts.byKind[issue.kind] = seen + 1;
    if (seen < this.limit) this.issues.push(issue);
    else this.truncated = true;
  }

  /** Number of findings of every kind. */
  total(): number {
    return Object.values(this.counts.byKind).reduce((a, b) => a + b, 0);
  }
}

const number = (n: number): string => n.toLocaleString("en-US");

function bytes(n: number | null): string {
  if (n === null) return "unknown (MEMORY USAGE refused)";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function issueLines(issues: readonly Issue[], counts: IssueCounts, indent: string): string[] {
  const total = Object.values(counts.byKind).reduce((a, b) => a + b, 0);
  if (total === 0) return [`${indent}issues: none`];
  const kinds = ISSUE_KINDS.filter((k) => counts.byKind[k] !== undefined)
    .map((k) => `${k} ${number(counts.byKind[k]!)}`)
    .join(", ");
  const repairs = counts.repaired + counts.skipped + counts.failed;
  const lines = [
    `${indent}issues: ${number(total)} (${kinds})` +
      (repairs > 0
        ? `; repairs: ${number(counts.repaired)} repaired, ${number(counts.skipped)} skipped, ${number(counts.failed)} failed`
        : ""),
  ];
  for (const issue of issues) {
    lines.push(
      `${indent}  ${issue.kind}  ${issue.key}${issue.id !== undefined ? `  id=${issue.id}` : ""}: ${issue.detail}`,
    );
    if (issue.repair !== undefined) {
      const why = issue.repair.reason !== undefined ? ` (${issue.repair.reason})` : "";
      lines.push(`${indent}    -> ${issue.repair.outcome}: ${issue.repair.action}${why}`);
    } else if (!issue.fixable) {
      lines.push(`${indent}    -> report only`);
    }
  }
  if (issues.length < total) lines.push(`${indent}  … ${number(total - issues.length)} more not listed`);
  return lines;
}

/** Renders a report as plain text, one queue per block, each issue with its repair. */
export function formatReport(report: DoctorReport): string {
  const lines = [
    `asynq doctor at ${report.startedAt.toISOString()}: ${number(report.scannedKeys)} keys scanned in ${(report.elapsedMs / 1000).toFixed(1)} s${report.fix ? ", with repairs" : ""}`,
  ];
  for (const q of report.queues) {
    const t = q.tasks;
    const c = q.containers;
    lines.push(
      `queue ${JSON.stringify(q.queue)}${q.registered ? "" : " (not in asynq:queues)"}`,
      `  tasks by state: pending ${number(t.pending)}, active ${number(t.active)}, scheduled ${number(t.scheduled)}, retry ${number(t.retry)}, archived ${number(t.archived)}, completed ${number(t.completed)}, aggregating ${number(t.aggregating)}` +
        (q.quarantined > 0 ? `; quarantined in the archive ${number(q.quarantined)}` : ""),
      `  containers: pending ${number(c.pending)}, active ${number(c.active)}, lease ${number(c.lease)}, scheduled ${number(c.scheduled)}, retry ${number(c.retry)}, archived ${number(c.archived)}, completed ${number(c.completed)}, groups ${number(c.groups)} (${number(c.aggregating)} tasks), aggregation sets ${number(c.aggregationSets)}`,
      `  memory (asynq's estimate): ${bytes(q.memoryBytes)}`,
      ...issueLines(q.issues, q.counts, "  "),
    );
  }
  lines.push("global", ...issueLines(report.global, report.globalCounts, "  "));
  lines.push(
    report.clean ? "result: clean" : `result: damage found${report.truncated ? " (list truncated)" : ""}`,
  );
  return lines.join("\n");
}
