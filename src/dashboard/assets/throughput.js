// The overview's live throughput: tasks processed and failed per second over the last few minutes,
// from the queues' all-time counters (processedTotal, failedTotal) that each overview refresh reads
// anyway, so it costs no request of its own. The rate between two refreshes is the counters' growth
// divided by the time between them, summed over the queues present in both (a queue deleted or a
// counter reset meanwhile counts 0, never a negative rate). Samples live in this module, so the
// chart keeps its history while the page stays open.

/** How far back the chart goes. */
export const WINDOW_MS = 5 * 60_000;

/** Counters of the previous refresh: { at, byQueue: Map<queue, { processed, failed }> }. */
let previous = null;
/** Points of the chart: { at, processed, failed } (rates per second), or { at, gap: true }. */
const points = [];

/**
 * Records the counters of one overview refresh. A refresh after a long pause (a hidden tab: the
 * page does not poll then) starts a new line segment rather than averaging over the pause. "Long" is
 * three poll intervals and at least a minute: a slow answer (a busy Redis) still draws a rate.
 */
export function record(queues, pollMs, now = Date.now()) {
  const byQueue = new Map(
    queues.map((q) => [q.queue, { processed: q.processedTotal, failed: q.failedTotal }]),
  );
  if (previous !== null) {
    const seconds = (now - previous.at) / 1000;
    if (seconds * 1000 > Math.max(3 * pollMs, 60_000)) {
      points.push({ at: now, gap: true });
    } else if (seconds > 0) {
      let processed = 0;
      let failed = 0;
      for (const [queue, c] of byQueue) {
        const before = previous.byQueue.get(queue);
        if (before === undefined) continue;
        processed += Math.max(0, c.processed - before.processed);
        failed += Math.max(0, c.failed - before.failed);
      }
      points.push({ at: now, processed: processed / seconds, failed: failed / seconds, tasks: processed });
    }
  }
  previous = { at: now, byQueue };
  while (points.length > 0 && points[0].at < now - WINDOW_MS) points.shift();
}

/** The points in the window, oldest first. */
export function samples() {
  return points.slice();
}

/** Forgets every sample (tests of the module; a new page starts empty anyway). */
export function reset() {
  previous = null;
  points.length = 0;
}
