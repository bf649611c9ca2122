// One timer for every running task's deadline, instead of a timer per task: the timer is armed for
// the earliest deadline, re-armed when it fires or an earlier deadline arrives, and stopped when no
// deadline is left.

/** A registered deadline; pass it to {@link DeadlineWatcher.remove}. */
export interface DeadlineEntry<T> {
  readonly at: number;
  readonly item: T;
}

/** Calls `onDue(item)` for each registered item when its deadline (ms since the epoch) is reached. */
export class DeadlineWatcher<T> {
  /** Sorted by `at`, earliest first. Small (at most `concurrency` entries), so insertion is cheap. */
  private readonly entries: Array<DeadlineEntry<T>> = [];
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;

  constructor(
    private readonly now: () => number,
    private readonly onDue: (item: T) => void,
  ) {}

  /** Registers `item` for `at` (no closure per item: the worker registers one per task). */
  add(at: number, item: T): DeadlineEntry<T> {
    const entry: DeadlineEntry<T> = { at, item };
    let i = this.entries.length;
    while (i > 0 && this.entries[i - 1]!.at > at) i--;
    this.entries.splice(i, 0, entry);
    if (at < this.armedFor) this.arm();
    return entry;
  }

  /**
   * Unregisters an entry (a no-op once it fired). The timer is not re-armed when the earliest entry
   * leaves: it fires early once, finds nothing due and re-arms then (tasks finish all the time;
   * re-arming for each cost a timer per task).
   */
  remove(entry: DeadlineEntry<T>): void {
    const k = this.entries.indexOf(entry);
    if (k >= 0) this.entries.splice(k, 1);
    if (this.entries.length === 0) this.arm();
  }

  /** Cancels the timer and forgets every entry. */
  clear(): void {
    this.entries.length = 0;
    this.arm();
  }

  private arm(): void {
    const next = this.entries[0]?.at ?? Infinity;
    if (next === this.armedFor) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = next;
    if (next === Infinity) return;
    // setTimeout caps at 2^31-1 ms (~24.8 days); longer deadlines re-arm when that fires.
    const delay = Math.min(Math.max(0, next - this.now()), 2 ** 31 - 1);
    this.timer = setTimeout(() => this.fireDue(), delay);
    this.timer.unref();
  }

  private fireDue(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = this.now();
    while (this.entries.length > 0 && this.entries[0]!.at <= now) {
      this.onDue(this.entries.shift()!.item);
    }
    this.arm();
  }
}
