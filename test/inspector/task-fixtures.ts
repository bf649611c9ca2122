// Fixtures for the inspector task tests: raw task writes in every state, as Go asynq stores them, and a TaskAdmin on a real Redis.
import type { Redis } from "ioredis";
import { readTaskRecord } from "../../src/broker/admin/read.js";
import { listTaskRecords, seekTaskRecords } from "../../src/broker/admin/list.js";
import { mutateAllTasks, mutateTasks, replaceTaskMessage } from "../../src/broker/admin/mutate.js";
import { trimArchive } from "../../src/broker/finish/lifecycle.js";
import { QueueNotFoundError, TaskNotFoundError } from "../../src/errors.js";
import type { Clock } from "../../src/internal/clock.js";
import type { TaskAdminPort } from "../../src/broker/ports.js";
import { TaskAdmin, type ArchiveLimits } from "../../src/inspector/tasks.js";
import * as keys from "../../src/wire/keys.js";
import type { TaskState } from "../../src/wire/keys.js";
import type { TaskMessage } from "../../src/wire/messages.js";
import { encodeTaskMessage, newTaskMessage } from "../../src/wire/proto.js";

/** A fixed instant with a fraction of a second. */
export const NOW = Date.UTC(2030, 0, 1, 12, 0, 0) + 400;
export const NOW_S = Math.floor(NOW / 1000);

/** The Redis-side functions behind the TaskAdminPort interface (what admin/ops.ts wires). */
export function adminBroker(redis: Redis): TaskAdminPort {
  return {
    getTaskRecord: async (queue, id) => {
      const record = await readTaskRecord(redis, queue, id);
      if (record === "queue-not-found") throw new QueueNotFoundError(queue);
      if (record === "task-not-found") throw new TaskNotFoundError(queue, id);
      return record;
    },
    listTaskRecords: (queue, source, start, stop) => listTaskRecords(redis, queue, source, start, stop),
    seekTaskRecords: (queue, source, cursor, size) => seekTaskRecords(redis, queue, source, cursor, size),
    mutateTasks: (queue, op, ids, nowMs) => mutateTasks(redis, queue, op, ids, nowMs),
    mutateAllTasks: (queue, op, source, nowMs) => mutateAllTasks(redis, queue, op, source, nowMs),
    replaceTaskMessage: (r) => replaceTaskMessage(redis, r.queue, r.id, r.expected, r.next, r.states),
    trimArchive: (r) => trimArchive(redis, r.queue, r.nowMs, r.maxSize, r.maxAgeMs),
  };
}

export function taskAdmin(redis: Redis, clock: Clock, limits?: ArchiveLimits): TaskAdmin {
  return new TaskAdmin(adminBroker(redis), clock, limits);
}

/** How to write one task. */
export interface PutOptions {
  /** Container score (unix s); for active, the lease expiry (null: no lease). @defaultValue NOW_S */
  score?: number | null;
  group?: string;
  /** The unique lock key: stored in msg and in the hash, and SET to `lockHolder`. */
  unique?: string;
  /** Who holds the lock. @defaultValue the task's ID */
  lockHolder?: string;
  result?: string;
  payload?: string;
  /** Message fields to override. */
  msg?: Partial<TaskMessage>;
  /** The hash to write instead (for corrupt records); the container entry is still written. */
  fields?: Record<string, string | Buffer>;
  /** Extra hash fields. */
  extra?: Record<string, string>;
}

/** The encoded msg `put` writes. */
export function encodedMsg(queue: string, id: string, options: PutOptions = {}): Buffer {
  const msg = newTaskMessage({
    type: "t",
    id,
    queue,
    retry: 25,
    timeout: 1800n,
    payload: Buffer.from(options.payload ?? `{"id":"${id}"}`),
    groupKey: options.group ?? "",
    uniqueKey: options.unique ?? "",
    ...options.msg,
  });
  return Buffer.from(encodeTaskMessage(msg));
}

/** Writes a task in `state` with raw commands (Go's layout, wire-format §3) after registering the queue. */
export async function put(
  redis: Redis,
  queue: string,
  id: string,
  state: TaskState,
  options: PutOptions = {},
): Promise<void> {
  const hash: Record<string, string | Buffer> = options.fields ?? {
    msg: encodedMsg(queue, id, options),
    state,
    ...(options.group === undefined ? {} : { group: options.group }),
    ...(options.unique === undefined ? {} : { unique_key: options.unique }),
    ...(options.result === undefined ? {} : { result: options.result }),
    ...options.extra,
  };
  const score = options.score === undefined ? NOW_S : options.score;
  const p = redis.pipeline().sadd(keys.ALL_QUEUES, queue);
  if (Object.keys(hash).length > 0) p.hset(keys.taskKey(queue, id), hash);
  if (options.unique !== undefined) p.set(options.unique, options.lockHolder ?? id, "EX", 3600);
  if (state === "pending") p.lpush(keys.pendingKey(queue), id);
  else if (state === "active") {
    p.lpush(keys.activeKey(queue), id);
    if (score !== null) p.zadd(keys.leaseKey(queue), score, id);
  } else if (state === "aggregating") {
    const group = options.group ?? "g";
    p.zadd(keys.groupKey(queue, group), score ?? NOW_S, id).sadd(keys.allGroupsKey(queue), group);
  } else p.zadd(keys.stateKey(queue, state), score ?? NOW_S, id);
  await p.exec();
}

/** The `state` field of a task (null when the hash is gone). */
export function stateOf(redis: Redis, queue: string, id: string): Promise<string | null> {
  return redis.hget(keys.taskKey(queue, id), "state");
}

/** The promise's rejection (undefined if it resolved). */
export function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}
