// Read-side Redis calls used by the inspector: one task record, queue sizes (wire-format §4.28.1, §4.28.3).
import type { Redis } from "ioredis";
import * as keys from "../../wire/keys.js";
import { LuaScript, runScript } from "../scripts.js";

const scripts = {
  getTaskInfo: LuaScript.fromFile("admin/get_task_info"),
  queueSizes: LuaScript.fromFile("admin/queue_sizes"),
};

/** A task hash as stored, before decoding. */
export interface TaskRecord {
  queue: string;
  id: string;
  /** The `msg` field (encoded TaskMessage), or null when absent. */
  msg: Buffer | null;
  /** The `state` field, or null when absent. */
  state: string | null;
  /** The `result` field, or null when absent. */
  result: Buffer | null;
  /** The scheduled/retry zset score (unix s) when the state is scheduled or retry. */
  nextProcessAtSeconds: number | null;
  /** The `progress` field (JSON text, asynq-ts only), or null when absent. */
  progress: Buffer | null;
}

/** Number of tasks per state of one queue. */
export interface QueueSizes {
  pending: number;
  active: number;
  scheduled: number;
  retry: number;
  archived: number;
  completed: number;
  aggregating: number;
  /** Sum of all states. */
  size: number;
  paused: boolean;
}

/** Reads a task record; checks the queue is registered in the same round trip. */
export async function readTaskRecord(
  redis: Redis,
  queue: string,
  id: string,
): Promise<TaskRecord | "queue-not-found" | "task-not-found"> {
  const [registered, reply] = await Promise.all([
    redis.sismember(keys.ALL_QUEUES, queue),
    runScript(
      redis,
      scripts.getTaskInfo,
      [keys.taskKey(queue, id), keys.scheduledKey(queue), keys.retryKey(queue)],
      [id],
      true,
    ),
  ]);
  if (registered !== 1) return "queue-not-found";
  if (reply === null) return "task-not-found";
  const [msg = null, state = null, result = null, score = null, progress = null] =
    reply as Array<Buffer | null>;
  return {
    queue,
    id,
    msg,
    state: state === null ? null : state.toString("utf8"),
    result,
    nextProcessAtSeconds: score === null ? null : Number(score.toString("latin1")),
    progress,
  };
}

/** Counts the tasks of a queue in each state. */
export async function readQueueSizes(redis: Redis, queue: string): Promise<QueueSizes | "queue-not-found"> {
  const [registered, groups] = await Promise.all([
    redis.sismember(keys.ALL_QUEUES, queue),
    redis.smembers(keys.allGroupsKey(queue)),
  ]);
  if (registered !== 1) return "queue-not-found";
  const reply = (await runScript(
    redis,
    scripts.queueSizes,
    [
      keys.pendingKey(queue),
      keys.activeKey(queue),
      keys.scheduledKey(queue),
      keys.retryKey(queue),
      keys.archivedKey(queue),
      keys.completedKey(queue),
      keys.pausedKey(queue),
      ...groups.map((g) => keys.groupKey(queue, g)),
    ],
    [],
  )) as number[];
  const [
    pending = 0,
    active = 0,
    scheduled = 0,
    retry = 0,
    archived = 0,
    completed = 0,
    paused = 0,
    aggregating = 0,
  ] = reply;
  return {
    pending,
    active,
    scheduled,
    retry,
    archived,
    completed,
    aggregating,
    size: pending + active + scheduled + retry + archived + completed + aggregating,
    paused: paused === 1,
  };
}
