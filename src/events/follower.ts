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
  /** The ID of the last entry handed over (or the start position). */
  private delivered: string | undefined;
  /** Calls of {@link caughtUp} waiting for the reads to reach their ID. */
  private catchUps: Array<{ id: string; resolve: () => void }> = [];

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
    this.delivered = from;
    this.settleCatchUps();
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
      this.delivered = after;
      this.settleCatchUps();
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
   * Resolves once every entry now in the stream has been handed over: for a wait that found its
   * task gone, and must first hear any outcome written before it looked.
   */
  async caughtUp(): Promise<void> {
    await this.ready;
    const id = await this.stream.lastId();
    await new Promise<void>((resolve) => {
      this.catchUps.push({ id, resolve });
      this.settleCatchUps();
    });
  }

  private settleCatchUps(): void {
    const { delivered } = this;
    if (delivered === undefined || this.catchUps.length === 0) return;
    this.catchUps = this.catchUps.filter(({ id, resolve }) => {
      if (compareStreamIds(delivered, id) < 0) return true;
      resolve();
      return false;
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
    for (const { resolve } of this.catchUps) resolve();
    this.catchUps = [];
    this.stream.close();
  }
}

/** Orders two stream IDs (`<ms>-<seq>`). */
function compareStreamIds(a: string, b: string): number {
  const [am = "0", as = "0"] = a.split("-");
  const [bm = "0", bs = "0"] = b.split("-");
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}
