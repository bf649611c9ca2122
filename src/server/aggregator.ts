// The aggregator: every min(7 s, grace period), checks the groups of every served queue and merges
// each due group's tasks into one task with the user's groupAggregator (wire-format §5.12).
import type { AggregationSetRef, AggregatorPort, MemberToDelete } from "../broker/ports.js";
import { resolveTask } from "../client/options.js";
import { AsynqError, TaskIdConflictError, ValidationError } from "../errors.js";
import { unixSeconds, type Clock } from "../internal/clock.js";
import { errorMessage, toError } from "../internal/errors.js";
import { componentLogger, type Logger } from "../internal/logger.js";
import type { Task } from "../task.js";
import type { TaskMessage } from "../wire/messages.js";
import { decodeTaskMessage } from "../wire/proto.js";
import type { FailedTaskInfo } from "./config.js";
import type { HandlerTask } from "./mux.js";
import { Periodic } from "./periodic.js";

/**
 * Merges the tasks of a group into one task (asynq's GroupAggregator). `tasks` are the group's
 * tasks in the order they joined it (oldest first), with their payloads and headers; their IDs and
 * options are not shown, as in asynq. The returned task is enqueued as pending into the group's
 * queue (or the queue its `options.queue` names); see `ServerConfig.groupAggregator`.
 */
export type GroupAggregator = (group: string, tasks: readonly HandlerTask[]) => Task | Promise<Task>;

/** Parameters of an {@link Aggregator}, resolved by the server config (src/server/config.ts). Durations are ms. */
export interface AggregatorParams {
  broker: AggregatorPort;
  clock: Clock;
  logger: Logger;
  queues: readonly string[];
  /** The user's aggregator; without one, the server only warns about the groups it finds. */
  aggregate: GroupAggregator | undefined;
  /** Grace period, max delay (0 = none) and max size (0 = none) of the check (wire-format §4.19). */
  gracePeriod: number;
  maxDelay: number;
  maxSize: number;
  /** Time between the end of a check and the start of the next one: min(7 s, grace period). */
  interval: number;
  /** How long a set is the aggregator's before the recoverer may reclaim it (asynq's 2 minutes). */
  setDeadline: number;
  /** Members read, and deleted, per round trip. */
  pageSize: number;
  /** The server's errorHandler: hears of every aggregation that could not be written. */
  errorHandler?: (error: Error, task: HandlerTask, info: FailedTaskInfo) => void | Promise<void>;
}

/** What one check did. */
export interface AggregatorRun {
  /** Aggregated tasks written. */
  aggregated: number;
  /** Sets left for the recoverer (the aggregator failed, or the write did). */
  failed: number;
}

/** What the read of a set gives the aggregator. */
interface ReadSet {
  tasks: HandlerTask[];
  /** The first member, named to the errorHandler. */
  first: FirstMember | undefined;
  /** Member ID -> its unique lock key, for the members that have one. */
  locks: Map<string, string>;
}

/** The first member of a set, named to the errorHandler. */
interface FirstMember {
  id: string;
  msg: TaskMessage;
}

/** Stands for the set's first task when none could be read. */
const NO_TASK: HandlerTask = Object.freeze({ type: "", payload: new Uint8Array(0), headers: {} });

/**
 * Checks every served queue's groups (listed in `groups`) one after the other; for each set a check
 * creates, reads the members in pages, calls the aggregator, and writes the aggregated task together
 * with marking the set finished (one script: a set reclaimed meanwhile is never aggregated twice),
 * then deletes the members page by page, releasing their unique locks. When the aggregator throws,
 * returns an invalid task or does not settle by the set's deadline, nothing is written: the
 * errorHandler hears of it and the recoverer reclaims the set after its deadline.
 */
export class Aggregator {
  private readonly params: AggregatorParams;
  private readonly logger: Logger;
  /** `queue\0group` of the groups already warned about (no aggregator). */
  private readonly warned = new Set<string>();
  private failing = false;
  private stopping = false;
  /** Ends the wait for an aggregator call at shutdown. */
  private readonly stopped = new AbortController();
  private readonly loop = new Periodic<AggregatorRun>(
    () => this.check(),
    () => this.params.interval,
  );

