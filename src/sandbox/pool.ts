// The threads of one sandboxed handler: started on demand, kept idle between attempts (unref'd, so an
// idle pool never keeps the process alive), replaced when one ends. It bounds the threads that run
// handler code (busy, or still finishing an aborted attempt) so that an aborted attempt's thread never
// runs beside the attempt that took its slot.
import { SandboxError } from "../errors.js";
import { SandboxThread, type ThreadSpec } from "./thread.js";

/** A call waiting for a thread. */
interface Waiter {
  readonly resolve: (thread: SandboxThread) => void;
  readonly reject: (error: Error) => void;
}

/**
 * A pool of sandbox threads.
 *
 * The bound: a call gets a thread only while fewer threads run than `limit`: `poolSize` when given,
 * else the number of calls in progress (not aborted, not settled; the new one included). A server
 * runs at most `concurrency` calls at once, so by default at most `concurrency` threads run handler
 * code: an aborted attempt frees its server slot at once, but its thread counts until it has ended
 * (terminated after the grace) or its handler has returned; the next call waits for that.
 */
export class ThreadPool {
  readonly #idle: SandboxThread[] = [];
  /** Threads not idle: starting for a call, running an attempt, or finishing an aborted one. */
  readonly #busy = new Set<SandboxThread>();
  /** Replacements of lost threads, loading the module for the next call (see #forget). */
  readonly #spares = new Set<SandboxThread>();
  readonly #waiters: Waiter[] = [];
  /** Calls in progress, not aborted: the default limit. */
  #demand = 0;
  #closed = false;

  constructor(
    private readonly spec: ThreadSpec,
    private readonly poolSize: number | undefined,
  ) {}

  /** Threads alive now (idle or not). */
  get size(): number {
    return this.#idle.length + this.#busy.size + this.#spares.size;
  }

  /** Counts a call in progress; pair with {@link ThreadPool.leave} once it is aborted or settled. */
  enter(): void {
    this.#demand++;
  }

  /** The call is aborted or settled: it no longer counts towards the default limit. */
  leave(): void {
    this.#demand--;
  }

  /**
   * A thread with the module loaded, for one attempt; waits while the limit is reached.
   * @throws SandboxLoadError when a new thread cannot load the module; SandboxError once closed;
   *   `signal.reason` when the signal aborts first.
   */
  async acquire(signal: AbortSignal): Promise<SandboxThread> {
    if (this.#closed) throw closedError();
    const thread = this.#canRun() ? this.#take() : await this.#wait(signal);
    const ready = thread.ready();
    try {
      await untilAborted(ready, signal);
    } catch (error) {
      if (signal.aborted && error === signal.reason) {
        // Aborted while a new thread loads the module: the thread goes on loading, for the next call.
        ready.then(
          () => this.release(thread),
          (failed: unknown) => void this.discard(thread, failed as Error),
        );
      } else {
        await this.discard(thread, error instanceof Error ? error : closedError());
      }
      throw error;
    }
    return thread;
  }

  /** An idle thread, else a spare, else a new one, marked busy. */
  #take(): SandboxThread {
    let thread = this.#takeIdle() ?? this.#takeSpare();
    if (thread === undefined) {
      thread = new SandboxThread(this.spec);
      this.#watch(thread);
    }
    this.#busy.add(thread);
    thread.hold(true);
    return thread;
  }

