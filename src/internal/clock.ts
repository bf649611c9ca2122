// Time as a dependency: components read the time from a Clock so tests can move it.

/** A source of time. */
export interface Clock {
  /** Milliseconds since the Unix epoch; may carry a fraction (sub-millisecond precision). */
  now(): number;
}

/** The wall clock (`Date.now()`: it follows NTP adjustments, as Go's time.Now does for unix times). */
export const systemClock: Clock = {
  now: () => Date.now(),
};

/** A clock that only moves when told to; for tests. */
export class ManualClock implements Clock {
  constructor(private current: number = Date.UTC(2030, 0, 1)) {}
  now(): number {
    return this.current;
  }
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.current += ms;
  }
  /** Sets the clock to an instant (ms since the epoch or a Date). */
  set(at: number | Date): void {
    this.current = typeof at === "number" ? at : at.getTime();
  }
}

/** Whole unix seconds (truncated, as Go's `time.Unix()`). */
export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** Unix nanoseconds as a decimal string, from milliseconds that may carry a fraction (`pending_since`). */
export function unixNanos(ms: number): string {
  const whole = Math.floor(ms);
  return (BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6))).toString();
}
