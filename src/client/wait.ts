// Waiting for tasks' outcomes (Client.waitForResult, enqueueAndWait): one stream follower per queue
// waited on, shared by every wait of the client, closed IDLE_MS after the last wait ends (so that
// waits one after another reuse its connection).
import { TaskFailedError, TaskNotFoundError, WaitTimeoutError } from "../errors.js";
import type { EventsPort, StreamEntry } from "../broker/ports.js";
import { decodeEntry } from "../events/entries.js";
import { StreamFollower } from "../events/follower.js";
import { toError } from "../internal/errors.js";

/** A task's successful outcome. */
export interface CompletedTask {
  id: string;
  queue: string;
  /**
   * The result its handler wrote or returned; undefined when it had none, or when it was larger than
   * 4 KiB and the task was not retained (its hash was deleted with it).
   */
  result: Uint8Array | undefined;
}

interface Waiter {
  resolve(result: CompletedTask): void;
  reject(error: Error): void;
}

interface QueueWaits {
  follower: StreamFollower;
  waiters: Map<string, Set<Waiter>>;
  /** Closes the follower once no wait is left. */
  idle: NodeJS.Timeout | undefined;
  /**
   * The deliveries of the entries read so far, one batch after the other: a batch may wait for a
   * large result's read, and the next must not overtake it (waits settle in the stream's order).
   */
  delivered: Promise<void>;
}

/** How long a queue's follower outlives its last wait. */
const IDLE_MS = 5_000;

/** The waits of one client. */
export class ResultWaits {
  private readonly queues = new Map<string, QueueWaits>();

  constructor(private readonly broker: EventsPort) {}

  /**
   * Listens to `queue` (resolves once every later outcome will be heard), for a wait that starts
   * before its task is written (enqueueAndWait).
   */
  async listen(queue: string): Promise<void> {
    await this.queueWaits(queue).follower.renew();
  }

  /**
   * Resolves with the task's result once it completes; rejects when it is archived, expired or
   * revoked, when `timeoutMs` passes, or (with `check`) when it does not exist.
   * @param check read the task's state first (a task that may have finished already).
   */
  async wait(
    queue: string,
    id: string,
    timeoutMs: number,
    check: boolean,
    op: string,
  ): Promise<CompletedTask> {
    const waits = this.queueWaits(queue);
    let waiter: Waiter | undefined;
    let timer: NodeJS.Timeout | undefined;
    const outcome = new Promise<CompletedTask>((resolve, reject) => {
      waiter = { resolve, reject };
      let set = waits.waiters.get(id);
      if (set === undefined) waits.waiters.set(id, (set = new Set()));
      set.add(waiter);
      clearTimeout(waits.idle);
      waits.idle = undefined;
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => reject(new WaitTimeoutError(queue, id, timeoutMs, { op })), timeoutMs);
      }
    });
    // Whichever settles the wait first wins: an event, the check, the timeout, a close, or a failure
    // to listen at all.
    (check ? waits.follower.renew() : waits.follower.ready)
      .then(() => (check ? this.checkNow(queue, id, waiter!, op) : undefined))
      .catch((error: unknown) => waiter!.reject(toError(error)));
    try {
      return await outcome;
    } finally {
      clearTimeout(timer);
      this.forget(queue, id, waiter!);
    }
  }

  /** Ends every wait: they reject with `error`. */
  close(error: Error): void {
    for (const waits of this.queues.values()) {
      clearTimeout(waits.idle);
      waits.follower.close();
      for (const set of waits.waiters.values()) for (const waiter of set) waiter.reject(error);
    }
    this.queues.clear();
  }

  /** Settles a wait on what Redis holds now, when the task has finished already (or does not exist). */
  private async checkNow(queue: string, id: string, waiter: Waiter, op: string): Promise<void> {
    const now = await this.broker.readTaskOutcome(queue, id);
    if (now.state === null) {
      // Gone: it may have finished after the marker was set and before the read, and then its outcome
      // is in the stream. Not found only once every entry written by now has been heard.
      const waits = this.queueWaits(queue);
      await waits.follower.caughtUp();
      await waits.delivered; // what was heard is settled first: a found outcome wins
      waiter.reject(new TaskNotFoundError(queue, id, { op }));
    } else if (now.state === "completed") waiter.resolve({ id, queue, result: now.result ?? undefined });
    else if (now.state === "archived") {
      waiter.reject(new TaskFailedError(queue, id, "archived", now.errorMsg, { op }));
    }
  }

  private queueWaits(queue: string): QueueWaits {
    let waits = this.queues.get(queue);
    if (waits === undefined) {
      const stream = this.broker.openEvents(queue);
      const created: QueueWaits = {
        waiters: new Map(),
        idle: undefined,
        delivered: Promise.resolve(),
        follower: new StreamFollower(
          stream,
          (entries) => {
            // deliver() does not throw (a failed read leaves the result undefined); the catch keeps
            // the chain going whatever happens.
            created.delivered = created.delivered
              .then(() => this.deliver(queue, created, entries))
              .catch(() => {});
          },
          () => {}, // the follower reads again after a pause; waits end by their timeout
          undefined,
          () => this.recheck(queue, created),
        ),
      };
      this.queues.set(queue, (waits = created));
      this.idleLater(queue, created); // a listen() with no wait after it (the enqueue failed)
    }
    return waits;
  }

  private async deliver(queue: string, waits: QueueWaits, entries: StreamEntry[]): Promise<void> {
    for (const entry of entries) {
      const decoded = decodeEntry(queue, entry);
      if (decoded === undefined) continue;
      const set = waits.waiters.get(decoded.event.id);
      if (set === undefined) continue;
      const { id } = decoded.event;
      const op = "client.waitForResult";
      switch (decoded.name) {
        case "completed": {
          let result = decoded.event.result;
          // Too large for the stream: still in the hash when the task is retained.
          if (result === undefined) {
            result =
              (await this.broker.readTaskOutcome(queue, id).catch(() => undefined))?.result ?? undefined;
          }
          for (const waiter of set) waiter.resolve({ id, queue, result });
          break;
        }
        case "archived":
        case "expired":
          for (const waiter of set)
            waiter.reject(new TaskFailedError(queue, id, decoded.name, decoded.event.error, { op }));
          break;
        case "revoked":
          for (const waiter of set) waiter.reject(new TaskFailedError(queue, id, "revoked", "", { op }));
          break;
        default:
          break; // retry, progress: the task goes on
      }
    }
  }

  /**
   * After events were lost (trimmed before they were read), settles each wait on what Redis holds
   * now, as a wait that starts late does: its outcome may have been among them.
   */
  private recheck(queue: string, waits: QueueWaits): void {
    const op = "client.waitForResult";
    for (const [id, set] of waits.waiters) {
      for (const waiter of set) {
        this.checkNow(queue, id, waiter, op).catch((error: unknown) => waiter.reject(toError(error)));
      }
    }
  }

  private forget(queue: string, id: string, waiter: Waiter): void {
    const waits = this.queues.get(queue);
    const set = waits?.waiters.get(id);
    if (waits === undefined || set === undefined) return;
    set.delete(waiter);
    if (set.size === 0) waits.waiters.delete(id);
    if (waits.waiters.size === 0) this.idleLater(queue, waits);
  }

  private idleLater(queue: string, waits: QueueWaits): void {
    clearTimeout(waits.idle);
    waits.idle = setTimeout(() => {
      if (waits.waiters.size > 0 || this.queues.get(queue) !== waits) return;
      waits.follower.close();
      this.queues.delete(queue);
    }, IDLE_MS);
    waits.idle.unref();
  }
}
