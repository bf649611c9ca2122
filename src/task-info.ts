// Builds the public TaskInfo from a decoded TaskMessage (shared by the client and the inspector).
import type { TaskInfo, TaskState } from "./task.js";
import type { TaskMessage } from "./wire/messages.js";

/** unix seconds (bigint, 0 = none) → Date or null. */
function dateOrNull(seconds: bigint): Date | null {
  return seconds === 0n ? null : new Date(Number(seconds) * 1000);
}

/** Assembles a TaskInfo; `nextProcessAt` and `result` come from the caller (state-dependent). */
export function taskInfoFromMessage(
  msg: TaskMessage,
  state: TaskState,
  nextProcessAt: Date | null,
  result: Uint8Array | null,
): TaskInfo {
  return {
    id: msg.id,
    queue: msg.queue,
    type: msg.type,
    payload: msg.payload,
    headers: { ...msg.headers },
    state,
    maxRetry: msg.retry,
    retried: msg.retried,
    lastError: msg.errorMsg,
    lastFailedAt: dateOrNull(msg.lastFailedAt),
    timeout: Number(msg.timeout) * 1000,
    deadline: dateOrNull(msg.deadline),
    group: msg.groupKey,
    nextProcessAt,
    retention: Number(msg.retention) * 1000,
    completedAt: dateOrNull(msg.completedAt),
    result,
  };
}
