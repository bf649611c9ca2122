// Support of the inspector's task operations (src/inspector/tasks.ts): argument checks, stored records to TaskInfo, outcomes to typed errors.
import type { ListedRecord, TaskSource } from "../broker/admin/list.js";
import type { MutationOutcome, TaskOp } from "../broker/admin/mutate.js";
import { DEFAULTS } from "../defaults.js";
import { CorruptTaskError, TaskNotFoundError, TaskStateError, ValidationError } from "../errors.js";
import type { TaskInfo } from "../task.js";
import { taskInfoFromMessage } from "../task-info.js";
import { TASK_STATES, type TaskState } from "../wire/keys.js";
import type { TaskMessage } from "../wire/messages.js";
import { decodeTaskMessage } from "../wire/proto.js";

/** One page of a listing, with what the plain task list leaves out. */
export interface TaskPage {
  tasks: TaskInfo[];
  /** Records of the page that cannot be read (no or undecodable msg, unknown state); skipped from `tasks`. */
  corrupt: CorruptTaskError[];
  /** Active tasks of the page whose lease ran out or that have none (asynq's IsOrphaned): their worker is gone. */
  orphaned: string[];
}

/** Options of `TaskAdmin.iterateTasks`. */
export interface IterateOptions {
  /** Tasks read per round trip pair. @defaultValue 100 */
  batch?: number;
  /** The group, required for aggregating tasks. */
  group?: string;
  /** Called for each record that cannot be read (it is skipped). */
  onCorrupt?: (error: CorruptTaskError) => void;
}

/** Outcome of one ID of a many-ID operation (`deleteTasks`, `archiveTasks`, `runTasks`). */
export type TaskResult =
  | { id: string; ok: true }
  | { id: string; ok: false; error: TaskNotFoundError | TaskStateError | CorruptTaskError };

/** Archive limits applied after inspector archiving (asynq's: 10,000 tasks, 90 days). */
export interface ArchiveLimits {
  maxSize: number;
  /** In ms. */
  maxAge: number;
}
export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxSize: DEFAULTS.archive.maxSize,
  maxAge: DEFAULTS.archive.maxAge,
};

/** Options of a listing. */
export interface ListOptions {
  /** 1-based page number. @defaultValue 1 */
  page?: number;
  /** Tasks per page, 1 to {@link MAX_PAGE_SIZE}. @defaultValue 30 */
  size?: number;
  /** The group, required for aggregating tasks (and only for them). */
  group?: string;
}

/** The largest page (and iteration batch): bigger reads would hold Redis for too long. */
export const MAX_PAGE_SIZE = DEFAULTS.inspector.max.pageSize;

/** The states each bulk operation applies to (active never: cancel the task instead). */
const ALLOWED: Record<TaskOp | "all", readonly TaskState[]> = {
  all: TASK_STATES,
  delete: ["pending", "scheduled", "retry", "archived", "completed", "aggregating"],
  archive: ["pending", "scheduled", "retry", "completed", "aggregating"],
  run: ["scheduled", "retry", "archived", "completed", "aggregating"],
};

/** Whether a stored state string is one of asynq's seven states. */
export function isKnownState(state: string): state is TaskState {
  return (TASK_STATES as readonly string[]).includes(state);
}

/** @throws ValidationError unless `value` is a non-blank string. */
export function checkName(value: unknown, field: string): asserts value is string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new ValidationError(field, value, `${field} must be a non-empty string`);
  }
}

/**
 * The source of a listing or bulk operation: the state, with its group when aggregating.
 * @throws ValidationError for a state the operation does not apply to, or a missing or extra group.
 */
export function checkSource(state: unknown, group: unknown, op: TaskOp | "all"): TaskSource {
  const allowed = ALLOWED[op];
  if (typeof state !== "string" || !(allowed as readonly string[]).includes(state)) {
    const what = { all: "listed", delete: "deleted", archive: "archived", run: "run" }[op];
    throw new ValidationError(
      "state",
      state,
      `expected one of ${allowed.join(", ")} (the states ${what} by this call)`,
    );
  }
  if (state === "aggregating") {
    checkName(group, "group");
    return { state, group };
  }
  if (group !== undefined)
    throw new ValidationError("group", group, "a group applies to aggregating tasks only");
  return { state: state as Exclude<TaskState, "aggregating"> };
}

/**
 * The 0-based inclusive range of a 1-based page.
 * @throws ValidationError unless page is an integer >= 1 and size an integer from 1 to MAX_PAGE_SIZE.
 */
