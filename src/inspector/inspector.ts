// The Inspector: the admin API over queues, tasks, servers and schedulers. It reads and writes as
// wire-format §4.28 says, so that what asynqmon and Go's Inspector show agrees with it. The work is done by
// three parts (tasks.ts, queues.ts, servers.ts); this class is the one flat API over them: their methods
// are its own (declaration merging and internal/delegate.ts), with no forwarder written per method.
import { openBroker } from "../broker/broker.js";
import type { AdminPort, QueueSizes } from "../broker/ports.js";
import { openConnection, type RedisConnection } from "../broker/connection/connection.js";
import { resolveConnectionOptions, type ConnectionOptions } from "../broker/connection/options.js";
import { CorruptTaskError, ValidationError } from "../errors.js";
import { systemClock, type Clock } from "../internal/clock.js";
import { delegate } from "../internal/delegate.js";
import type { Logger } from "../internal/logger.js";
import { resolveArchiveLimits } from "../internal/resolve.js";
import type { TaskInfo } from "../task.js";
import { taskInfoFromMessage } from "../task-info.js";
import { TASK_STATES, type TaskState } from "../wire/keys.js";
import { decodeTaskMessage } from "../wire/proto.js";
import { QueueAdmin } from "./queues.js";
import { ServerAdmin } from "./servers.js";
import { TaskAdmin, type ArchiveLimits } from "./tasks.js";

export type { QueueSizes } from "../broker/ports.js";
export type { RedisNodeInfo } from "../broker/admin/servers.js";

/**
 * Inspector settings. `commandTimeout` and `connectTimeout` guard the connection (see
 * {@link ConnectionOptions}): the first call fails with a ConnectionError when Redis cannot be
 * reached or used, and a call fails with one once its connection answered nothing for
 * 2 × `commandTimeout`.
 */
export interface InspectorOptions extends ConnectionOptions {
  /** Source of time. @defaultValue the system clock */
  clock?: Clock;
  /**
   * Hears of records left out of listings because they do not decode, and of connection outages
   * ("connection lost", "connection back"). @defaultValue none
   */
  logger?: Logger;
  /**
   * Archive limits applied after the inspector archives tasks (as the servers' `archive` option):
   * `maxSize` an integer >= 1, `maxAge` one >= 1000 ms.
   * @defaultValue 10,000 tasks and 90 days (`DEFAULTS.archive`)
   */
  archive?: Partial<ArchiveLimits>;
}

/** Methods of QueueAdmin (queues.ts) that the Inspector offers as they are, with their TSDoc. */
const QUEUE_METHODS = [
  "getQueueInfo",
  "getQueueInfos",
  "history",
  "listGroups",
  "pauseQueue",
  "unpauseQueue",
  "deleteQueue",
] as const satisfies ReadonlyArray<keyof QueueAdmin>;

/** Methods of TaskAdmin (tasks.ts) that the Inspector offers as they are, with their TSDoc. */
const TASK_METHODS = [
  "listTasks",
  "listTaskPage",
  "listAggregatingTasks",
  "iterateTasks",
  "deleteTask",
  "archiveTask",
  "runTask",
  "deleteTasks",
  "archiveTasks",
  "runTasks",
  "deleteAllTasks",
  "archiveAllTasks",
  "runAllTasks",
  "updateTaskPayload",
] as const satisfies ReadonlyArray<keyof TaskAdmin>;

/** Methods of ServerAdmin (servers.ts) that the Inspector offers as they are, with their TSDoc. */
const SERVER_METHODS = [
  "listServers",
  "listWorkers",
  "listSchedulerEntries",
  "listSchedulerEnqueueEvents",
  "redisInfo",
  "clusterRedisInfo",
  "clusterKeySlot",
  "clusterNodes",
] as const satisfies ReadonlyArray<keyof ServerAdmin>;

// The Inspector's methods defined by its three parts: declared here by their parts' own declarations
// (signatures and TSDoc, as users see them), installed on the class by `delegate` in its static block.
// (A line comment, not TSDoc: the class's own TSDoc below is what users see for `Inspector`.)
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- the static block of the class installs every method named here (delegate)
export interface Inspector
  extends
    Pick<QueueAdmin, (typeof QUEUE_METHODS)[number]>,
    Pick<TaskAdmin, (typeof TASK_METHODS)[number]>,
    Pick<ServerAdmin, (typeof SERVER_METHODS)[number]> {}

