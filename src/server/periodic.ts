// A job run on a timer by a server component: one run at a time, the next one scheduled when the
// previous ends, `runOnce` joining a run in progress, `runAgain` queuing one after it, and `stop`
// waiting for it.

/** Runs `run` again `delay()` ms after each run ends, from `start()` until `stop()`. */
export class Periodic<T> {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<T> | undefined;
  /** The run {@link runAgain} queued behind the one in progress, until it starts. */
  private again: Promise<T> | undefined;
  private running = false;

  /**
   * @param run the job; it must log its own failures and resolve (a rejection only stops nothing).
   * @param delay ms until the next run, asked after each run (and before the first).
   */
  constructor(
    private readonly run: () => Promise<T>,
    private readonly delay: () => number,
  ) {}

  /** Schedules the first run after `delay()`; a second call does nothing. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  /** Clears the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /** Runs now, or joins the run in progress. */
  runOnce(): Promise<T> {
    this.inFlight ??= this.run().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * Runs now, or once more after the run in progress: for a change that run may have started too
   * early to see. Calls made while that one waits share it.
   */
  runAgain(): Promise<T> {
    const current = this.inFlight;
    if (current === undefined) return this.runOnce();
    const settled = (): void => {};
    this.again ??= current.then(settled, settled).then(() => {
      this.again = undefined;
      return this.runOnce();
    });
    return this.again;
  }

  private schedule(): void {
    if (!this.running || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const next = (): void => this.schedule();
      // The job logs its failures; the rejection path only guards against a throwing logger.
      void this.runOnce().then(next, next);
    }, this.delay());
  }
}
