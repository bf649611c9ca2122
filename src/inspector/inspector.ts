// The Inspector: the admin API over queues, tasks, servers and schedulers. It reads and writes as
// wire-format §4.28 says, so that what asynqmon and Go's Inspector show agrees with it. The work is done by
// three parts (tasks.ts, queues.ts, servers.ts); this class is the one flat API over them.
import { RedisBroker, type Broker, type QueueSizes } from "../broker/broker.js";
import { openConnection, type RedisConnection } from "../broker/connection/connection.js";
import { resolveConnectionOptions, type ConnectionOptions } from "../broker/connection/options.js";
import { CorruptTaskError, ValidationError } from "../errors.js";
import { systemClock, type Clock } from "../internal/clock.js";
import type { Logger } from "../internal/logger.js";
import { resolveArchiveLimits } from "../internal/resolve.js";
import type { Payload, TaskInfo } from "../task.js";
import { taskInfoFromMessage } from "../task-info.js";
import { TASK_STATES, type TaskState } from "../wire/keys.js";
import { decodeTaskMessage } from "../wire/proto.js";
import {
  QueueAdmin,
  type DailyStats,
  type DeleteQueueOptions,
  type GroupInfo,
  type QueueInfo,
  type QueueRemoval,
} from "./queues.js";
import {
  ServerAdmin,
  type ClusterNode,
  type PageOptions,
  type SchedulerEnqueueEvent,
  type SchedulerEntry,
  type ServerInfo,
  type WorkerInfo,
} from "./servers.js";
import {
  TaskAdmin,
  type ArchiveLimits,
  type IterateOptions,
  type ListOptions,
  type TaskPage,
  type TaskResult,
} from "./tasks.js";

