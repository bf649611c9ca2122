// drainQueue: processes everything pending in a real queue with a real Server (the one production
// uses: same dequeue, retries, archiving, results), and resolves once the queue is empty.
import type { RedisConnection } from "../broker/connection/connection.js";
import type { QueueSizes } from "../broker/ports.js";
import { AsynqError, QueueNotFoundError, ValidationError } from "../errors.js";
import { Inspector } from "../inspector/inspector.js";
import type { ServerConfig } from "../server/config.js";
import type { Handler, ServeMux } from "../server/mux.js";
import { Server } from "../server/server.js";

/** Options of {@link drainQueue}. */
export interface DrainOptions {
  /** Tasks run at once. @defaultValue 1 (tasks run one by one, in queue order) */
  concurrency?: number;
  /**
   * Also run scheduled tasks and retries now (moved to pending, over and over, until none is
   * left), as Oban's `with_scheduled`. A handler that always fails then runs `maxRetry + 1` times
   * before its task is archived. @defaultValue false: they stay where they are (see `left`)
   */
  scheduled?: boolean;
  /** Give up (reject) when the queue is not empty after this many ms. @defaultValue 10,000 */
  timeout?: number;
  /**
   * Any other Server option (a logger, `retryDelay`, `isFailure`, `errorHandler`, …).
   * @defaultValue `{ logLevel: "error" }`: failed attempts (warn) are not printed
   */
  server?: Omit<ServerConfig, "queues" | "concurrency">;
}

/** What a drain did: counts of the server's task events, and what is left in the queue. */
export interface DrainSummary {
  /** Handlers that succeeded. */
  completed: number;
  /** Failed attempts (each is followed by a retry, an archive or an expiry, or was revoked). */
  failed: number;
  /** Failed attempts scheduled for a retry. */
  retried: number;
  archived: number;
  expired: number;
  /** The queue's sizes at the end (retry, scheduled, archived, completed, aggregating); null when the queue was never created. */
  left: QueueSizes | null;
}

/** How often the queue's sizes are read while it drains. */
const CHECK_INTERVAL_MS = 5;

/**
 * Starts a {@link Server} on `queue` alone with `handler`, waits until the queue has no pending
 * and no active task (nor, with `scheduled`, any scheduled or retry task), then shuts the server
 * down. Tasks the handlers enqueue into the same queue are drained too. Aggregating (group) tasks
 * are not: they wait for their group's aggregation.
 *
 * @param redis a URL, ioredis options or an ioredis connection (left open), as for `Server`.
 * @returns what happened, and what is left.
 * @throws ValidationError for a blank queue or an invalid option.
 * @throws AsynqError (`ERR_DRAIN_TIMEOUT`) when the queue is not empty within `timeout`; the
 *   server is shut down all the same.
 * @throws ConnectionError when Redis cannot be reached.
 * @example
 * ```ts
 * await client.enqueue(welcome, { userId: 42 });
 * const summary = await drainQueue("redis://127.0.0.1:6379/9", "default", mux);
 * expect(summary.completed).toBe(1);
 * ```
 */
export async function drainQueue(
  redis: RedisConnection,
  queue: string,
  handler: Handler | ServeMux,
  options: DrainOptions = {},
): Promise<DrainSummary> {
  if (typeof queue !== "string" || queue.trim() === "") {
    throw new ValidationError("queue", queue, "the queue name must be a non-blank string", {
      op: "drainQueue",
    });
  }
  const timeout = options.timeout ?? 10_000;
  if (typeof timeout !== "number" || !(timeout > 0)) {
    throw new ValidationError("options.timeout", timeout, "expected a number of ms > 0", {
      op: "drainQueue",
    });
  }
  const server = new Server(redis, {
    logLevel: "error",
    ...options.server,
    concurrency: options.concurrency ?? 1,
    queues: { [queue]: 1 },
  });
  const summary: DrainSummary = { completed: 0, failed: 0, retried: 0, archived: 0, expired: 0, left: null };
  server
    .on("completed", () => void summary.completed++)
    .on("failed", () => void summary.failed++)
    .on("retry", () => void summary.retried++)
    .on("archived", () => void summary.archived++)
    .on("expired", () => void summary.expired++);
  const inspector = new Inspector(redis);
  try {
    await server.start(handler);
    const giveUpAt = Date.now() + timeout;
    for (;;) {
      const sizes = await queueSizes(inspector, queue);
      summary.left = sizes;
      const waiting = sizes === null ? 0 : sizes.pending + sizes.active + server.running;
      const later = sizes === null || options.scheduled !== true ? 0 : sizes.scheduled + sizes.retry;
      if (waiting === 0 && later === 0) return summary;
      if (Date.now() >= giveUpAt) {
        throw new AsynqError(
          "ERR_DRAIN_TIMEOUT",
          `queue "${queue}" was not drained within ${timeout} ms: ${JSON.stringify(sizes)}`,
          { op: "drainQueue" },
        );
      }
      if (later > 0 && waiting === 0) {
        await inspector.runAllTasks(queue, "scheduled");
        await inspector.runAllTasks(queue, "retry");
      } else {
        await new Promise((resolve) => setTimeout(resolve, CHECK_INTERVAL_MS));
      }
    }
  } finally {
    await server.shutdown();
    await inspector.close();
  }
}

/** The queue's sizes; null when it is not registered (nothing was ever enqueued into it). */
async function queueSizes(inspector: Inspector, queue: string): Promise<QueueSizes | null> {
  try {
    return await inspector.queueSizes(queue);
  } catch (error) {
    if (error instanceof QueueNotFoundError) return null;
    throw error;
  }
}
