// The Inspector: reads tasks and queues back (the full admin API grows here, on the same broker).
import { RedisBroker, type Broker, type QueueSizes } from "../broker/broker.js";
import { openConnection, type RedisConnection } from "../broker/connection.js";
import { CorruptTaskError, ValidationError } from "../errors.js";
import { systemClock, type Clock } from "../internal/clock.js";
import type { TaskInfo } from "../task.js";
import { taskInfoFromMessage } from "../task-info.js";
import { TASK_STATES, type TaskState } from "../wire/keys.js";
import { decodeTaskMessage } from "../wire/proto.js";

export type { QueueSizes } from "../broker/broker.js";

/** Inspector settings. */
export interface InspectorOptions {
  /** Source of time. @defaultValue the system clock */
  clock?: Clock;
}

/**
 * Reads the state of queues and tasks.
 *
 * @example
 * ```ts
 * const inspector = new Inspector("redis://127.0.0.1:6379");
 * const sizes = await inspector.queueSizes("default");
 * const info = await inspector.getTaskInfo("default", "a-1");
 * await inspector.close();
 * ```
 */
export class Inspector {
  private readonly broker: Broker;
  private readonly clock: Clock;

  /**
   * @param redis a URL, ioredis options, or an ioredis connection you own (left open by `close()`).
   * @throws ValidationError when `redis` is not one of those.
   */
  constructor(redis: RedisConnection, options: InspectorOptions = {}) {
    this.broker = new RedisBroker(openConnection(redis, "inspector.constructor"));
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Names of all queues (those registered in `asynq:queues`), sorted.
   * @throws BrokerError when Redis fails.
   */
  async queues(): Promise<string[]> {
    return (await this.broker.queues()).sort();
  }

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

  /**
   * Counts the tasks of a queue in each state.
   * @throws QueueNotFoundError when the queue is not registered.
   * @throws BrokerError when Redis fails.
   */
  async queueSizes(queue: string): Promise<QueueSizes> {
    checkName(queue, "queue");
    return this.broker.queueSizes(queue);
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

  /** Closes the Redis connection if the inspector created it. */
  async close(): Promise<void> {
    await this.broker.close();
  }
}

function checkName(value: unknown, field: string): void {
  if (typeof value !== "string" || value.trim() === "") {
    throw new ValidationError(field, value, `${field} must be a non-empty string`);
  }
}
