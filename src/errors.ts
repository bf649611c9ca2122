// Typed errors of asynq-ts: every error a caller can catch (or a handler can throw to steer its task)
// is declared here, an AsynqError with a stable `code` and the operation (`op`) that raised it.
// Callers branch with `instanceof` or on `code`. Turning an unknown thrown value into an Error or a
// message is src/internal/errors.ts's.
import { describeValue } from "./internal/errors.js";
import { goQuoteOrJson } from "./wire/go-quote.js";

/** Base class of every error asynq-ts throws. */
export class AsynqError extends Error {
  /** Stable machine-readable code, e.g. `ERR_DUPLICATE_TASK`. */
  readonly code: string;
  /** The operation that failed, e.g. `client.enqueue`. */
  readonly op: string | undefined;

  constructor(code: string, message: string, options?: { op?: string; cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.code = code;
    this.op = options?.op;
  }
}

/** An argument or option is invalid. Nothing was written to Redis. */
export class ValidationError extends AsynqError {
  /** Path of the offending field, e.g. `options.queue` or `tasks[3].type`. */
  readonly field: string;
  /** The offending value, as given. */
  readonly value: unknown;
  /** Why the value is invalid: the message without the field and value. */
  readonly reason: string;

  constructor(field: string, value: unknown, reason: string, options?: { op?: string; cause?: unknown }) {
    super("ERR_VALIDATION", `invalid ${field} (${describeValue(value)}): ${reason}`, options);
    this.field = field;
    this.value = value;
    this.reason = reason;
  }
}

/** A task with the same uniqueness key (queue, type, payload) is still locked (asynq's ErrDuplicateTask). */
export class DuplicateTaskError extends AsynqError {
  constructor(
    readonly queue: string,
    readonly uniqueKey: string,
    options?: { op?: string },
  ) {
    super("ERR_DUPLICATE_TASK", "task already exists", options);
  }
}

/** A task hash with the requested ID already exists (asynq's ErrTaskIDConflict). */
export class TaskIdConflictError extends AsynqError {
  constructor(
    readonly queue: string,
    readonly taskId: string,
    options?: { op?: string },
  ) {
    super("ERR_TASK_ID_CONFLICT", "task ID conflicts with another task", options);
  }
}

/** The queue is not registered in `asynq:queues`. */
export class QueueNotFoundError extends AsynqError {
  constructor(
    readonly queue: string,
    options?: { op?: string },
  ) {
    super("ERR_QUEUE_NOT_FOUND", `queue "${queue}" not found`, options);
  }
}

/** No task with this ID exists in the queue. */
export class TaskNotFoundError extends AsynqError {
  constructor(
    readonly queue: string,
    readonly taskId: string,
    options?: { op?: string },
  ) {
    super("ERR_TASK_NOT_FOUND", `task "${taskId}" not found in queue "${queue}"`, options);
  }
}

/** A task record in Redis cannot be read (undecodable `msg`, unknown `state`, missing fields). */
export class CorruptTaskError extends AsynqError {
  constructor(
    readonly queue: string,
    readonly taskId: string,
    reason: string,
    options?: { op?: string; cause?: unknown },
  ) {
    super("ERR_CORRUPT_TASK", `task "${taskId}" in queue "${queue}" is corrupt: ${reason}`, options);
  }
}

/** Redis failed or answered something unexpected; `cause` holds the underlying error. */
export class BrokerError extends AsynqError {
  /** @param code for subclasses only (`ConnectionError`); `ERR_BROKER` otherwise. */
  constructor(message: string, options?: { op?: string; cause?: unknown }, code = "ERR_BROKER") {
    super(code, message, options);
  }
}

/**
 * Redis cannot be reached or used (`ERR_CONNECTION`): the connection was refused or timed out, the
 * host is unknown, Redis rejected the credentials (WRONGPASS, NOAUTH) or the DB index, or it stopped
 * answering. The message names the address, the DB index and the cause; `cause` holds the
 * underlying error. A BrokerError, so code that catches Redis failures catches it too.
 *
 * Raised by a Client's or Inspector's first call and by `Server.start()` when the first connection
 * fails (nothing was written), and by a Client or Inspector call whose connection answered nothing
 * for twice `commandTimeout` (then a write may or may not have been applied).
 */
export class ConnectionError extends BrokerError {
  constructor(
    /** `host:port` (or the socket path) of the Redis server. */
    readonly address: string,
    /** The DB index the connection is for. */
    readonly db: number,
    reason: string,
    options?: { op?: string; cause?: unknown },
  ) {
    super(`Redis at ${address} (db ${db}): ${reason}`, options, "ERR_CONNECTION");
  }
}

/**
 * Return or throw from a handler to archive the task at once, without retrying it
 * (asynq's SkipRetry). Wrapping it as an Error `cause` works too.
 *
 * @example
 * ```ts
 * mux.handle("image:resize", async (task) => {
 *   if (!isImage(task.payload)) throw new SkipRetry("not an image");
 * });
 * ```
 */
export class SkipRetry extends AsynqError {
  constructor(message = "skip retry for the task", options?: { cause?: unknown }) {
    super("ERR_SKIP_RETRY", message, options);
  }
}

/**
 * Throw from a handler to drop the task: it is deleted as if it had succeeded, not counted as
 * failed, and never retried (asynq's RevokeTask).
 */
export class RevokeTask extends AsynqError {
  constructor(message = "revoke task", options?: { cause?: unknown }) {
    super("ERR_REVOKE_TASK", message, options);
  }
}

/** The queue still holds tasks and removal was not forced. */
export class QueueNotEmptyError extends AsynqError {
  constructor(
    readonly queue: string,
    options?: { op?: string },
  ) {
    super("ERR_QUEUE_NOT_EMPTY", `queue "${queue}" is not empty`, options);
  }
}

/**
 * The operation does not apply to the task in its current state, e.g. archiving an archived task or
 * deleting an active one (cancel it first).
 */
export class TaskStateError extends AsynqError {
  constructor(
    readonly queue: string,
    readonly taskId: string,
    readonly state: string,
    message: string,
    options?: { op?: string },
  ) {
    super("ERR_TASK_STATE", message, options);
  }
}

/** The operation needs Redis Cluster, and the connection is not to a cluster. */
export class NotClusterError extends AsynqError {
  constructor(options?: { op?: string }) {
    super(
      "ERR_NOT_CLUSTER",
      "Redis Cluster is not configured: this connection is to a standalone Redis",
      options,
    );
  }
}

/**
 * The queue is not in a state the operation needs: pausing a paused queue (`ERR_QUEUE_PAUSED`),
 * resuming one that is not paused (`ERR_QUEUE_NOT_PAUSED`), or removing one with tasks being
 * processed (`ERR_QUEUE_HAS_ACTIVE`).
 */
export class QueueStateError extends AsynqError {
  constructor(
    code: "ERR_QUEUE_PAUSED" | "ERR_QUEUE_NOT_PAUSED" | "ERR_QUEUE_HAS_ACTIVE",
    readonly queue: string,
    message: string,
    options?: { op?: string },
  ) {
    super(code, message, options);
  }
}

// ---- Task processing ---------------------------------------------------------------------------

/** Why a task's signal was aborted. */
export type AbortReason = "timeout" | "deadline" | "canceled" | "shutdown" | "lease-lost";

/** Go's error texts for these reasons (wire-format §5.7); they end up in the task's `error_msg`. */
const ABORT_TEXT: Record<AbortReason, string> = {
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
    super("ERR_TASK_ABORTED", ABORT_TEXT[reason], { op: "server.process" });
  }
}