  constructor(params: AggregatorParams) {
    this.params = params;
    this.logger = componentLogger(params.logger, "aggregator");
  }

  /** Starts checking; the first check is after one interval (as asynq's). */
  start(): void {
    this.loop.start();
  }

  /** Stops the timer, ends the wait for a running aggregator call (its set is left for reclaim), waits for the check. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    this.stopped.abort();
    await this.loop.stop();
  }

  /** Runs one check now (joining the one in progress). Failures are logged and reported, never thrown. */
  runOnce(): Promise<AggregatorRun> {
    return this.loop.runOnce();
  }

  private async check(): Promise<AggregatorRun> {
    const run: AggregatorRun = { aggregated: 0, failed: 0 };
    let failure: { queue: string; error: unknown } | undefined;
    for (const queue of this.params.queues) {
      if (this.stopping) break;
      try {
        await this.checkQueue(queue, run);
      } catch (error) {
        failure ??= { queue, error };
      }
    }
    this.reportHealth(failure);
    return run;
  }

  private async checkQueue(queue: string, run: AggregatorRun): Promise<void> {
    const { broker, aggregate } = this.params;
    const groups = await broker.listGroups(queue);
    if (aggregate === undefined) {
      for (const group of groups) this.warnOnce(queue, group);
      return;
    }
    for (const group of groups) {
      if (this.stopping) return;
      const nowMs = this.params.clock.now();
      const set = await broker.checkGroup({
        queue,
        group,
        maxSize: this.params.maxSize,
        maxDelaySeconds: Math.floor(this.params.maxDelay / 1000),
        graceSeconds: Math.floor(this.params.gracePeriod / 1000),
        nowMs,
        deadlineSeconds: unixSeconds(nowMs + this.params.setDeadline),
      });
      if (set === null) continue;
      if (await this.aggregateSet(set, aggregate)) run.aggregated++;
      else run.failed++;
    }
  }

  private warnOnce(queue: string, group: string): void {
    const id = `${queue}\u0000${group}`;
    if (this.warned.has(id)) return;
    this.warned.add(id);
    this.logger.warn(
      `group "${group}" of queue "${queue}" has tasks waiting to be aggregated, but this server has ` +
        "no groupAggregator: they wait until a server with one serves the queue",
      { queue, group },
    );
  }

  /** Aggregates one set; true when its task was written. */
  private async aggregateSet(set: AggregationSetRef, aggregate: GroupAggregator): Promise<boolean> {
    const { queue, group } = set;
    const read = await this.readTasks(set);
    if (read instanceof Error) return this.fail(set, read, undefined);
    const { tasks, first, locks } = read;
    if (tasks.length === 0) {
      this.logger.warn(
        `aggregation set ${set.setKey} holds no task data; left for the recoverer (doctor reports it)`,
        { queue, group, key: set.setKey },
      );
      return false;
    }
    let result: Task;
    try {
      result = await this.callAggregator(set, aggregate, tasks);
    } catch (error) {
      return this.fail(set, toError(error), first);
    }
    let msg: TaskMessage;
    try {
      msg = this.resolve(set, result);
    } catch (error) {
      return this.fail(set, toError(error), first);
    }
    const nowMs = this.params.clock.now();
    const outcome = await this.params.broker.finishAggregation(set, msg, nowMs);
    if (outcome === "conflict") {
      return this.fail(set, new TaskIdConflictError(msg.queue, msg.id, { op: "aggregator.enqueue" }), first);
    }
    if (outcome === "lost") {
      return this.fail(
        set,
        new AsynqError(
          "ERR_AGGREGATION",
          `aggregation set ${set.setKey} was reclaimed before its task could be written (the aggregator ` +
            "ran past the set's deadline); its tasks are back in their group",
          { op: "aggregator.enqueue" },
        ),
        first,
      );
    }
    this.logger.info(
      `aggregated ${tasks.length} task(s) of group "${group}" in queue "${queue}" into task "${msg.id}" (${msg.type})`,
      { queue, group, taskId: msg.id, type: msg.type, count: tasks.length },
    );
    await purgeAggregationSet(this.params.broker, queue, set.setKey, this.params.pageSize, locks);
    return true;
  }