/**
 * Reads and steers queues, tasks, servers and schedulers.
 *
 * @example
 * ```ts
 * const inspector = new Inspector("redis://127.0.0.1:6379");
 * for (const info of await inspector.getQueueInfos()) console.log(info.queue, info.pending, info.latency);
 * const failed = await inspector.listTasks("default", "archived", { page: 1, size: 50 });
 * await inspector.runAllTasks("default", "archived"); // try them all again
 * await inspector.close();
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class Inspector {
  static {
    // `this`, not `Inspector`: naming the class inside itself makes the bundler rename it (_Inspector).
    delegate(this.prototype, (self: Inspector) => self.queueAdmin, QUEUE_METHODS);
    delegate(this.prototype, (self: Inspector) => self.tasks, TASK_METHODS);
    delegate(this.prototype, (self: Inspector) => self.servers, SERVER_METHODS);
  }

  private readonly broker: AdminPort;
  private readonly clock: Clock;
  private readonly tasks: TaskAdmin;
  private readonly queueAdmin: QueueAdmin;
  private readonly servers: ServerAdmin;

  /**
   * @param redis a URL, ioredis options, or an ioredis connection you own (left open by `close()`;
   *   replacing it when it goes silent is then your job). Nothing connects before the first call.
   * @throws ValidationError when `redis` is not one of those, or for an invalid option.
   */
  constructor(redis: RedisConnection, options: InspectorOptions = {}) {
    const connection = resolveConnectionOptions(options);
    const limits = resolveArchiveLimits(options.archive, "options.archive");
    this.broker = openBroker(openConnection(redis, "inspector.constructor", connection), {
      options: connection,
      logger: options.logger,
    });
    this.clock = options.clock ?? systemClock;
    this.tasks = new TaskAdmin(this.broker, this.clock, limits);
    this.queueAdmin = new QueueAdmin(this.broker, this.clock);
    const logger = options.logger;
    this.servers = new ServerAdmin(this.broker, this.clock, (skipped) =>
      logger?.warn(`inspector: skipped an unreadable record: ${JSON.stringify(skipped)}`, {
        component: "inspector",
        key: skipped.key,
        ...(skipped.field === "" ? {} : { taskId: skipped.field }),
        error: skipped.reason,
      }),
    );
  }

  // ---- Queues ----------------------------------------------------------------------------------

  /**
   * Names of all queues (those registered in `asynq:queues`), sorted.
   * @throws BrokerError when Redis fails.
   */
  async queues(): Promise<string[]> {
    return (await this.broker.queues()).sort();
  }

  /**
   * Counts the tasks of a queue in each state (cheaper than getQueueInfo).
   * @throws QueueNotFoundError when the queue is not registered.
   * @throws BrokerError when Redis fails.
   */
  async queueSizes(queue: string): Promise<QueueSizes> {
    checkName(queue, "queue");
    return this.broker.queueSizes(queue);
  }

  // ---- Tasks -----------------------------------------------------------------------------------

  /**
   * Reads one task.
   * @throws ValidationError for a blank queue or ID.
   * @throws QueueNotFoundError when the queue is not registered.
   * @throws TaskNotFoundError when no task has this ID in the queue.
   * @throws CorruptTaskError when the stored record cannot be decoded.
   * @throws BrokerError when Redis fails.
   */
  async getTaskInfo(queue: string, id: string): Promise<TaskInfo> {
    checkName(queue, "queue");
    checkName(id, "id");
    const op = "inspector.getTaskInfo";
    const record = await this.broker.getTaskRecord(queue, id);
    if (record.state === null || !(TASK_STATES as readonly string[]).includes(record.state)) {
      throw new CorruptTaskError(queue, id, `unknown state ${JSON.stringify(record.state)}`, { op });
    }
    if (record.msg === null) throw new CorruptTaskError(queue, id, "the task hash has no msg field", { op });
    let msg;
    try {
      msg = decodeTaskMessage(record.msg);
    } catch (cause) {
      throw new CorruptTaskError(queue, id, "msg does not decode as a TaskMessage", { op, cause });
    }
    const state = record.state as TaskState;
    const nextProcessAt =
      state === "pending"
        ? new Date(Math.floor(this.clock.now() / 1000) * 1000)
        : record.nextProcessAtSeconds !== null
          ? new Date(record.nextProcessAtSeconds * 1000)
          : null;
    return taskInfoFromMessage(msg, state, nextProcessAt, record.result, record.progress);
  }

  /**
   * Asks the server running the task to abort it (asynq's CancelProcessing): its signal is aborted
   * with reason "canceled" and the attempt fails with "context canceled", so the task is retried or
   * archived as after any failure. Nothing happens if no server is running it.
   * @returns how many servers received the request (each ignores IDs it is not running).
   * @throws ValidationError for a blank ID.
   * @throws BrokerError when Redis fails.
   */
  async cancelProcessing(id: string): Promise<number> {
    checkName(id, "id");
    return this.broker.publishCancel(id);
  }

  // ---- Servers, workers, schedulers, cluster ---------------------------------------------------

  /** Closes the Redis connection if the inspector created it. */
  async close(): Promise<void> {
    await this.broker.close();
  }

  /**
   * Closes the inspector when an `await using` block ends (same as {@link Inspector.close}).
   * @example
   * ```ts
   * await using inspector = new Inspector("redis://127.0.0.1:6379");
   * console.log(await inspector.getQueueInfos());
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function checkName(value: unknown, field: string): void {
  if (typeof value !== "string" || value.trim() === "") {
    throw new ValidationError(field, value, `${field} must be a non-empty string`);
  }
}
