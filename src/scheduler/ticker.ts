// The ticker: keeps each started entry's next tick and fires the due ones, as robfig/cron's runner
// does (wire-format §6.1): a tick late by more than a whole interval (a paused process, a slow host)
// fires once, and the next tick is computed from now. Missed ticks at start follow `missedTicks`.
import type { Clock } from "../internal/clock.js";
import { dispatchTick, type DispatchParams } from "./dispatch.js";
import type { Entry } from "./entry.js";

/** The longest timer: the clock is read again at least this often (a wall-clock jump is noticed). */
const MAX_SLEEP_MS = 60_000;

/** Fires the ticks of its entries from `start()` until `stop()`. */
export class Ticker {
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Enqueues in progress (a slow enqueue does not hold back other entries' ticks). */
  private readonly firing = new Set<Promise<unknown>>();
  private readonly clock: Clock;

  constructor(private readonly params: DispatchParams) {
    this.clock = params.options.clock;
  }

  /** The entries, in registration order. */
  list(): Entry[] {
    return [...this.entries.values()];
  }

  /** Adds an entry; on a running ticker it starts at once (its first tick after now). */
  add(entry: Entry): void {
    this.entries.set(entry.id, entry);
    if (!this.running) return;
    this.activate(entry, this.clock.now());
    this.schedule();
  }

  /** Removes an entry; false when there is none with this ID. */
  remove(id: string): boolean {
    return this.entries.delete(id);
  }

  /** Starts every entry: the next tick of each, and the run-once of missed ticks when configured. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const now = this.clock.now();
    for (const entry of this.entries.values()) this.activate(entry, now);
    this.schedule();
  }

  /** Stops firing, and waits for the enqueues in progress. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all(this.firing);
  }

  /**
   * Fires every entry whose tick is due at the clock's time, and resolves once their enqueues are
   * done. The timer calls it; tests on a manual clock call it after moving the clock.
   */
  runDue(): Promise<void> {
    const now = this.clock.now();
    const fired: Array<Promise<unknown>> = [];
    for (const entry of this.entries.values()) {
      const tick = entry.next;
      if (tick === null || tick > now) continue;
      entry.prev = tick;
      entry.next = entry.schedule.next(now);
      fired.push(this.track(dispatchTick(this.params, entry, tick)));
    }
    return Promise.all(fired).then(() => undefined);
  }

  private activate(entry: Entry, now: number): void {
    entry.next = entry.schedule.next(now);
    const within = this.params.options.runOnceWithin;
    if (within === null) return;
    if (entry.schedule.everyMs !== undefined) {
      // No wall-clock ticks to compare: the marker tells whether the entry is overdue (ticks count
      // from now, as robfig's do from the start).
      const tick = Math.floor(now / 1000) * 1000;
      void this.track(this.catchUp(entry, tick, true));
      return;
    }
    const last = entry.schedule.previous(now);
    if (last !== null && now - last < within) void this.track(this.catchUp(entry, last, false));
  }

  private async catchUp(entry: Entry, tick: number, overdueOnly: boolean): Promise<void> {
    const status = await dispatchTick(this.params, entry, tick, overdueOnly);
    if (status === "enqueued" && (entry.prev === null || entry.prev < tick)) entry.prev = tick;
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.firing.add(work);
    const done = (): void => void this.firing.delete(work);
    work.then(done, done);
    return work;
  }

  private schedule(): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    let first: number | null = null;
    for (const entry of this.entries.values()) {
      if (entry.next !== null && (first === null || entry.next < first)) first = entry.next;
    }
    if (first === null) {
      this.timer = undefined;
      return;
    }
    const delay = Math.min(MAX_SLEEP_MS, Math.max(0, first - this.clock.now()));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runDue();
      this.schedule();
    }, delay);
  }
}