export function checkPage(options: ListOptions): { start: number; stop: number } {
  const page = options.page ?? 1;
  const size = options.size ?? DEFAULTS.inspector.pageSize;
  if (!Number.isSafeInteger(page) || page < 1)
    throw new ValidationError("page", page, "expected an integer >= 1");
  checkSize(size, "size");
  const start = size * (page - 1);
  if (!Number.isSafeInteger(start + size))
    throw new ValidationError("page", page, "the page is out of range");
  return { start, stop: start + size - 1 };
}

/** An iteration batch (default 100). @throws ValidationError unless an integer from 1 to MAX_PAGE_SIZE. */
export function checkBatch(batch: number | undefined): number {
  const value = batch ?? DEFAULTS.inspector.iterateBatch;
  checkSize(value, "batch");
  return value;
}

/** @throws ValidationError unless `ids` is an array of distinct non-blank strings. */
export function checkIds(ids: unknown): asserts ids is readonly string[] {
  if (!Array.isArray(ids)) throw new ValidationError("ids", ids, "expected an array of task IDs");
  const seen = new Set<string>();
  ids.forEach((id: unknown, i) => {
    checkName(id, `ids[${i}]`);
    if (seen.has(id)) throw new ValidationError(`ids[${i}]`, id, "the ID is listed twice");
    seen.add(id);
  });
}

function checkSize(value: unknown, field: string): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_PAGE_SIZE) {
    throw new ValidationError(field, value, `expected an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
}

/** A listed record as TaskInfo; null when it left the state (or vanished) meanwhile; the error when corrupt. */
export function recordToInfo(
  queue: string,
  state: TaskState,
  record: ListedRecord,
  now: number,
  op: string,
): TaskInfo | CorruptTaskError | null {
  const { id } = record;
  if (record.state === null && record.msg === null && record.result === null) return null;
  if (record.state !== state) {
    if (record.state !== null && isKnownState(record.state)) return null;
    return new CorruptTaskError(queue, id, `unknown state ${JSON.stringify(record.state)}`, { op });
  }
  let msg: TaskMessage;
  try {
    msg = decodeOrThrow(queue, id, record.msg, op);
  } catch (error) {
    return error as CorruptTaskError;
  }
  const next =
    state === "pending"
      ? wholeSecond(now)
      : (state === "scheduled" || state === "retry") && record.score !== null
        ? new Date(record.score * 1000)
        : null;
  return taskInfoFromMessage(msg, state, next, record.result, record.progress);
}

/** The typed error for an outcome that is not "done" (null for done). */
export function outcomeError(
  op: TaskOp,
  queue: string,
  o: MutationOutcome,
  name: string,
): TaskNotFoundError | TaskStateError | CorruptTaskError | null {
  const { id, state } = o;
  const stateError = (message: string): TaskStateError =>
    new TaskStateError(queue, id, state ?? "unknown", message, { op: name });
  switch (o.code) {
    case "done":
      return null;
    case "not-found":
      return new TaskNotFoundError(queue, id, { op: name });
    case "active":
      return stateError(
        op === "run"
          ? "task is already running"
          : `cannot ${op} task in active state. use CancelProcessing instead.`,
      );
    case "refused":
      return stateError(op === "run" ? "task is already in pending state" : "task is already archived");
    case "outside":
      return state === "aggregating" && o.group !== ""
        ? stateError(
            `task is being aggregated: group ${JSON.stringify(o.group)} is being turned into one task`,
          )
        : new CorruptTaskError(
            queue,
            id,
            `it is not in the container of its state ${JSON.stringify(state)}`,
            {
              op: name,
            },
          );
    case "unknown-state":
      return new CorruptTaskError(queue, id, `unknown state ${JSON.stringify(state)}`, { op: name });
    case "changed":
      return stateError("the task kept changing during the operation; try again");
  }
}

/** The error for a payload update of a task in another state than pending or scheduled. */
export function notUpdatable(queue: string, id: string, state: string | null, op: string): TaskStateError {
  return new TaskStateError(
    queue,
    id,
    state ?? "unknown",
    "cannot update task that is not in pending or scheduled state.",
    { op },
  );
}

/** Decodes a stored msg. @throws CorruptTaskError when absent or undecodable. */
export function decodeOrThrow(queue: string, id: string, bytes: Buffer | null, op: string): TaskMessage {
  if (bytes === null) throw new CorruptTaskError(queue, id, "the task hash has no msg field", { op });
  try {
    return decodeTaskMessage(bytes);
  } catch (cause) {
    throw new CorruptTaskError(queue, id, "msg does not decode as a TaskMessage", { op, cause });
  }
}

/** The instant truncated to its whole second (what asynq shows as a pending task's nextProcessAt). */
export function wholeSecond(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}
