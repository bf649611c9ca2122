// The health checker: pings Redis on an interval and tells the user's callback (null when healthy).
// A failed PING also asks the broker to replace the connection: a connection that looks alive but
// does not answer (half-open) is not worth waiting on until the watchdog's own bound.
import { errorMessage, toError } from "../internal/errors.js";
import type { Logger } from "../internal/logger.js";

/** Health checker parameters, resolved by the server config (src/server/config.ts). */
export interface HealthCheckerParams {
  ping: () => Promise<void>;
  logger: Logger;
  /** Called after each check with the error, or null when Redis answered. */
  callback: (error: Error | null) => void;
  /**
   * Called before `callback` when a check failed: the server replaces the connection (if it owns it;
   * at most once per `commandTimeout`). @defaultValue none
   */
  onFailure?: (error: Error) => void;
  /** Time between checks (`healthCheckInterval`). */
  interval: number;
}

/** Runs `callback` after a PING every `interval` ms. */
export class HealthChecker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly params: HealthCheckerParams) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.running ??= this.check().finally(() => (this.running = undefined));
    }, this.params.interval);
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async check(): Promise<void> {
    let error: Error | null = null;
    try {
      await this.params.ping();
    } catch (thrown) {
      error = toError(thrown);
      this.params.onFailure?.(error);
    }
    try {
      this.params.callback(error);
    } catch (thrown) {
      this.params.logger.error(`healthCheck callback threw: ${String(thrown)}`, {
        component: "healthchecker",
        error: errorMessage(thrown),
      });
    }
  }
}