  /** The set's tasks, oldest first, read in pages; an Error when a member's msg cannot be decoded. */
  private async readTasks(set: AggregationSetRef): Promise<ReadSet | Error> {
    const { pageSize, broker } = this.params;
    const tasks: HandlerTask[] = [];
    const locks = new Map<string, string>();
    let first: FirstMember | undefined;
    for (let start = 0; ; start += pageSize) {
      const page = await broker.readAggregationSet(set.queue, set.setKey, start, pageSize);
      for (const member of page) {
        if (member.msg === null) continue; // a dangling ID: deleted with the set
        let msg: TaskMessage;
        try {
          msg = decodeTaskMessage(member.msg);
        } catch (error) {
          return new AsynqError(
            "ERR_AGGREGATION",
            `task "${member.id}" of aggregation set ${set.setKey} cannot be decoded: ${errorMessage(error)}`,
            { op: "aggregator.read", cause: error },
          );
        }
        first ??= { id: member.id, msg };
        tasks.push({ type: msg.type, payload: msg.payload, headers: msg.headers });
        const lock = member.uniqueKeyField !== "" ? member.uniqueKeyField : msg.uniqueKey;
        if (lock !== "") locks.set(member.id, lock);
      }
      if (page.length < pageSize) break;
    }
    return { tasks, first, locks };
  }

  /** Calls the aggregator; rejects when it throws, at the set's deadline, or at shutdown. */
  private callAggregator(
    set: AggregationSetRef,
    aggregate: GroupAggregator,
    tasks: readonly HandlerTask[],
  ): Promise<Task> {
    const leftMs = Math.max(0, set.deadlineSeconds * 1000 - this.params.clock.now());
    const failure = (message: string, cause?: unknown): AsynqError =>
      new AsynqError("ERR_AGGREGATION", message, { op: "aggregator.aggregate", cause });
    return new Promise<Task>((resolve, reject) => {
      const signal = this.stopped.signal;
      const timer = setTimeout(() => {
        settle();
        reject(failure(`groupAggregator did not settle within the set's deadline (${leftMs} ms)`));
      }, leftMs);
      const onStop = (): void => {
        settle();
        reject(failure("server shut down while groupAggregator ran"));
      };
      const settle = (): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onStop);
      };
      if (signal.aborted) {
        onStop();
        return;
      }
      signal.addEventListener("abort", onStop);
      let returned: Task | Promise<Task>;
      try {
        returned = aggregate(set.group, tasks);
      } catch (error) {
        settle();
        reject(failure(`groupAggregator threw: ${errorMessage(error)}`, error));
        return;
      }
      Promise.resolve(returned).then(
        (task) => {
          settle();
          resolve(task);
        },
        (error: unknown) => {
          settle();
          reject(failure(`groupAggregator failed: ${errorMessage(error)}`, error));
        },
      );
    });
  }

  /**
   * The aggregated task's message, resolved as `Client.enqueue` resolves a task: into the group's
   * queue unless the task's own `options.queue` names another.
   * @throws ValidationError for an invalid task or an option an aggregated task cannot have.
   */
  private resolve(set: AggregationSetRef, task: Task): TaskMessage {
    const own = (task as Partial<Task> | null)?.options?.queue;
    const { request } = resolveTask(
      task,
      own === undefined ? { queue: set.queue } : undefined,
      this.params.clock.now(),
      "aggregated task",
    );
    if (request.uniqueTtlSeconds !== undefined) {
      throw new ValidationError(
        "aggregated task.options.unique",
        task.options?.unique,
        "an aggregated task cannot be unique",
      );
    }
    if (request.target.kind === "scheduled") {
      throw new ValidationError(
        "aggregated task.options",
        task.options,
        "an aggregated task is enqueued as pending: processAt and processIn are not supported",
      );
    }
    if (request.target.kind === "group") {
      throw new ValidationError(
        "aggregated task.options.group",
        task.options?.group,
        "an aggregated task cannot join a group",
      );
    }
    return request.msg;
  }

  /** Logs and reports an aggregation that was not written; its set is left for the recoverer. */
  private async fail(set: AggregationSetRef, error: Error, first: FirstMember | undefined): Promise<false> {
    const { queue, group } = set;
    this.logger.error(
      `cannot aggregate group "${group}" of queue "${queue}": ${error.message}; its tasks go back into ` +
        `the group after the set's deadline (${new Date(set.deadlineSeconds * 1000).toISOString()})`,
      { queue, group, key: set.setKey, error: error.message },
    );
    const handler = this.params.errorHandler;
    if (handler === undefined) return false;
    const task =
      first === undefined
        ? NO_TASK
        : { type: first.msg.type, payload: first.msg.payload, headers: first.msg.headers };
    const info: FailedTaskInfo = {
      id: first?.id ?? "",
      queue,
      retried: first?.msg.retried ?? 0,
      maxRetry: first?.msg.retry ?? 0,
    };
    try {
      await handler(error, task, info);
    } catch (thrown) {
      this.logger.error(`errorHandler threw for aggregation set ${set.setKey}: ${errorMessage(thrown)}`, {
        queue,
        group,
        error: errorMessage(thrown),
      });
    }
    return false;
  }

  /** Logs a failed check at warn once per outage (then at debug), and the end of the outage at info. */
  private reportHealth(failure: { queue: string; error: unknown } | undefined): void {
    if (failure === undefined) {
      if (this.failing) this.logger.info("aggregator: Redis answers again", { operation: "aggregate" });
      this.failing = false;
      return;
    }
    const text =
      `aggregator: could not check the groups of queue "${failure.queue}": ` +
      `${errorMessage(failure.error)}; next check in ${this.params.interval} ms`;
    const fields = {
      queue: failure.queue,
      operation: "aggregate",
      error: errorMessage(failure.error),
      delayMs: this.params.interval,
    };
    if (this.failing) this.logger.debug(text, fields);
    else this.logger.warn(text, fields);
    this.failing = true;
  }
}

