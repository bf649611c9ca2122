// The log line of a failed attempt (and the fields every line about a task carries): one sentence
// an operator can read, "task failed: email:welcome "3f2b…" in queue "default", attempt 2 of 26;
// will retry in 40 s: <error>", with the same facts as fields (names in internal/logger.ts).
import { formatDuration, type LogFields, type Logger } from "../internal/logger.js";
import { TaskAbortedError, type AbortReason } from "../errors.js";
import type { RunningTask } from "./executor.js";

/** What happens to a task after a failed attempt, as its log line says it. */
export type Decision =
  | { outcome: "retry"; retryAt: number; counted: boolean }
  | { outcome: "archived"; reason: "retries-exhausted" | "skip-retry" }
  | { outcome: "expired"; deadline: Date; retryAt: number }
  | { outcome: "revoked" };

/** How a failure line names an attempt cut short. */
const ABORTED_TEXT: Record<AbortReason, string> = {
  timeout: "timed out",
  deadline: "deadline reached",
  canceled: "canceled",
  shutdown: "shut down",
  "lease-lost": "lease lost",
};

/** The fields naming a task and its attempt, shared by every line about it. */
export function taskFields(task: RunningTask): LogFields {
  const { msg } = task;
  return {
    queue: task.queue,
    taskId: task.id,
    type: msg.type,
    attempt: msg.retried + 1,
    maxAttempts: msg.retry + 1,
  };
}

/**
 * Logs the one line of a failed attempt: what failed, which attempt of how many, what happens to the
 * task next, and the error; at warn, or at info for a revoke and for an error `isFailure` does not count.
 */
export function logAttemptFailure(
  logger: Logger,
  task: RunningTask,
  error: Error,
  decision: Decision,
  now: number,
): void {
  const { msg } = task;
  const fields: LogFields = { ...taskFields(task), outcome: decision.outcome };
  const aborted = abortReason(error);
  let next: string;
  switch (decision.outcome) {
    case "retry":
      next = `will retry in ${formatDuration(decision.retryAt - now)}`;
      if (!decision.counted) next += " (not counted as a failure: isFailure)";
      fields.retryAt = new Date(decision.retryAt).toISOString();
      fields.retryInMs = decision.retryAt - now;
      if (!decision.counted) fields.counted = false;
      break;
    case "archived":
      next = decision.reason === "skip-retry" ? "archived (SkipRetry)" : "archived (retries exhausted)";
      fields.reason = decision.reason;
      break;
    case "expired":
      next =
        `expired: its deadline ${decision.deadline.toISOString()} passes before the next retry ` +
        `(in ${formatDuration(decision.retryAt - now)}); archived`;
      fields.reason = "deadline";
      fields.deadline = decision.deadline.toISOString();
      break;
    case "revoked":
      next = "revoked (RevokeTask): deleted";
      break;
  }
  if (aborted !== undefined) fields.aborted = aborted;
  fields.error = error.message;
  const cut = aborted === undefined ? "" : ` (${ABORTED_TEXT[aborted]})`;
  const text =
    `task ${decision.outcome === "revoked" ? "revoked" : "failed"}: ${msg.type} "${task.id}" in queue ` +
    `"${task.queue}", attempt ${msg.retried + 1} of ${msg.retry + 1}${cut}; ${next}: ${error.message}`;
  // A revoke is the handler's choice, and an error isFailure does not count is expected (a rate
  // limit, say): neither is worth a warning per attempt.
  const quiet = decision.outcome === "revoked" || (decision.outcome === "retry" && !decision.counted);
  if (quiet) logger.info(text, fields);
  else logger.warn(text, fields);
}

/** Why the attempt was aborted, when its error is (or wraps) a TaskAbortedError. */
function abortReason(error: unknown): AbortReason | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 16; depth++) {
    if (e instanceof TaskAbortedError) return e.reason;
    e = e.cause;
  }
  return undefined;
}
