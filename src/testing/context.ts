// A TaskContext built for tests: the fields a server would give a handler, a signal the test can
// abort, and a result writer that records what the handler writes (no Redis).
import { randomUUID } from "node:crypto";
import { encodePayload } from "../client/payload.js";
import { DEFAULTS } from "../defaults.js";
import { AsynqError, TaskAbortedError, ValidationError, type AbortReason } from "../errors.js";
import { systemClock, type Clock } from "../internal/clock.js";
import { progressJson, type ResultValue, type ResultWriter, type TaskContext } from "../server/context.js";

/** What a {@link FakeContext} says about its task; every field has a default. */
export interface FakeContextOptions {
  /** The task ID. @defaultValue a random UUID */
  id?: string;
  /** @defaultValue `"default"` */
  queue?: string;
  /** Failures before this attempt. @defaultValue 0 */
  retryCount?: number;
  /** @defaultValue 25 */
  maxRetry?: number;
  /** Limit of the attempt from its start, in ms. @defaultValue 30 minutes (asynq's) */
  timeout?: number;
  /** The task's deadline; `ctx.deadline` is the earlier of it and start + timeout. @defaultValue none */
  deadline?: Date | number;
  /** Where "now" comes from (the attempt's start). @defaultValue the system clock */
  clock?: Clock;
}

/**
 * A {@link TaskContext} for tests: pass it to a handler, abort it as a server would (timeout,
 * cancelation, shutdown), and read what the handler wrote as its result. Result writes behave as on
 * a server: bytes as they are, strings as UTF-8, other values as JSON; after {@link FakeContext.end}
 * or an abort they fail with `ERR_RESULT_AFTER_DONE`.
 *
 * @example
 * ```ts
 * const ctx = new FakeContext({ retryCount: 2 });
 * await myHandler({ type: "t", payload: new Uint8Array(), headers: {} }, ctx);
 * ctx.results; // every result written, as bytes
 * ```
 */
export class FakeContext implements TaskContext {
  readonly id: string;
  readonly queue: string;
  readonly retryCount: number;
  readonly maxRetry: number;
  readonly deadline: Date;
  /** What cuts the attempt short at {@link FakeContext.deadline}: its deadline, or its timeout. */
  readonly deadlineReason: AbortReason;
  /** When the attempt started (ms, from the context's clock). */
  readonly startedAt: number;
  /** Every result the handler wrote, as the bytes a server would store, in order. */
  readonly results: Uint8Array[] = [];
  /** Every progress the handler reported (`ctx.progress`), as the JSON values a server would store, in order. */
  readonly progressReports: unknown[] = [];
  readonly result: ResultWriter;
  readonly #controller = new AbortController();
  #ended = false;

  /** @throws ValidationError for an option of the wrong type. */
  constructor(options: FakeContextOptions = {}) {
    const clock = options.clock ?? systemClock;
    this.id = options.id ?? randomUUID();
    this.queue = options.queue ?? DEFAULTS.enqueue.queue;
    this.retryCount = count(options.retryCount, "retryCount", 0);
    this.maxRetry = count(options.maxRetry, "maxRetry", DEFAULTS.enqueue.maxRetry);
    const timeout = count(options.timeout, "timeout", DEFAULTS.enqueue.timeout);
    this.startedAt = clock.now();
    const byTimeout = this.startedAt + timeout;
    const deadline = options.deadline === undefined ? Infinity : new Date(options.deadline).getTime();
    if (Number.isNaN(deadline))
      throw new ValidationError("deadline", options.deadline, "expected a Date or epoch ms");
    this.deadline = new Date(Math.min(byTimeout, deadline));
    this.deadlineReason = deadline <= byTimeout ? "deadline" : "timeout";
    this.result = { write: (value) => this.#write(value) };
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** True once the signal is aborted. */
  get aborted(): boolean {
    return this.#controller.signal.aborted;
  }

  /** The last result written; null if none. */
  get lastResult(): Uint8Array | null {
    return this.results.at(-1) ?? null;
  }

  /**
   * Aborts the signal as a server would, with a TaskAbortedError of `reason` (once; later calls do
   * nothing). `runHandler` then ends the attempt at once, as the server does.
   */
  abort(reason: AbortReason = "canceled"): void {
    if (!this.aborted) this.#controller.abort(new TaskAbortedError(reason, this.id));
  }

  /**
   * Records a progress report as a server stores it (its JSON form); fails as on a server after
   * {@link FakeContext.end} or an abort (`ERR_PROGRESS_AFTER_DONE`), or for a value with no JSON form.
   */
  // eslint-disable-next-line @typescript-eslint/require-await -- async: every failure is a rejection, as on a server
  async progress(value: unknown): Promise<void> {
    if (this.#ended || this.aborted) {
      throw new AsynqError(
        "ERR_PROGRESS_AFTER_DONE",
        "failed to report progress: the task is no longer running",
        {
          op: "ctx.progress",
        },
      );
    }
    this.progressReports.push(JSON.parse(progressJson(value)) as unknown);
  }

  /** Ends the attempt: later result writes fail, as once a handler has returned on a server. */
  end(): void {
    this.#ended = true;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async: every failure is a rejection, as on a server
  async #write(value: ResultValue): Promise<number> {
    if (this.#ended || this.aborted) {
      throw new AsynqError(
        "ERR_RESULT_AFTER_DONE",
        "failed to write task result: the task is no longer running",
        {
          op: "result.write",
        },
      );
    }
    const bytes = encodePayload(value, "result");
    if (bytes === undefined) throw new ValidationError("result", value, "a result value is required");
    this.results.push(bytes);
    return bytes.length;
  }
}

function count(value: number | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) {
    throw new ValidationError(field, value, "expected an integer >= 0", { op: "FakeContext" });
  }
  return value;
}
