// What a handler receives besides the task: identity, limits, an AbortSignal and a result writer.

import { ValidationError } from "../errors.js";

// Declared with every other error in src/errors.ts.
export { TaskAbortedError, type AbortReason } from "../errors.js";

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
  /**
   * Reports the task's progress: any JSON value (a percentage, `{ done: 3, total: 10 }`, …). It is
   * stored with the task (hash field `progress`, which Go's asynq ignores; the Inspector shows it) and
   * sent to the queue's listeners (QueueEvents `progress`); each call replaces the last. Call it as a
   * method (`ctx.progress(50)`).
   * @throws AsynqError (`ERR_PROGRESS_AFTER_DONE`) once the attempt is over (its handler returned, its
   *   signal aborted, or the task was recovered elsewhere), or ValidationError when the value has no
   *   JSON form.
   */
  progress(value: unknown): Promise<void>;
}

/**
 * The JSON text a progress report stores (`ctx.progress`, wherever it runs: a server, a sandbox
 * thread, a FakeContext).
 * @throws ValidationError when the value has no JSON form (undefined, a function, a BigInt, a cycle).
 */
export function progressJson(value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (cause) {
    throw new ValidationError("progress", value, "it has no JSON form", { op: "ctx.progress", cause });
  }
  if (json === undefined)
    throw new ValidationError("progress", value, "it has no JSON form", { op: "ctx.progress" });
  return json;
}
