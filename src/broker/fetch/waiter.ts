// Wakes an idle server within milliseconds of a new pending task, whoever pushed it (a Go client
// too), without polling: one blocking `BLMOVE pending pending LEFT LEFT` per queue. Moving the head
// of a list onto its own head leaves the list unchanged, so the command only waits for the list to
// be non-empty (Redis >= 6.2, Valkey).
import type { Redis } from "ioredis";
import { toError } from "../../internal/errors.js";
import { pendingKey } from "../../wire/keys.js";
import { duplicateConnection } from "../connection/cluster.js";
import { endNow } from "../connection/connection.js";
import { replaceWaiting } from "../connection/watchdog.js";

/** Blocking connections, one per waited queue, created on first use. */
export class PendingWaiter {
  private readonly connections = new Map<string, Redis>();
  /** The BLMOVE in flight per queue: a new wait joins it instead of queueing another behind it. */
  private readonly inflight = new Map<string, Promise<void>>();
  private closed = false;

  /**
   * @param stallMs how long past its own timeout a BLMOVE may go unanswered before its connection is
   *   taken for half-open and replaced (the `commandTimeout` option).
   */
  constructor(
    private readonly base: Redis,
    private readonly stallMs = 5000,
  ) {}

  /**
   * Resolves when one of the queues' pending lists is non-empty, or after about `timeoutMs`.
   * @throws the Redis error of a failed wait (e.g. a server without BLMOVE).
   */
  wait(queues: readonly string[], timeoutMs: number): Promise<void> {
    if (this.closed || queues.length === 0) return Promise.resolve();
    return Promise.race(queues.map((q) => this.waitOne(q, timeoutMs)));
  }

  private waitOne(queue: string, timeoutMs: number): Promise<void> {
    const existing = this.inflight.get(queue);
    if (existing !== undefined) return existing;
    const key = pendingKey(queue);
    const seconds = Math.max(0.01, timeoutMs / 1000).toFixed(3);
    const redis = this.connection(queue);
    const wait = new Promise<void>((resolve, reject) => {
      // Redis answers a BLMOVE by its timeout at the latest: silence `stallMs` past it means a silent
      // (half-open) connection. Replace it, and end this wait (the caller falls back to its timer).
      const timer = setTimeout(() => {
        replaceSilent(redis, timeoutMs + this.stallMs);
        resolve();
      }, timeoutMs + this.stallMs);
      timer.unref();
      redis.blmove(key, key, "LEFT", "LEFT", seconds).then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(toError(error));
        },
      );
    }).finally(() => this.inflight.delete(queue));
    this.inflight.set(queue, wait);
    return wait;
  }

  private connection(queue: string): Redis {
    let redis = this.connections.get(queue);
    if (redis === undefined) {
      // Blocking commands need their own connection; it waits out outages like the server's. On a
      // Cluster, a Cluster of its own: BLMOVE goes to the master of the queue's slot.
      redis = duplicateConnection(this.base, {
        maxRetriesPerRequest: null,
        enableAutoPipelining: false,
        connectionName: "asynq-ts:waiter",
      });
      redis.on("error", () => {}); // reconnects by itself; waits fail and the caller falls back to its timer
      this.connections.set(queue, redis);
    }
    return redis;
  }

  /** Drops the blocking connections (their pending waits reject). */
  close(): void {
    this.closed = true;
    for (const redis of this.connections.values()) endNow(redis);
    this.connections.clear();
    this.inflight.clear();
  }
}

/** Destroys the silent socket (of a Cluster: the node's) of a wait; ioredis then reconnects. */
function replaceSilent(redis: Redis, silentMs: number): void {
  replaceWaiting(redis, new Error(`no reply to BLMOVE for ${silentMs} ms: connection replaced (half-open?)`));
}
