// Inspector task operations: list, iterate, delete, archive, run and update tasks (wire-format §4.28.3-§4.28.8), with argument checks and typed errors.
import type { SeekCursor, TaskSource } from "../broker/admin/list.js";
import type { BulkSource, TaskOp } from "../broker/admin/mutate.js";
import type { TaskAdminPort } from "../broker/ports.js";
import { encodePayload } from "../client/payload.js";
import { CorruptTaskError, QueueNotFoundError, TaskNotFoundError, TaskStateError } from "../errors.js";
import type { Clock } from "../internal/clock.js";
import type { Payload, TaskInfo, TaskState } from "../task.js";
import { taskInfoFromMessage } from "../task-info.js";
import type { TaskMessage } from "../wire/messages.js";
import { encodeTaskMessage } from "../wire/proto.js";
import {
  checkBatch,
  checkIds,
  checkName,
  checkPage,
  checkSource,
  decodeOrThrow,
  notUpdatable,
  outcomeError,
  recordToInfo,
  wholeSecond,
  DEFAULT_ARCHIVE_LIMITS,
  type ArchiveLimits,
  type IterateOptions,
  type ListOptions,
  type TaskPage,
  type TaskResult,
} from "./task-support.js";

export {
  DEFAULT_ARCHIVE_LIMITS,
  MAX_PAGE_SIZE,
  type ArchiveLimits,
  type IterateOptions,
  type ListOptions,
  type TaskPage,
  type TaskResult,
} from "./task-support.js";

/** States in which a task's payload may be updated (asynq v0.26: scheduled only). */
const UPDATABLE: readonly TaskState[] = ["pending", "scheduled"];
const UPDATE_ROUNDS = 3;

/** Task-level admin operations; the Inspector delegates to one instance. */
export class TaskAdmin {
  constructor(
    private readonly broker: TaskAdminPort,
    private readonly clock: Clock,
    private readonly limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
  ) {}

  /**
   * Lists one page of the tasks of a state, in asynq's order: pending next-to-run first, active
   * longest-running first, scheduled and retry soonest first, archived oldest first, completed
   * expiring soonest first, aggregating (needs `options.group`) oldest first. Corrupt records are
   * skipped, as asynq does (see {@link listTaskPage} to get them); tasks that leave the state while
   * the page is read are left out.
   * @throws ValidationError for a blank queue, a bad state, page (integer >= 1) or size (1 to 10,000).
   * @throws QueueNotFoundError when the queue is not registered.
   * @throws BrokerError when Redis fails.
   */
  async listTasks(queue: string, state: TaskState, options: ListOptions = {}): Promise<TaskInfo[]> {
    return (await this.listTaskPage(queue, state, options)).tasks;
  }

  /** Lists one page of a group's aggregating tasks, oldest first. @see listTasks */
  async listAggregatingTasks(queue: string, group: string, options: ListOptions = {}): Promise<TaskInfo[]> {
    return this.listTasks(queue, "aggregating", { ...options, group });
  }

  /**
   * {@link listTasks}, also returning the page's corrupt records and orphaned active tasks.
   * Costs two round trips: the range (with the queue check), then the task hashes.
   * @throws as listTasks.
   */
  async listTaskPage(queue: string, state: TaskState, options: ListOptions = {}): Promise<TaskPage> {
    const op = "inspector.listTasks";
    checkName(queue, "queue");
    const source = checkSource(state, options.group, "all");
    const { start, stop } = checkPage(options);
    const records = await this.broker.listTaskRecords(queue, source, start, stop);
    if (records === "queue-not-found") throw new QueueNotFoundError(queue, { op });
    const page: TaskPage = { tasks: [], corrupt: [], orphaned: [] };
    const now = this.clock.now();
    for (const record of records) {
      const info = recordToInfo(queue, source.state, record, now, op);
      if (info instanceof CorruptTaskError) page.corrupt.push(info);
      else if (info !== null) page.tasks.push(info);
      if (info !== null && state === "active" && (record.score === null || record.score * 1000 <= now))
        page.orphaned.push(record.id);
    }
    return page;
  }

