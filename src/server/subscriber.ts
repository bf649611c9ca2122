// The subscriber: listens on the cancelation channel and aborts the matching running task's signal
// (reason "canceled"); the attempt then fails with "context canceled" and is retried (wire-format §4.26).
import type { SubscriberPort } from "../broker/ports.js";
import type { CancelSubscription } from "../broker/upkeep/pubsub.js";
import { errorMessage } from "../internal/errors.js";
import { componentLogger, type Logger } from "../internal/logger.js";

/** Subscriber parameters. */
export interface SubscriberParams {
  broker: SubscriberPort;
  logger: Logger;
  /** Aborts a running task; returns false when this server is not running it. */
  cancel: (id: string) => boolean;
}

/** Hears cancelations; ioredis re-subscribes by itself after a reconnect. */
export class Subscriber {
  private subscription: CancelSubscription | undefined;
  private failing = false;

  constructor(private readonly params: SubscriberParams) {}

  start(): void {
    if (this.subscription !== undefined) return;
    const logger = componentLogger(this.params.logger, "subscriber");
    this.subscription = this.params.broker.subscribeCancel(
      (id) => {
        // The attempt's own failure line follows, with the task's type, queue and outcome.
        if (this.params.cancel(id)) logger.info(`task "${id}" canceled`, { taskId: id, aborted: "canceled" });
      },
      (event, error) => {
        if (event === "error" && !this.failing) {
          this.failing = true;
          logger.warn(`cancelation channel lost, reconnecting: ${errorMessage(error)}`, {
            operation: "subscribe",
            error: errorMessage(error),
          });
        } else if (event === "subscribed" && this.failing) {
          this.failing = false;
          logger.info("cancelation channel back", { operation: "subscribe" });
        }
      },
    );
  }

  /**
   * Waits until Redis has acknowledged the subscription (so that a cancelation published from then on
   * is heard), at most `timeoutMs`: a subscription that takes longer goes on by itself.
   * @returns whether it was acknowledged in time.
   */
  async ready(timeoutMs: number): Promise<boolean> {
    if (this.subscription === undefined) return false;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([this.subscription.subscribed, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  shutdown(): Promise<void> {
    this.subscription?.close();
    this.subscription = undefined;
    return Promise.resolve();
  }
}
