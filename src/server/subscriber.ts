// The subscriber: listens on the cancelation channel and aborts the matching running task's signal
// (reason "canceled"); the attempt then fails with "context canceled" and is retried (wire-format §4.26).
import type { Logger } from "../internal/logger.js";

/** What the subscriber needs from the broker. */
export interface SubscriberBroker {
  subscribeCancel(
    onCancel: (id: string) => void,
    onState: (event: "subscribed" | "error", error?: Error) => void,
  ): { close(): void };
}

/** Subscriber parameters. */
export interface SubscriberParams {
  broker: SubscriberBroker;
  logger: Logger;
  /** Aborts a running task; returns false when this server is not running it. */
  cancel: (id: string) => boolean;
}

/** Hears cancelations; ioredis re-subscribes by itself after a reconnect. */
export class Subscriber {
  private subscription: { close(): void } | undefined;
  private failing = false;

  constructor(private readonly params: SubscriberParams) {}

  start(): void {
    if (this.subscription !== undefined) return;
    const { logger } = this.params;
    this.subscription = this.params.broker.subscribeCancel(
      (id) => {
        if (this.params.cancel(id)) logger.info(`task "${id}" canceled`);
      },
      (event, error) => {
        if (event === "error" && !this.failing) {
          this.failing = true;
          logger.warn(`cancelation channel lost, reconnecting: ${String(error)}`);
        } else if (event === "subscribed" && this.failing) {
          this.failing = false;
          logger.info("cancelation channel back");
        }
      },
    );
  }

  shutdown(): Promise<void> {
    this.subscription?.close();
    this.subscription = undefined;
    return Promise.resolve();
  }
}
