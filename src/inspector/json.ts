// The JSON shape of a queue snapshot, shared by the two layers that print one: `asynq-ts queue ls
// --json` / `stats --json` (docs/cli.md) and the dashboard's API. Both layers may use the library only
// through its public entry (tools/tsup-layer.ts), so the shape is exported from there rather than
// copied into each layer, and cannot drift between them.
import type { QueueInfo } from "./queues.js";

/**
 * A {@link QueueInfo} as plain JSON: the same fields, with the latency as `latencyMs`, the snapshot's
 * instant as an ISO 8601 string, and `error` only when the queue could not be read.
 *
 * @example
 * ```ts
 * const infos = await inspector.getQueueInfos();
 * console.log(JSON.stringify(infos.map(queueInfoJson)));
 * ```
 */
export function queueInfoJson(q: QueueInfo): Record<string, unknown> {
  return {
    queue: q.queue,
    paused: q.paused,
    size: q.size,
    pending: q.pending,
    active: q.active,
    scheduled: q.scheduled,
    retry: q.retry,
    archived: q.archived,
    completed: q.completed,
    aggregating: q.aggregating,
    groups: q.groups,
    processed: q.processed,
    failed: q.failed,
    processedTotal: q.processedTotal,
    failedTotal: q.failedTotal,
    latencyMs: q.latency,
    memoryUsage: q.memoryUsage,
    timestamp: q.timestamp.toISOString(),
    ...(q.error === undefined ? {} : { error: q.error }),
  };
}
