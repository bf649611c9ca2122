// What a handler receives besides the task: identity, limits, an AbortSignal and a result writer.
import { AsynqError } from "../errors.js";

/** Why a task's signal was aborted. */
export type AbortReason = "timeout" | "deadline" | "canceled" | "shutdown" | "lease-lost";

/** Go's error texts for these reasons (wire-format §5.7); they end up in the task's `error_msg`. */
const GO_TEXT: Record<AbortReason, string> = {
  timeout: "context deadline exceeded",
  deadline: "context deadline exceeded",
  canceled: "context canceled",
  shutdown: "context canceled",
  "lease-lost": "asynq: task lease expired",
};

/** The reason carried by a task's aborted signal, and the error of an attempt cut short by it. */
export class TaskAbortedError extends AsynqError {
  constructor(
    readonly reason: AbortReason,
    readonly taskId: string,
  ) {
    super("ERR_TASK_ABORTED", GO_TEXT[reason], { op: "server.process" });
  }
}

/** A result value: bytes as they are, a string as UTF-8, anything else as JSON. */
export type ResultValue = Uint8Array | string | number | boolean | null | object;

/** Writes the task's result (the task hash field `result`); every write replaces the last one. */
export interface ResultWriter {
  /**
   * Stores the result. Returns the number of bytes written.
   * @throws AsynqError (`ERR_RESULT_AFTER_DONE`) once the attempt is over (its handler returned or its signal aborted), or ValidationError
   *   when the value cannot be encoded.
   */
  write(value: ResultValue): Promise<number>;
}

/** What a handler receives besides the task. */
export interface TaskContext {
  /** ID of the task. */
  readonly id: string;
  /** Queue it was taken from. */
  readonly queue: string;
  /** Failures counted before this attempt (0 on the first attempt). */
  readonly retryCount: number;
  /** Maximum number of retries. */
  readonly maxRetry: number;
  /** When this attempt is cut short: the earlier of start + timeout and the task's deadline (wire-format §5.4). */
  readonly deadline: Date;
  /** Aborted on timeout, deadline, cancelation, shutdown or a lost lease; `signal.reason` is a TaskAbortedError. */
  readonly signal: AbortSignal;
  /** Writes the task's result. */
  readonly result: ResultWriter;
}
