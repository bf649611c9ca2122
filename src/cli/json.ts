// The stable JSON shapes of `--json` (docs/cli.md): the Inspector's objects with instants as ISO 8601
// strings (or null), durations in ms, and bytes as { base64, text } (text null when not UTF-8).
import type { SchedulerEntry, ServerInfo, TaskInfo, WorkerInfo, ActiveWorker } from "../index.js";
import { jsonBytes, jsonDate } from "./output.js";

/** A queue: the library's shape, which the dashboard's API prints too. */
export { queueInfoJson as queueJson } from "../index.js";

export function taskJson(t: TaskInfo): Record<string, unknown> {
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
    result: jsonBytes(t.result),
  };
}

function activeWorkerJson(w: ActiveWorker): Record<string, unknown> {
  return {
    taskId: w.taskId,
    taskType: w.taskType,
    payload: jsonBytes(w.payload),
    queue: w.queue,
    startedAt: jsonDate(w.startedAt),
    deadline: jsonDate(w.deadline),
  };
}

export function workerJson(w: WorkerInfo): Record<string, unknown> {
  return { serverId: w.serverId, host: w.host, pid: w.pid, ...activeWorkerJson(w) };
}

export function serverJson(s: ServerInfo): Record<string, unknown> {
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
    activeWorkers: s.activeWorkers.map(activeWorkerJson),
  };
}

export function entryJson(e: SchedulerEntry): Record<string, unknown> {
  return {
    id: e.id,
    schedulerId: e.schedulerId,
    spec: e.spec,
    taskType: e.taskType,
    payload: jsonBytes(e.payload),
    options: e.rawOptions,
    next: jsonDate(e.next),
    prev: jsonDate(e.prev),
  };
}
