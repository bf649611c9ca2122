// Follows one queue's event stream: keeps the listeners' marker alive (so the scripts write events),
// takes the stream's position, then reads on and hands every entry over in order.
import { toError } from "../internal/errors.js";
import { compareStreamIds, STREAM_START } from "../broker/events/stream.js";
import type { EventStreamPort, StreamEntry, StreamInfo } from "../broker/ports.js";

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

/** Entries trimmed from a stream before a follower read them. */
export interface StreamLoss {
  /** The last entry read before them. */
  afterId: string;
  /** How many. */
  count: number;
  /** The first entry read after them. */
  nextId: string;
}

/** Reads a stream from the moment it is ready; `close()` stops it. */
export class StreamFollower {
  /** Resolves once the marker is set and the position taken: every event after it is delivered. */
  readonly ready: Promise<void>;
  private closed = false;
  private refresher: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  /** The ID of the last entry handed over (or the start position). */
  private delivered: string | undefined;
  /**
   * Entries the stream had had up to `delivered`: read or reported lost (undefined before Redis 7.0,
   * which does not count them).
   */
  private accounted: number | undefined;
  /** Calls of {@link caughtUp} waiting for the reads to reach their ID. */
  private catchUps: Array<{ id: string; resolve: () => void }> = [];

  /**
   * @param onLost hears, before the entries that follow, that entries were trimmed from the stream
   *   before they could be read (this follower fell about 10,000 events behind). Checked after each
   *   full read, which a follower that far behind always gets; Redis before 7.0 cannot tell (XINFO
   *   STREAM has no `entries-added`), and then nothing is heard.
   */
  constructor(
    private readonly stream: EventStreamPort,
    private readonly onEntries: (entries: StreamEntry[]) => void,
    private readonly onError: (error: Error) => void,
    private readonly timing: FollowerTiming = DEFAULT_TIMING,
    private readonly onLost: (loss: StreamLoss) => void = () => {},
  ) {
    const position = this.start();
    this.ready = position.then(() => undefined);
    // The loop reports its own errors; a failed start is the caller's, through `ready`.
    position.then(
      (after) => void this.loop(after),
      () => {},
    );
  }

  /**
   * Sets the marker, then takes the position: an event after the position is in the stream. With it,
   * how many entries the stream had had by then (Redis 7.0+), to count what trimming takes later.
   */
  private async start(): Promise<string> {
    await this.stream.listen(this.timing.markerTtl);
    const info = await this.stream.info();
    // No stream yet: the one to come counts from 0.
    this.accounted = info === undefined ? 0 : info.entriesAdded;
    if (!this.closed) {
      this.refresher = setInterval(() => {
        this.stream.listen(this.timing.markerTtl).catch((error: unknown) => this.fail(error));
      }, this.timing.refreshEvery);
      this.refresher.unref();
    }
    return info?.lastGeneratedId ?? STREAM_START;
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
      // Only a follower behind gets a full read, and only one that far behind can lose entries.
      if (entries.length >= this.timing.count) await this.checkLost(after, entries);
      if (this.closed) return;
      after = entries[entries.length - 1]!.streamId;
      if (this.accounted !== undefined) this.accounted += entries.length;
      this.onEntries(entries);
      this.delivered = after;
      this.settleCatchUps();
    }
  }

  /**
   * Reports the entries trimmed between `after` and the first of `entries` (just read after it)
   * before they could be read. Of the entries ever added past `after` (entries-added less those
   * accounted for), the gap is what is neither in `entries` nor still in the stream past them: all
   * of those are still there while the stream's oldest entry is not past the batch (trimming takes
   * the oldest first). A failed check is reported as an error, and skipped.
   */
  private async checkLost(after: string, entries: readonly StreamEntry[]): Promise<void> {
    let info: StreamInfo | undefined;
    try {
      info = await this.stream.info();
    } catch (error) {
      this.fail(error);
      return;
    }
    const accounted = this.accounted;
    const first = info?.firstId;
    const last = entries[entries.length - 1]!.streamId;
    if (info?.entriesAdded === undefined || accounted === undefined || first === undefined) return;
    // Nothing past `after` trimmed; or the batch itself trimmed since (then nothing can be said).
    if (compareStreamIds(first, after) <= 0 || compareStreamIds(first, last) > 0) return;
    const keptOfBatch = entries.filter((e) => compareStreamIds(e.streamId, first) >= 0).length;
    const afterBatch = info.length - keptOfBatch;
    const lost = info.entriesAdded - accounted - entries.length - afterBatch;
    // Negative: the stream expired and began again (its count restarted); nothing can be said.
    if (lost <= 0 || this.closed) return;
    this.accounted = accounted + lost;
    this.onLost({ afterId: after, count: lost, nextId: entries[0]!.streamId });
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