  /** Gives back a thread whose attempt is over; it waits idle for the next one. */
  release(thread: SandboxThread): void {
    if (!this.#busy.delete(thread)) return;
    if (this.#closed || !thread.alive) {
      void thread.terminate(closedError());
    } else {
      thread.hold(false);
      this.#idle.push(thread);
    }
    this.#wake();
  }

  /**
   * An aborted attempt's thread is likely to be terminated: start loading its replacement now (one
   * spare at most, and none when a thread is idle), so that the next call does not wait for a
   * module load on top of the grace. A spare runs no handler code until a call takes it.
   */
  prepareSpare(): void {
    if (!this.#closed && this.#idle.length === 0 && this.#spares.size === 0) this.#startSpare();
  }

  /** Ends a thread (its attempt fails with `why`); resolves once it has exited. */
  async discard(thread: SandboxThread, why: Error): Promise<void> {
    await thread.terminate(why);
    this.#forget(thread);
  }

  /**
   * Loads the module in one thread now (an idle one if there is one), so that a module that cannot
   * load fails here rather than in the first task.
   */
  async warm(): Promise<void> {
    if (this.#closed) throw closedError();
    if (this.#idle.length > 0) return;
    const thread = new SandboxThread(this.spec);
    this.#busy.add(thread);
    this.#watch(thread);
    try {
      await thread.ready();
    } catch (error) {
      await this.discard(thread, error instanceof Error ? error : closedError());
      throw error;
    }
    this.release(thread);
  }

  /** Terminates every thread (running attempts fail with SandboxError "closed"); later calls fail too. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(closedError());
    const all = [...this.#idle, ...this.#busy, ...this.#spares];
    this.#spares.clear();
    this.#idle.length = 0;
    await Promise.all(all.map((thread) => this.discard(thread, closedError())));
  }

  #canRun(): boolean {
    const limit = this.poolSize ?? this.#demand;
    return this.#busy.size < limit && this.#waiters.length === 0;
  }

  #wait(signal: AbortSignal): Promise<SandboxThread> {
    return new Promise<SandboxThread>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.#waiters.indexOf(waiter);
        if (at >= 0) this.#waiters.splice(at, 1);
        reject(signal.reason as Error);
        this.#wake();
      };
      const waiter: Waiter = {
        resolve: (thread) => {
          signal.removeEventListener("abort", onAbort);
          resolve(thread);
        },
        reject: (error) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      this.#waiters.push(waiter);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Hands threads to waiting calls, in order, while the limit allows. */
  #wake(): void {
    while (this.#waiters.length > 0 && !this.#closed && this.#busy.size < (this.poolSize ?? this.#demand)) {
      this.#waiters.shift()!.resolve(this.#take());
    }
  }

  /** Drops a thread that ended by itself (idle or not) and lets a waiting call through. */
  #watch(thread: SandboxThread): void {
    void thread.exited.then(() => this.#forget(thread));
  }

  #forget(thread: SandboxThread): void {
    this.#spares.delete(thread);
    const at = this.#idle.indexOf(thread);
    if (at >= 0) this.#idle.splice(at, 1);
    const wasBusy = this.#busy.delete(thread);
    // A thread lost to an abort or a crash is replaced at once, so that the next call does not wait
    // for a module load on top of the grace (never for a thread that could not load the module).
    if (wasBusy && thread.loaded && !this.#closed && this.#idle.length === 0 && this.#spares.size === 0) {
      this.#startSpare();
    }
    if (wasBusy || at >= 0) this.#wake();
  }

  #startSpare(): void {
    const spare = new SandboxThread(this.spec);
    this.#spares.add(spare);
    spare.hold(false);
    this.#watch(spare);
    spare.ready().then(
      () => {
        if (!this.#spares.delete(spare)) return; // taken by a call meanwhile, or closed
        this.#idle.unshift(spare); // calls take from the end: threads that ran (warm code) first
        this.#wake();
      },
      () => void spare.terminate(closedError()),
    );
  }

  /** The idle thread that ran last, skipping any that is ending (an idle thread's timer threw). */
  #takeIdle(): SandboxThread | undefined {
    for (let thread = this.#idle.pop(); thread !== undefined; thread = this.#idle.pop()) {
      if (thread.alive) return thread;
    }
    return undefined;
  }

  /** A spare still loading, for a call that finds no idle thread (it waits for the load). */
  #takeSpare(): SandboxThread | undefined {
    for (const spare of this.#spares) {
      this.#spares.delete(spare);
      return spare;
    }
    return undefined;
  }
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: Error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

function closedError(): SandboxError {
  return new SandboxError("closed", "the sandbox is closed");
}