  /**
   * Iterates over every task of a state, a page of `batch` at a time (two round trips per page), in
   * the listing order. The cursor follows the tasks, not positions: a task that stays in the state
   * throughout is yielded exactly once, however others come and go (for pending and active, unless
   * every task of the last page and the 16 after it left the list between two pages: then the
   * iteration goes on from the tail and may yield a task again; after 10 such restarts it ends).
   * Tasks added or removed meanwhile may or may not be yielded. Validation happens at the call.
   * @throws ValidationError for a blank queue, a bad state, group or batch (1 to 10,000).
   * @throws QueueNotFoundError (on the first `next()`) when the queue is not registered.
   * @throws BrokerError when Redis fails.
   */
  iterateTasks(
    queue: string,
    state: TaskState,
    options: IterateOptions = {},
  ): AsyncIterableIterator<TaskInfo> {
    checkName(queue, "queue");
    const source = checkSource(state, options.group, "all");
    const batch = checkBatch(options.batch);
    return this.iterate(queue, source, batch, options.onCorrupt);
  }

  private async *iterate(
    queue: string,
    source: TaskSource,
    batch: number,
    onCorrupt: ((error: CorruptTaskError) => void) | undefined,
  ): AsyncIterableIterator<TaskInfo> {
    const op = "inspector.iterateTasks";
    let cursor: SeekCursor | null = null;
    do {
      const page = await this.broker.seekTaskRecords(queue, source, cursor, batch);
      if (page === "queue-not-found") throw new QueueNotFoundError(queue, { op });
      const now = this.clock.now();
      for (const record of page.records) {
        const info = recordToInfo(queue, source.state, record, now, op);
        if (info instanceof CorruptTaskError) onCorrupt?.(info);
        else if (info !== null) yield info;
      }
      cursor = page.next;
    } while (cursor !== null);
  }

  /**
   * Deletes a task and releases its uniqueness lock if it still holds it.
   * @throws ValidationError for a blank queue or ID.
   * @throws QueueNotFoundError, TaskNotFoundError.
   * @throws TaskStateError for an active task (cancel it instead) or one being aggregated.
   * @throws CorruptTaskError when its state is missing or unknown.
   * @throws BrokerError when Redis fails.
   */
  async deleteTask(queue: string, id: string): Promise<void> {
    await this.one("delete", queue, id);
  }

  /**
   * Archives a task (score now; msg untouched), releases its lock if it still holds it, then trims
   * the archive to its limits.
   * @throws as deleteTask; TaskStateError also for an archived task; CorruptTaskError also when
   *   the task is missing from its state's container.
   */
  async archiveTask(queue: string, id: string): Promise<void> {
    await this.one("archive", queue, id);
  }

  /**
   * Moves a scheduled, retry, archived, completed or aggregating task to pending (the head: it runs
   * after those already waiting).
   * @throws as archiveTask; TaskStateError for a pending or active task.
   */
  async runTask(queue: string, id: string): Promise<void> {
    await this.one("run", queue, id);
  }

  /** {@link deleteTask} on many IDs. @returns one result per ID, in order. @throws ValidationError (blank, duplicate ID), QueueNotFoundError, BrokerError. */
  deleteTasks(queue: string, ids: readonly string[]): Promise<TaskResult[]> {
    return this.many("delete", queue, ids);
  }

  /** {@link archiveTask} on many IDs, then one trim. @returns one result per ID, in order. @throws as deleteTasks. */
  archiveTasks(queue: string, ids: readonly string[]): Promise<TaskResult[]> {
    return this.many("archive", queue, ids);
  }

  /** {@link runTask} on many IDs. @returns one result per ID, in order. @throws as deleteTasks. */
  runTasks(queue: string, ids: readonly string[]): Promise<TaskResult[]> {
    return this.many("run", queue, ids);
  }

  /**
   * Deletes every task of a state (pending, scheduled, retry, archived, completed, or aggregating
   * with `group`), releasing locks, in batches of 200 (each one short script call).
   * @returns how many tasks were deleted.
   * @throws ValidationError for a blank queue, a state not allowed, a missing group.
   * @throws QueueNotFoundError, BrokerError.
   */
  deleteAllTasks(queue: string, state: TaskState, group?: string): Promise<number> {
    return this.all("delete", queue, state, group);
  }

  /** Archives every task of a state (pending, scheduled, retry, completed, aggregating), then trims the archive. @returns how many. @throws as deleteAllTasks. */
  archiveAllTasks(queue: string, state: TaskState, group?: string): Promise<number> {
    return this.all("archive", queue, state, group);
  }