/**
 * No handler is registered for the task's type (asynq's `ErrHandlerNotFound`). The message is asynq's
 * text, `handler not found for task "<type>"` with the type quoted as Go's `%q` does (JSON quoting
 * for a type that Go could not hold, one with a lone surrogate), because it is stored in Redis as
 * the task's last error.
 */
export class HandlerNotFoundError extends AsynqError {
  /** The task type nothing was registered for. */
  readonly taskType: string;

  constructor(taskType: string, options?: { op?: string }) {
    super("ERR_HANDLER_NOT_FOUND", `handler not found for task ${goQuoteOrJson(taskType)}`, options);
    this.taskType = taskType;
  }
}

/**
 * The error a task fails with when its lease ran out, because the worker crashed or lost Redis
 * (asynq's ErrLeaseExpired). The recoverer gives it to `retryDelay` and `isFailure`, and writes its
 * message, `asynq: task lease expired`, into the task's `error_msg` (wire-format §5.7).
 */
export class LeaseExpiredError extends AsynqError {
  constructor() {
    super("ERR_LEASE_EXPIRED", "asynq: task lease expired", { op: "server.recover" });
  }
}

/** A task whose deadline passed before it could start, or would pass before its next retry. */
export class TaskExpiredError extends AsynqError {
  constructor(
    message: string,
    readonly deadline: Date,
    options?: { cause?: unknown },
  ) {
    super("ERR_TASK_EXPIRED", message, { op: "server.process", ...options });
  }
}

