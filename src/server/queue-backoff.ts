// Per-queue back-off for repeated Redis errors: a queue whose dequeue (or forward) keeps failing,
// say because one of its keys holds the wrong type, is left alone for 1 s, 2 s, 4 s … up to 60 s
// while the other queues are served. One log line per back-off step, not per try; one on recovery.
import { formatDuration, ordinal, rootMessage, type Logger } from "../internal/logger.js";

/** The first pause after a failure. */
const FIRST_DELAY_MS = 1000;
/**
 * Longest pause for an error Redis answered (WRONGTYPE, a script error): such a key stays wrong until
 * someone repairs it, so retrying more than once a minute only fills the log.
 */
const REPLY_ERROR_MAX_MS = 60_000;
/** Once the pause is at its cap, the same error is logged at most this often (the repeats at debug). */
const REPEAT_LOG_MS = 60_000;

/** A Redis error reply starts with an upper-case code: `WRONGTYPE …`, `ERR …`, `OOM …`, `READONLY …`. */
const REPLY_CODE = /^([A-Z][A-Z_]{2,})\b/;

/** Parameters of a {@link QueueBackoff}. */
export interface QueueBackoffParams {
  logger: Logger;
  /** What is tried per queue, for messages and the `operation` field: `dequeue`, `forward`. */
  operation: string;
  /** The start of a failure line, naming the queue: `cannot dequeue from queue "q"`. */
  cannot: (queue: string) => string;
  /**
   * Longest pause after an error that is not a Redis reply (a dropped connection, a timeout), whose
   * cause may go away any second; 0: no pause, the caller's own schedule paces the tries.
   */
  otherErrorMaxMs: number;
  /** Monotonic time in ms. @defaultValue performance.now (a back-off is about real time, not task time) */
  now?: () => number;
}

interface Failing {
  /** Consecutive failures. */
  failures: number;
  /** The error's kind: its Redis reply code, or "not a Redis reply". */
  kind: string;
  delayMs: number;
  /** When the queue may be tried again. */
  until: number;
  /** When a failure of this streak was last logged above debug level. */
  loggedAt: number;
}

/**
 * Tracks failing queues. Callers skip the queues {@link QueueBackoff.blocked} names, and report
 * each try's result with {@link QueueBackoff.failed} or {@link QueueBackoff.succeeded}. Shared by the
 * fetch lanes of one processor, so that two lanes failing at once count one step, not two.
 */
export class QueueBackoff {
  private readonly failing = new Map<string, Failing>();
  private readonly now: () => number;

  constructor(private readonly params: QueueBackoffParams) {
    this.now = params.now ?? (() => performance.now());
  }

  /** Whether the queue's next try is not due yet. */
  blocked(queue: string): boolean {
    const state = this.failing.get(queue);
    return state !== undefined && this.now() < state.until;
  }

  /** The queues, in their order, that may be tried now. */
  ready(queues: readonly string[]): string[] {
    if (this.failing.size === 0) return [...queues];
    return queues.filter((q) => !this.blocked(q));
  }

  /** How long until the first backed-off queue may be tried again; undefined when none is waiting. */
  msUntilNextTry(): number | undefined {
    const now = this.now();
    let next: number | undefined;
    for (const state of this.failing.values()) {
      if (state.until > now) next = Math.min(next ?? Infinity, state.until - now);
    }
    return next;
  }

  /**
   * Records a failed try of `queue` and backs it off. An error Redis answered (it names a code, as
   * `WRONGTYPE`) pauses the queue 1 s, then twice the last pause while the same error repeats, up
   * to 60 s, and each step is logged at error level (at the cap, once a minute). Any other error
   * (a lost connection) is an outage, not the queue's fault: the first is logged at error level, the
   * repeats at debug, with pauses up to `otherErrorMaxMs`.
   */
  failed(queue: string, error: unknown): void {
    const now = this.now();
    const last = this.failing.get(queue);
    // A try that was already under way when another one started the back-off: the same step.
    if (last !== undefined && now < last.until) return;
    const message = rootMessage(error);
    const code = REPLY_CODE.exec(message)?.[1];
    // Errors that are not Redis replies (connection closed, stream not writeable, timeouts) are one
    // kind: the same outage shows itself in several messages.
    const kind = code ?? "not a Redis reply";
    const cap = code === undefined ? this.params.otherErrorMaxMs : REPLY_ERROR_MAX_MS;
    const sameKind = last !== undefined && last.kind === kind;
    const delayMs = Math.min(sameKind ? last.delayMs * 2 : FIRST_DELAY_MS, cap);
    const failures = (last?.failures ?? 0) + 1;
    const logged =
      !sameKind || (code !== undefined && (delayMs !== last.delayMs || now - last.loggedAt >= REPEAT_LOG_MS));
    this.failing.set(queue, {
      failures,
      kind,
      delayMs,
      until: now + delayMs,
      loggedAt: logged ? now : last.loggedAt,
    });
    const retrying = delayMs > 0 ? `retrying in ${formatDuration(delayMs)}` : "retrying on schedule";
    const repeats = code === undefined && logged ? "; repeats are logged at debug level" : "";
    const text = `${this.params.cannot(queue)}: ${message}; ${retrying} (${ordinal(failures)} failure${repeats})`;
    const fields = { queue, operation: this.params.operation, error: message, failures, delayMs };
    if (logged) this.params.logger.error(text, fields);
    else this.params.logger.debug(text, fields);
  }

  /** Records a successful try; logs the recovery of a queue that was failing. */
  succeeded(queue: string): void {
    const last = this.failing.get(queue);
    if (last === undefined) return;
    this.failing.delete(queue);
    this.params.logger.info(
      `queue "${queue}": ${this.params.operation} working again after ${last.failures} failure(s)`,
      { queue, operation: this.params.operation, failures: last.failures },
    );
  }
}
