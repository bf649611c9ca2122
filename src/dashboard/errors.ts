// HTTP errors of the dashboard's API, and the mapping of the library's typed errors to statuses:
// 400 invalid input, 404 unknown queue or task, 409 wrong state, 503 Redis unreachable; a user error
// is never a 500.
import {
  AsynqError,
  BrokerError,
  CorruptTaskError,
  QueueNotEmptyError,
  QueueNotFoundError,
  QueueStateError,
  TaskNotFoundError,
  TaskStateError,
  ValidationError,
} from "../index.js";

/** An error answered with its own status and code. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The body of every error answer: `{ error: { code, message } }`. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** The status and body for a thrown value. */
export function errorAnswer(error: unknown): { status: number; body: ErrorBody } {
  const body = (code: string, message: string): ErrorBody => ({ error: { code, message } });
  if (error instanceof HttpError) return { status: error.status, body: body(error.code, error.message) };
  if (error instanceof AsynqError) {
    const status =
      error instanceof ValidationError
        ? 400
        : error instanceof QueueNotFoundError || error instanceof TaskNotFoundError
          ? 404
          : error instanceof TaskStateError ||
              error instanceof QueueStateError ||
              error instanceof QueueNotEmptyError
            ? 409
            : error instanceof CorruptTaskError
              ? 422
              : error instanceof BrokerError
                ? 503
                : 500;
    return { status, body: body(error.code, error.message) };
  }
  return { status: 500, body: body("ERR_INTERNAL", "internal error") };
}