  /** Moves every task of a state (scheduled, retry, archived, completed, aggregating) to pending. @returns how many. @throws as deleteAllTasks. */
  runAllTasks(queue: string, state: TaskState, group?: string): Promise<number> {
    return this.all("run", queue, state, group);
  }

  /**
   * Replaces the payload of a pending or scheduled task (encoded as the Client does), atomically:
   * the write happens only if the task is still in such a state with the message that was read.
   * The uniqueness key is not recomputed (as asynq): the lock, if any, stays keyed on the old payload.
   * @returns the task as updated.
   * @throws ValidationError for a blank queue or ID, or a payload that cannot be encoded.
   * @throws QueueNotFoundError, TaskNotFoundError.
   * @throws TaskStateError when the task is in another state.
   * @throws CorruptTaskError when its msg cannot be decoded.
   * @throws BrokerError when Redis fails.
   */
  async updateTaskPayload(queue: string, id: string, payload: Payload): Promise<TaskInfo> {
    const op = "inspector.updateTaskPayload";
    checkName(queue, "queue");
    checkName(id, "id");
    const bytes = encodePayload(payload, "payload") ?? new Uint8Array(0);
    for (let round = 0; round < UPDATE_ROUNDS; round++) {
      const record = await this.broker.getTaskRecord(queue, id);
      if (!UPDATABLE.includes(record.state as TaskState)) throw notUpdatable(queue, id, record.state, op);
      const msg = decodeOrThrow(queue, id, record.msg, op);
      const updated: TaskMessage = { ...msg, payload: bytes };
      const { outcome, state } = await this.broker.replaceTaskMessage({
        queue,
        id,
        expected: record.msg!,
        next: encodeTaskMessage(updated),
        states: UPDATABLE,
      });
      if (outcome === "not-found") throw new TaskNotFoundError(queue, id, { op });
      if (outcome === "refused") throw notUpdatable(queue, id, state, op);
      if (outcome === "ok") {
        const next =
          state === "scheduled" && record.nextProcessAtSeconds !== null
            ? new Date(record.nextProcessAtSeconds * 1000)
            : wholeSecond(this.clock.now());
        return taskInfoFromMessage(updated, state as TaskState, next, record.result, record.progress);
      }
    }
    throw new TaskStateError(queue, id, "unknown", "the task kept changing while it was updated; try again", {
      op,
    });
  }

  private async one(op: TaskOp, queue: string, id: string): Promise<void> {
    checkName(queue, "queue");
    checkName(id, "id");
    const [result] = await this.many(op, queue, [id], `inspector.${op}Task`);
    if (result !== undefined && !result.ok) throw result.error;
  }

  private async many(
    op: TaskOp,
    queue: string,
    ids: readonly string[],
    name = `inspector.${op}Tasks`,
  ): Promise<TaskResult[]> {
    checkName(queue, "queue");
    checkIds(ids);
    const now = this.clock.now();
    const outcomes = await this.broker.mutateTasks(queue, op, ids, now);
    if (outcomes === "queue-not-found") throw new QueueNotFoundError(queue, { op: name });
    const results = outcomes.map((o): TaskResult => {
      const error = outcomeError(op, queue, o, name);
      return error === null ? { id: o.id, ok: true } : { id: o.id, ok: false, error };
    });
    if (op === "archive" && results.some((r) => r.ok)) await this.trim(queue, now);
    return results;
  }

  private async all(op: TaskOp, queue: string, state: TaskState, group: string | undefined): Promise<number> {
    checkName(queue, "queue");
    const source = checkSource(state, group, op) as BulkSource;
    const now = this.clock.now();
    const count = await this.broker.mutateAllTasks(queue, op, source, now);
    if (count === "queue-not-found") throw new QueueNotFoundError(queue, { op: `inspector.${op}AllTasks` });
    if (op === "archive" && count > 0) await this.trim(queue, now);
    return count;
  }

  private async trim(queue: string, now: number): Promise<void> {
    await this.broker.trimArchive({
      queue,
      nowMs: now,
      maxSize: this.limits.maxSize,
      maxAgeMs: this.limits.maxAge,
    });
  }
}
