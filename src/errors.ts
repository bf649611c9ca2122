// Typed errors of asynq-ts: every error we throw is an AsynqError with a stable `code`, and the
// operation (`op`) that raised it. Callers branch with `instanceof` or on `code`.

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

  constructor(field: string, value: unknown, reason: string, options?: { op?: string; cause?: unknown }) {
    super("ERR_VALIDATION", `invalid ${field} (${describe(value)}): ${reason}`, options);
    this.field = field;
    this.value = value;
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

/** Short printable form of a value for error messages. */
function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  if (value === null) return "null";
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === "function") return "a function";
  if (typeof value === "symbol") return value.toString();
  return Array.isArray(value) ? "an array" : "an object";
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
export class SkipRetry extends Error {
  constructor(message = "skip retry for the task", options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SkipRetry";
  }
}

/**
 * Throw from a handler to drop the task: it is deleted as if it had succeeded, not counted as
 * failed, and never retried (asynq's RevokeTask).
 */
export class RevokeTask extends Error {
  constructor(message = "revoke task", options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RevokeTask";
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
