// The JSON shapes of the dashboard's API: the Inspector's objects with instants as ISO 8601 strings
// (or null) and bytes as { size, text, hex } (text null when not valid UTF-8).
import type { SchedulerEntry, ServerInfo, TaskInfo } from "../index.js";

/** A queue: the library's shape, which `asynq-ts --json` prints too. */
export { queueInfoJson as queueJson } from "../index.js";

/** At most this many bytes of a payload or result are sent as hex. */
const MAX_HEX_BYTES = 64 * 1024;

export interface JsonBytes {
  size: number;
  text: string | null;
  hex: string;
  truncated: boolean;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

export function jsonBytes(bytes: Uint8Array | null): JsonBytes | null {
  if (bytes === null) return null;
  let text: string | null;
  try {
    text = decoder.decode(bytes);
  } catch {
    text = null;
  }
  const shown = bytes.subarray(0, MAX_HEX_BYTES);
  return {
    size: bytes.length,
    text,
    hex: Buffer.from(shown.buffer, shown.byteOffset, shown.length).toString("hex"),
    truncated: bytes.length > MAX_HEX_BYTES,
  };
}

export function jsonDate(date: Date | null | undefined): string | null {
  return date === null || date === undefined ? null : date.toISOString();
}

/** A task in a listing: the detail without the result (smaller pages). */
export function taskJson(t: TaskInfo, withResult = true): Record<string, unknown> {
  return {
    id: t.id,
    queue: t.queue,
    type: t.type,
    state: t.state,
    payload: jsonBytes(t.payload),
    headers: t.headers,
    maxRetry: t.maxRetry,
    retried: t.retried,
    lastError: t.lastError,
    lastFailedAt: jsonDate(t.lastFailedAt),
    timeoutMs: t.timeout,
    deadline: jsonDate(t.deadline),
    group: t.group,
    nextProcessAt: jsonDate(t.nextProcessAt),
    retentionMs: t.retention,
    completedAt: jsonDate(t.completedAt),
    ...(withResult ? { result: jsonBytes(t.result) } : {}),
  };
}

/** A server; with `detail`, each worker's payload too (the listing leaves them out). */
export function serverJson(s: ServerInfo, detail: boolean): Record<string, unknown> {
  return {
    serverId: s.serverId,
    host: s.host,
    pid: s.pid,
    concurrency: s.concurrency,
    queues: s.queues,
    strictPriority: s.strictPriority,
    status: s.status,
    startedAt: jsonDate(s.startedAt),
    activeWorkerCount: s.activeWorkerCount,
    activeWorkers: s.activeWorkers.map((w) => ({
      taskId: w.taskId,
      taskType: w.taskType,
      queue: w.queue,
      startedAt: jsonDate(w.startedAt),
      deadline: jsonDate(w.deadline),
      ...(detail ? { payload: jsonBytes(w.payload) } : {}),
    })),
  };
}

/** An entry, with the queue its tasks go to (its Queue option, else asynq's "default"). */
export function schedulerEntryJson(e: SchedulerEntry): Record<string, unknown> {
  let queue = "default";
  for (const o of e.options) if (o.kind === "Queue") queue = o.value;
  return {
    id: e.id,
    schedulerId: e.schedulerId,
    spec: e.spec,
    taskType: e.taskType,
    payload: jsonBytes(e.payload),
    options: e.rawOptions,
    queue,
    next: jsonDate(e.next),
    prev: jsonDate(e.prev),
  };
}
