// The two libraries behind one producer interface: asynq-ts (its build, see asynq.ts) and BullMQ, same payloads.
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { processedTotalKey } from "../../src/wire/keys.js";
import { loadAsynqTs } from "./asynq.js";
import { ASYNQ_QUEUE, BULL_QUEUE, bullConnection, TASK_TYPE, type Lib } from "./names.js";

export { ASYNQ_QUEUE, BULL_QUEUE, bullConnection, LIBS, TASK_TYPE, type Lib } from "./names.js";

export const PAYLOAD_BYTES = 100;

/** A JSON payload whose encoding is exactly 100 bytes (for indexes below 10^12). */
export function payload(i: number): { i: number; pad: string } {
  const bare = JSON.stringify({ i, pad: "" }).length;
  return { i, pad: "x".repeat(Math.max(0, PAYLOAD_BYTES - bare)) };
}

/** The producer side of one library. */
export interface Producer {
  /** Enqueues task `i` on its own; resolves to its ID. */
  enqueue(i: number): Promise<string>;
  /** Enqueues tasks `from .. from + count - 1` in one batch call. */
  enqueueBatch(from: number, count: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens a producer of `lib` on `url`.
 * @throws Error when a batch reports a failed task.
 */
export async function openProducer(lib: Lib, url: string): Promise<Producer> {
  if (lib === "asynq-ts") {
    const { Client } = await loadAsynqTs();
    const client = new Client(url);
    return {
      enqueue: async (i) => (await client.enqueue({ type: TASK_TYPE, payload: payload(i) })).id,
      enqueueBatch: async (from, count) => {
        const tasks = Array.from({ length: count }, (_, k) => ({
          type: TASK_TYPE,
          payload: payload(from + k),
        }));
        const failed = (await client.enqueueBatch(tasks)).find((r) => !r.ok);
        if (failed !== undefined && !failed.ok) throw failed.error;
      },
      close: () => client.close(),
    };
  }
  const queue = new Queue(BULL_QUEUE, { connection: bullConnection(url) });
  await queue.waitUntilReady();
  return {
    enqueue: async (i) => (await queue.add(TASK_TYPE, payload(i))).id ?? "",
    enqueueBatch: async (from, count) => {
      const jobs = Array.from({ length: count }, (_, k) => ({ name: TASK_TYPE, data: payload(from + k) }));
      await queue.addBulk(jobs);
    },
    close: () => queue.close(),
  };
}

/** How many tasks of `lib` have completed so far (asynq-ts: processed counter; BullMQ: completed set). */
export async function completedCount(lib: Lib, admin: Redis): Promise<number> {
  if (lib === "asynq-ts") return Number((await admin.get(processedTotalKey(ASYNQ_QUEUE))) ?? 0);
  return admin.zcard(`bull:${BULL_QUEUE}:completed`);
}

/**
 * How many of the `n` tasks enqueued before the workers started have completed, and the Redis
 * commands that took. BullMQ jobs deleted on completion (`removeOnComplete`) leave no trace: then it
 * is `n` minus the jobs still waiting or active.
 */
export async function completedOf(
  lib: Lib,
  admin: Redis,
  n: number,
  bullRemoveOnComplete: boolean,
): Promise<{ completed: number; commands: number }> {
  if (lib === "bullmq" && bullRemoveOnComplete) {
    return { completed: n - (await unfinishedCount(lib, admin)), commands: 2 };
  }
  return { completed: await completedCount(lib, admin), commands: 1 };
}

/** Tasks of `lib` still waiting or running (0 once the queue is drained). */
export async function unfinishedCount(lib: Lib, admin: Redis): Promise<number> {
  if (lib === "asynq-ts") {
    const [pending, active] = await Promise.all([
      admin.llen(`asynq:{${ASYNQ_QUEUE}}:pending`),
      admin.llen(`asynq:{${ASYNQ_QUEUE}}:active`),
    ]);
    return pending + active;
  }
  const [wait, active] = await Promise.all([
    admin.llen(`bull:${BULL_QUEUE}:wait`),
    admin.llen(`bull:${BULL_QUEUE}:active`),
  ]);
  return wait + active;
}