/**
 * Deletes the members of a finished aggregation set (its task written) page by page, with their
 * hashes and unique locks, until the set is gone. Used by the aggregator after writing the task (it
 * knows the members' locks from its read: only IDs are read then) and by the recoverer for sets
 * whose deletion a dead worker left unfinished (the members' messages are read for their locks).
 * @returns how many members were deleted.
 */
export async function purgeAggregationSet(
  broker: Pick<AggregatorPort, "readAggregationSet" | "aggregationSetIds" | "deleteAggregatedMembers">,
  queue: string,
  setKey: string,
  pageSize: number,
  locks?: ReadonlyMap<string, string>,
): Promise<number> {
  let deleted = 0;
  for (;;) {
    const members: MemberToDelete[] =
      locks === undefined
        ? (await broker.readAggregationSet(queue, setKey, 0, pageSize)).map((m) => ({
            id: m.id,
            lockKey: lockKeyOf(m.uniqueKeyField, m.msg),
          }))
        : (await broker.aggregationSetIds(setKey, 0, pageSize)).map((id) => ({
            id,
            lockKey: locks.get(id) ?? "",
          }));
    if (members.length === 0) {
      // Already empty (deleted by another server): unregister it.
      await broker.deleteAggregatedMembers(queue, setKey, []);
      return deleted;
    }
    const result = await broker.deleteAggregatedMembers(queue, setKey, members);
    if (result === "not-finished") return deleted;
    deleted += result.deleted;
    if (result.done) return deleted;
  }
}

/** A member's lock key: the hash's `unique_key` field, else its message's (asynq writes only that). */
function lockKeyOf(field: string, msg: Buffer | null): string {
  if (field !== "") return field;
  if (msg === null) return "";
  try {
    return decodeTaskMessage(msg).uniqueKey;
  } catch {
    return "";
  }
}
