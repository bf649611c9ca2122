// Batches the success writes of finished tasks: the processor hands them to its next dequeue of the
// same queue (one script call writes them and claims the next tasks); whatever no dequeue took by
// the next turn of the event loop is written on its own, many tasks per call.
import type { ActiveOutcome, FinishedTask, ProcessorPort } from "../broker/ports.js";

/** The most finished tasks one call writes. */
const MAX_BATCH = 500;

/** A success waiting to be written, with the promise of its write. */
export interface PendingFinish {
  task: FinishedTask;
  resolve: (result: ActiveOutcome) => void;
  reject: (error: unknown) => void;
}

/** Collects finished tasks per queue until a dequeue takes them or the fallback flush writes them. */
export class Finisher {
  private readonly waiting = new Map<string, PendingFinish[]>();
  private flushScheduled = false;

  constructor(
    private readonly broker: ProcessorPort,
    private readonly now: () => number,
  ) {}

  /**
   * Queues the success write of a task (retention 0): it is deleted and counted by the next dequeue
   * of its queue, or by a flush one turn of the event loop later.
   * @returns what the write did; rejects with the Redis error of a failed write (nothing is retried here).
   */
  finish(queue: string, task: FinishedTask): Promise<ActiveOutcome> {
    return new Promise((resolve, reject) => {
      let list = this.waiting.get(queue);
      if (list === undefined) this.waiting.set(queue, (list = []));
      list.push({ task, resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Takes up to 500 waiting writes of the queue, for a dequeue to carry; settle them with {@link settle}. */
  take(queue: string): PendingFinish[] {
    const list = this.waiting.get(queue);
    if (list === undefined || list.length === 0) return [];
    if (list.length <= MAX_BATCH) {
      this.waiting.delete(queue);
      return list;
    }
    return list.splice(0, MAX_BATCH);
  }

  /** Writes everything waiting now (also used at shutdown). */
  async flush(): Promise<void> {
    const calls: Array<Promise<void>> = [];
    for (const queue of [...this.waiting.keys()]) {
      for (let batch = this.take(queue); batch.length > 0; batch = this.take(queue)) {
        calls.push(this.write(queue, batch));
      }
    }
    await Promise.all(calls);
  }

  private async write(queue: string, batch: PendingFinish[]): Promise<void> {
    try {
      const result = await this.broker.dequeue({
        queue,
        max: 0,
        leaseExpiresAtMs: 0,
        finished: batch.map((p) => p.task),
        nowMs: this.now(),
      });
      settle(batch, result.finished);
    } catch (error) {
      fail(batch, error);
    }
  }

  /**
   * Two turns of `setImmediate`: a dequeue woken by the same completions runs in the first turn and
   * takes them; only what it left is written by the flush.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.secondTurn);
  }

  // Made once: a busy worker schedules a flush for nearly every batch.
  private readonly secondTurn = (): void => void setImmediate(this.flushTurn);
  private readonly flushTurn = (): void => {
    this.flushScheduled = false;
    void this.flush();
  };
}

/** Settles taken writes with the per-task results of the dequeue that carried them. */
export function settle(batch: readonly PendingFinish[], results: readonly ActiveOutcome[]): void {
  batch.forEach((p, i) => {
    const result = results[i];
    if (result === undefined) p.reject(new Error(`no result for finished task "${p.task.id}"`));
    else p.resolve(result);
  });
}

/** Rejects taken writes with the error of the dequeue that carried them (their writers try again). */
export function fail(batch: readonly PendingFinish[], error: unknown): void {
  for (const p of batch) p.reject(error);
}