export type { QueueSizes } from "../broker/broker.js";

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
export class Inspector {
  private readonly broker: Broker;
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
    this.broker = new RedisBroker(openConnection(redis, "inspector.constructor", connection), {
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

  /** {@inheritDoc QueueAdmin.getQueueInfo} */
  getQueueInfo(queue: string): Promise<QueueInfo> {
    return this.queueAdmin.getQueueInfo(queue);
  }

  /** {@inheritDoc QueueAdmin.getQueueInfos} */
  getQueueInfos(): Promise<QueueInfo[]> {
    return this.queueAdmin.getQueueInfos();
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

  /** {@inheritDoc QueueAdmin.history} */
  history(queue: string, days: number): Promise<DailyStats[]> {
    return this.queueAdmin.history(queue, days);
  }

  /** {@inheritDoc QueueAdmin.listGroups} */
  listGroups(queue: string): Promise<GroupInfo[]> {
    return this.queueAdmin.listGroups(queue);
  }

  /** {@inheritDoc QueueAdmin.pauseQueue} */
  pauseQueue(queue: string): Promise<void> {
    return this.queueAdmin.pauseQueue(queue);
  }

  /** {@inheritDoc QueueAdmin.unpauseQueue} */
  unpauseQueue(queue: string): Promise<void> {
    return this.queueAdmin.unpauseQueue(queue);
  }

  /** {@inheritDoc QueueAdmin.deleteQueue} */
  deleteQueue(queue: string, options?: DeleteQueueOptions): Promise<QueueRemoval> {
    return this.queueAdmin.deleteQueue(queue, options);
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
    return taskInfoFromMessage(msg, state, nextProcessAt, record.result);
  }

  /** {@inheritDoc TaskAdmin.listTasks} */
  listTasks(queue: string, state: TaskState, options?: ListOptions): Promise<TaskInfo[]> {
    return this.tasks.listTasks(queue, state, options);
  }

  /** {@inheritDoc TaskAdmin.listTaskPage} */
  listTaskPage(queue: string, state: TaskState, options?: ListOptions): Promise<TaskPage> {
    return this.tasks.listTaskPage(queue, state, options);
  }

  /** {@inheritDoc TaskAdmin.listAggregatingTasks} */
  listAggregatingTasks(queue: string, group: string, options?: ListOptions): Promise<TaskInfo[]> {
    return this.tasks.listAggregatingTasks(queue, group, options);
  }

  /** {@inheritDoc TaskAdmin.iterateTasks} */
  iterateTasks(queue: string, state: TaskState, options?: IterateOptions): AsyncIterableIterator<TaskInfo> {
    return this.tasks.iterateTasks(queue, state, options);
  }

  /** {@inheritDoc TaskAdmin.deleteTask} */
  deleteTask(queue: string, id: string): Promise<void> {
    return this.tasks.deleteTask(queue, id);
  }

  /** {@inheritDoc TaskAdmin.archiveTask} */
  archiveTask(queue: string, id: string): Promise<void> {
    return this.tasks.archiveTask(queue, id);
  }

  /** {@inheritDoc TaskAdmin.runTask} */
  runTask(queue: string, id: string): Promise<void> {
    return this.tasks.runTask(queue, id);
  }

  /** {@inheritDoc TaskAdmin.deleteTasks} */
  deleteTasks(queue: string, ids: readonly string[]): Promise<TaskResult[]> {
    return this.tasks.deleteTasks(queue, ids);
  }

  /** {@inheritDoc TaskAdmin.archiveTasks} */
  archiveTasks(queue: string, ids: readonly string[]): Promise<TaskResult[]> {
    return this.tasks.archiveTasks(queue, ids);
  }

  /** {@inheritDoc TaskAdmin.runTasks} */
  runTasks(queue: string, ids: readonly string[]): Promise<TaskResult[]> {
    return this.tasks.runTasks(queue, ids);
  }

  /** {@inheritDoc TaskAdmin.deleteAllTasks} */
  deleteAllTasks(queue: string, state: TaskState, group?: string): Promise<number> {
    return this.tasks.deleteAllTasks(queue, state, group);
  }

  /** {@inheritDoc TaskAdmin.archiveAllTasks} */
  archiveAllTasks(queue: string, state: TaskState, group?: string): Promise<number> {
    return this.tasks.archiveAllTasks(queue, state, group);
  }

  /** {@inheritDoc TaskAdmin.runAllTasks} */
  runAllTasks(queue: string, state: TaskState, group?: string): Promise<number> {
    return this.tasks.runAllTasks(queue, state, group);
  }

  /** {@inheritDoc TaskAdmin.updateTaskPayload} */
  updateTaskPayload(queue: string, id: string, payload: Payload): Promise<TaskInfo> {
    return this.tasks.updateTaskPayload(queue, id, payload);
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

  /** {@inheritDoc ServerAdmin.listServers} */
  listServers(): Promise<ServerInfo[]> {
    return this.servers.listServers();
  }

  /** {@inheritDoc ServerAdmin.listWorkers} */
  listWorkers(): Promise<WorkerInfo[]> {
    return this.servers.listWorkers();
  }

  /** {@inheritDoc ServerAdmin.listSchedulerEntries} */
  listSchedulerEntries(): Promise<SchedulerEntry[]> {
    return this.servers.listSchedulerEntries();
  }

  /** {@inheritDoc ServerAdmin.listSchedulerEnqueueEvents} */
  listSchedulerEnqueueEvents(entryId: string, options?: PageOptions): Promise<SchedulerEnqueueEvent[]> {
    return this.servers.listSchedulerEnqueueEvents(entryId, options);
  }

  /** {@inheritDoc ServerAdmin.clusterKeySlot} */
  clusterKeySlot(queue: string): Promise<number> {
    return this.servers.clusterKeySlot(queue);
  }

  /** {@inheritDoc ServerAdmin.clusterNodes} */
  clusterNodes(queue: string): Promise<ClusterNode[]> {
    return this.servers.clusterNodes(queue);
  }

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
