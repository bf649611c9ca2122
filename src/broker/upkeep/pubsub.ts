// The cancelation channel (wire-format §4.26): PUBLISH asynq:cancel <id>; servers SUBSCRIBE to it.
import type { Redis } from "ioredis";
import { toError } from "../../internal/errors.js";
import { CANCEL_CHANNEL } from "../../wire/keys.js";
import { duplicateConnection } from "../connection/cluster.js";
import { endNow } from "../connection/connection.js";
import { Watchdog } from "../connection/watchdog.js";

/** Asks every server to abort the task with this ID if it is running it. Returns how many servers heard it. */
export async function publishCancel(redis: Redis, id: string): Promise<number> {
  return redis.publish(CANCEL_CHANNEL, id);
}

/** A live subscription to the cancelation channel. */
export interface CancelSubscription {
  /** Unsubscribes and closes the subscription's connection. */
  close(): void;
}

/**
 * Subscribes to the cancelation channel on a dedicated connection. ioredis reconnects and
 * re-subscribes by itself after a connection loss; `onState` hears of it for logging.
 *
 * A subscribed connection is silent between messages, so a half-open one would go unnoticed: it
 * sends a PING every `stallMs / 2`, and a watchdog replaces it when Redis has sent nothing for
 * `stallMs` while a PING waits (so within about 1.5 × `stallMs` + 1 s).
 */
export function subscribeCancel(
  base: Redis,
  onCancel: (id: string) => void,
  onState: (event: "subscribed" | "error", error?: Error) => void,
  stallMs = 5000,
): CancelSubscription {
  // On a Cluster, a Cluster of its own: ioredis subscribes on one node, and a PUBLISH on any node
  // reaches every node's subscribers (and it subscribes elsewhere when that node fails).
  const redis = duplicateConnection(base, {
    maxRetriesPerRequest: null,
    enableAutoPipelining: false,
    connectionName: "asynq-ts:subscriber",
  });
  redis.on("message", (channel: string, message: string) => {
    if (channel === CANCEL_CHANNEL) onCancel(message);
  });
  let closed = false;
  redis.on("error", (error: Error) => closed || onState("error", error));
  redis.on("close", () => closed || onState("error", new Error("connection closed")));
  redis.on("ready", () => closed || onState("subscribed"));
  redis.subscribe(CANCEL_CHANNEL).catch((error: unknown) => {
    if (!closed) onState("error", toError(error));
  });
  const watchdog = new Watchdog(redis, { stallMs, destroy: true });
  watchdog.start();
  const pinger = setInterval(() => {
    if (redis.status === "ready") redis.ping().catch(() => {}); // a failure is the watchdog's to see
  }, stallMs / 2);
  pinger.unref();
  return {
    close: () => {
      closed = true;
      clearInterval(pinger);
      watchdog.stop();
      endNow(redis);
    },
  };
}
