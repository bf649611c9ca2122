// Builds the public TaskInfo from a decoded TaskMessage (shared by the client and the inspector).
import type { TaskInfo, TaskState } from "./task.js";
import type { TaskMessage } from "./wire/messages.js";

/** unix seconds (bigint, 0 = none) → Date or null. */
function dateOrNull(seconds: bigint): Date | null {
  return seconds === 0n ? null : new Date(Number(seconds) * 1000);
}

/**
 * Assembles a TaskInfo; `nextProcessAt`, `result` and `progress` (the hash field's JSON text) come
 * from the caller (state-dependent).
 */
export function taskInfoFromMessage(
  msg: TaskMessage,
  state: TaskState,
  nextProcessAt: Date | null,
  result: Uint8Array | null,
  progress: Uint8Array | null = null,
): TaskInfo {
  const info: TaskInfo = {
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
  if (progress !== null) info.progress = parseProgress(progress);
  return info;
}

/** The stored progress: its JSON value, or the text itself when it is not JSON (written by someone else). */
function parseProgress(bytes: Uint8Array): unknown {
  const text = Buffer.from(bytes).toString("utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
