// The cancelation channel (wire-format §4.26): PUBLISH asynq:cancel <id>; servers SUBSCRIBE to it.
import type { Redis } from "ioredis";
import { CANCEL_CHANNEL } from "../wire/keys.js";

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
 */
export function subscribeCancel(
  base: Redis,
  onCancel: (id: string) => void,
  onState: (event: "subscribed" | "error", error?: Error) => void,
): CancelSubscription {
  const redis = base.duplicate({
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
    if (!closed) onState("error", error instanceof Error ? error : new Error(String(error)));
  });
  return {
    close: () => {
      closed = true;
      redis.disconnect();
    },
  };
}
