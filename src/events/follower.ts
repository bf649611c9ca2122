// Follows one queue's event stream: keeps the listeners' marker alive (so the scripts write events),
// takes the stream's position, then reads on and hands every entry over in order.
import { toError } from "../internal/errors.js";
import type { EventStreamPort, StreamEntry } from "../broker/ports.js";

/** How a follower paces itself (ms). */
export interface FollowerTiming {
  /** The marker's TTL: with no refresh (a stalled or dead process), the scripts stop writing after it. */
  markerTtl: number;
  /** How often the marker is refreshed. */
  refreshEvery: number;
  /** How long one read blocks. */
  block: number;
  /** The most entries one read takes. */
  count: number;
  /** The pause after a failed read or refresh. */
  retryAfter: number;
}

export const DEFAULT_TIMING: FollowerTiming = {
  markerTtl: 30_000,
  refreshEvery: 10_000,
  block: 5_000,
  count: 500,
  retryAfter: 1_000,
};

/** Reads a stream from the moment it is ready; `close()` stops it. */
export class StreamFollower {
  /** Resolves once the marker is set and the position taken: every event after it is delivered. */
  readonly ready: Promise<void>;
  private closed = false;
  private refresher: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly stream: EventStreamPort,
    private readonly onEntries: (entries: StreamEntry[]) => void,
    private readonly onError: (error: Error) => void,
    private readonly timing: FollowerTiming = DEFAULT_TIMING,
  ) {
    const position = this.start();
    this.ready = position.then(() => undefined);
    // The loop reports its own errors; a failed start is the caller's, through `ready`.
    position.then(
      (after) => void this.loop(after),
      () => {},
    );
  }

  /** Sets the marker, then takes the position: an event after the position is in the stream. */
  private async start(): Promise<string> {
    await this.stream.listen(this.timing.markerTtl);
    const after = await this.stream.lastId();
    if (!this.closed) {
      this.refresher = setInterval(() => {
        this.stream.listen(this.timing.markerTtl).catch((error: unknown) => this.fail(error));
      }, this.timing.refreshEvery);
      this.refresher.unref();
    }
    return after;
  }

  private async loop(from: string): Promise<void> {
    let after = from;
    while (!this.closed) {
      let entries: StreamEntry[];
      try {
        entries = await this.stream.read(after, this.timing.block, this.timing.count);
      } catch (error) {
        if (this.closed) return;
        this.fail(error);
        await this.pause(this.timing.retryAfter);
        continue;
      }
      if (this.closed) return;
      if (entries.length === 0) continue;
      after = entries[entries.length - 1]!.streamId;
      this.onEntries(entries);
    }
  }

  private fail(error: unknown): void {
    if (!this.closed) this.onError(toError(error));
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Sets the marker again now, for a wait that must not miss an event even if the marker was lost
   * since the last refresh (deleted, or expired during a stall).
   */
  async renew(): Promise<void> {
    await this.ready;
    await this.stream.listen(this.timing.markerTtl);
  }

  /** Stops reading and refreshing; the marker ends by its TTL (other listeners may share it). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.refresher);
    this.wake?.();
    this.stream.close();
  }
}
