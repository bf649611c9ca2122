// The cancelation channel (wire-format §4.26): PUBLISH asynq:cancel <id>; servers SUBSCRIBE to it.
import type { Cluster, Redis } from "ioredis";
import { toError } from "../../internal/errors.js";
import { CANCEL_CHANNEL } from "../../wire/keys.js";
import { duplicateConnection, isCluster } from "../connection/cluster.js";
import { endNow } from "../connection/connection.js";
import { clusterSubscriber, Watchdog } from "../connection/watchdog.js";

/**
 * Asks every server to abort the task with this ID if it is running it. Returns how many servers heard
 * it: Redis's count; of a Cluster, which counts only the subscribers of the node that took the PUBLISH
 * (every node passes it on to its own), the subscribers of the channel on every node that answers.
 */
export async function publishCancel(redis: Redis, id: string): Promise<number> {
  const heard = await redis.publish(CANCEL_CHANNEL, id);
  if (!isCluster(redis)) return heard;
  // A node that does not answer (down, failing over) counts none: the PUBLISH itself went through.
  const counts = await Promise.allSettled(
    (redis as unknown as Cluster).nodes("all").map(async (node) => {
      const reply = (await node.call("PUBSUB", "NUMSUB", CANCEL_CHANNEL)) as [string, number];
      return Number(reply[1]);
    }),
  );
  return counts.reduce((sum, c) => sum + (c.status === "fulfilled" ? c.value : 0), 0);
}

/** A live subscription to the cancelation channel. */
export interface CancelSubscription {
  /**
   * Resolves true once Redis has acknowledged the first SUBSCRIBE (a cancelation published after it
   * is heard), false when that failed or the subscription was closed first. Never rejects.
   */
  readonly subscribed: Promise<boolean>;
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
  const subscribed = redis.subscribe(CANCEL_CHANNEL).then(
    () => !closed,
    (error: unknown) => {
      if (!closed) onState("error", toError(error));
      return false;
    },
  );
  const watchdog = new Watchdog(redis, { stallMs, destroy: true });
  watchdog.start();
  // A subscribed connection gets no replies of its own: a PING now and then gives the watchdog one to
  // wait for. Of a Cluster, the PING goes to its subscriber connection (a Cluster's own ping() would
  // go to some node).
  const pinger = setInterval(() => {
    const socket = isCluster(redis) ? clusterSubscriber(redis) : redis;
    if (socket?.status === "ready") socket.ping().catch(() => {}); // a failure is the watchdog's to see
  }, stallMs / 2);
  pinger.unref();
  return {
    subscribed,
    close: () => {
      closed = true;
      clearInterval(pinger);
      watchdog.stop();
      endNow(redis);
    },
  };
}