// ---- Sandboxed handlers (src/sandbox) -----------------------------------------------------------

/**
 * A sandboxed handler's module cannot be used: it cannot be found or loaded (its import threw), or
 * it exports no handler function. `cause` holds the import's error, when there is one.
 */
export class SandboxLoadError extends AsynqError {
  constructor(
    /** The module's file URL. */
    readonly moduleUrl: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super("ERR_SANDBOX_LOAD", `sandboxed handler module ${moduleUrl}: ${reason}`, {
      op: "sandbox.load",
      ...options,
    });
  }
}

/** Why a sandbox thread ended while it ran an attempt (see {@link SandboxError}). */
export type SandboxFailure = "exit" | "out-of-memory" | "uncaught-exception" | "closed";

/**
 * The thread of a sandboxed handler ended while it ran an attempt: the module called
 * `process.exit` (`exit`), the thread reached its memory limit (`out-of-memory`), an exception
 * or rejection nothing caught ended it (`uncaught-exception`), or the sandbox was closed
 * (`closed`). Only that attempt fails (and is retried as any failure); the thread is replaced.
 */
export class SandboxError extends AsynqError {
  /** The thread's exit code, for `exit`. */
  readonly exitCode: number | undefined;

  constructor(
    readonly reason: SandboxFailure,
    message: string,
    options?: { cause?: unknown; exitCode?: number },
  ) {
    super("ERR_SANDBOX", message, { op: "sandbox.run", cause: options?.cause });
    this.exitCode = options?.exitCode;
  }
}

// ---- Waiting for outcomes (Client.waitForResult, enqueueAndWait) ---------------------------------

/**
 * A task waited for (Client.waitForResult, enqueueAndWait) ended without success: archived (retries
 * exhausted or SkipRetry), expired (its deadline), or revoked (RevokeTask). `message` is its last error.
 */
export class TaskFailedError extends AsynqError {
  constructor(
    readonly queue: string,
    readonly taskId: string,
    readonly outcome: "archived" | "expired" | "revoked",
    readonly lastError: string,
    options?: { op?: string },
  ) {
    super(
      "ERR_TASK_FAILED",
      `task "${taskId}" in queue "${queue}" was ${outcome}${lastError === "" ? "" : `: ${lastError}`}`,
      options,
    );
  }
}

/** A wait for a task's outcome (Client.waitForResult, enqueueAndWait) ran out of time; the task goes on. */
export class WaitTimeoutError extends AsynqError {
  constructor(
    readonly queue: string,
    readonly taskId: string,
    readonly timeoutMs: number,
    options?: { op?: string },
  ) {
    super(
      "ERR_WAIT_TIMEOUT",
      `no outcome for task "${taskId}" in queue "${queue}" within ${timeoutMs} ms`,
      options,
    );
  }
}

// ---- Wire format ---------------------------------------------------------------------------------
// Raised by the codecs in src/wire/ (which re-export them). They reach callers as the `cause` of a
// CorruptTaskError or a BrokerError, or as a batch result's error when a task cannot be encoded.

/** Bytes that are not a valid encoding of the expected protobuf message. */
export class ProtoDecodeError extends AsynqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_PROTO_DECODE", message, options);
  }
}

/** A message value that cannot be encoded so that Go can read it back. */
export class ProtoEncodeError extends AsynqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_PROTO_ENCODE", message, options);
  }
}

/** A value that Go's formatting or parsing routines would reject, or that we cannot represent. */
export class GoFormatError extends AsynqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_GO_FORMAT", message, options);
  }
}

/** An option string that is unknown or malformed, or an option value that has no Go string form. */
export class OptionStringError extends AsynqError {
  /** The option string being parsed, or the `String()` we were asked to build (its kind). */
  readonly input: string;

  constructor(message: string, input: string, options?: { cause?: unknown }) {
    super("ERR_OPTION_STRING", message, options);
    this.input = input;
  }
}
