// The messages between a sandboxed handler's parent and its thread, and how an error crosses
// between them: as plain data (name, message, stack, code, cause chain), rebuilt on the other side.
// Structured cloning is not enough: it drops the name of any class but the built-in ones, and every
// own property such as `code`, which SkipRetry and RevokeTask are recognised by.
import { AsynqError, RevokeTask, SkipRetry } from "../errors.js";
import { toError } from "../internal/errors.js";

/** What the thread's runner is started with (`workerData`). */
export interface RunnerData {
  /** File URL of the handler module. */
  readonly moduleUrl: string;
  /** The export to run; undefined: `default`, else `handler`. */
  readonly exportName: string | undefined;
}

/** The fields of TaskContext that are plain data, as the thread receives them. */
export interface WireContext {
  readonly id: string;
  readonly queue: string;
  readonly retryCount: number;
  readonly maxRetry: number;
  /** ms since the epoch. */
  readonly deadline: number;
}

/** Parent to thread. */
export type ToThread =
  | {
      readonly kind: "run";
      readonly type: string;
      readonly payload: Uint8Array;
      readonly headers: Readonly<Record<string, string>>;
      readonly ctx: WireContext;
    }
  /** The parent's signal aborted: abort the handler's signal with the same reason. */
  | { readonly kind: "abort"; readonly reason: WireError }
  /** The answer to a `write` or a `progress` (its `seq`): bytes written, or the error. */
  | { readonly kind: "written"; readonly seq: number; readonly bytes?: number; readonly error?: WireError };

/** Thread to parent. */
export type FromThread =
  | { readonly kind: "ready" }
  | { readonly kind: "load-failed"; readonly reason: string; readonly error?: WireError }
  | { readonly kind: "done"; readonly error?: WireError }
  /** `ctx.result.write` in the thread: the value already encoded there. */
  | { readonly kind: "write"; readonly seq: number; readonly bytes: Uint8Array }
  /** `ctx.progress` in the thread: the value as JSON text (checked there). */
  | { readonly kind: "progress"; readonly seq: number; readonly json: string };

/** An error as data. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** An AsynqError's code (or any string `code` the error carries, e.g. Node's `ENOENT`). */
  readonly code?: string;
  /** A TaskAbortedError's reason. */
  readonly reason?: string;
  readonly cause?: WireError;
}

/** How many `cause` links cross (the executor follows 16 to find a SkipRetry). */
const MAX_CAUSES = 16;

/**
 * An error as data, causes included. A thrown non-Error becomes the Error an in-process handler's
 * throw would give (`handler failed with a non-Error value: …`), so the task's `error_msg` reads
 * the same whether or not the handler is sandboxed.
 */
export function toWireError(thrown: unknown, depth = 0): WireError {
  const error = toError(thrown, "handler");
  const { code, reason } = error as { code?: unknown; reason?: unknown };
  const cause = (error as { cause?: unknown }).cause;
  return {
    name: typeof error.name === "string" ? error.name : "Error",
    message: typeof error.message === "string" ? error.message : String(error.message),
    ...(typeof error.stack === "string" ? { stack: error.stack } : {}),
    ...(typeof code === "string" ? { code } : {}),
    ...(typeof reason === "string" ? { reason } : {}),
    // A non-Error's own value stays in its thread: its text is in the message already.
    ...(cause !== undefined && cause !== null && cause !== thrown && depth < MAX_CAUSES
      ? { cause: toWireError(cause, depth + 1) }
      : {}),
  };
}

/**
 * Rebuilds an error sent as data: SkipRetry and RevokeTask (recognised by their code, anywhere in
 * the cause chain) as the classes the executor steers by; another error with an AsynqError code as
 * an AsynqError; anything else as an Error. Name, message, stack and code are kept.
 */
export function fromWireError(wire: WireError): Error {
  const cause = wire.cause === undefined ? undefined : fromWireError(wire.cause);
  const options = cause === undefined ? undefined : { cause };
  let error: Error;
  if (wire.code === "ERR_SKIP_RETRY") error = new SkipRetry(wire.message, options);
  else if (wire.code === "ERR_REVOKE_TASK") error = new RevokeTask(wire.message, options);
  else if (wire.code?.startsWith("ERR_") === true) error = new AsynqError(wire.code, wire.message, options);
  else {
    error = new Error(wire.message, options);
    if (wire.code !== undefined) Object.defineProperty(error, "code", { value: wire.code, enumerable: true });
  }
  error.name = wire.name;
  if (wire.stack !== undefined) error.stack = wire.stack;
  if (wire.reason !== undefined) Object.defineProperty(error, "reason", { value: wire.reason });
  return error;
}
