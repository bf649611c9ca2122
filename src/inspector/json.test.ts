// Unit tests of the queue JSON shape that `asynq-ts --json` and the dashboard's API both print.
import { describe, expect, it } from "vitest";
import { QUEUE_JSON_FIELDS } from "../../test/support/queue-json.js";
import { queueInfoJson } from "./json.js";
import type { QueueInfo } from "./queues.js";

/** A snapshot whose numbers are all different, so a swapped field shows. */
const info: QueueInfo = {
  queue: "critical",
  size: 21,
  pending: 1,
  active: 2,
  scheduled: 3,
  retry: 4,
  archived: 5,
  completed: 6,
  aggregating: 0,
  groups: 7,
  processed: 8,
  failed: 9,
  processedTotal: 10,
  failedTotal: 11,
  latency: 1234,
  memoryUsage: 4096,
  paused: true,
  timestamp: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)),
};

describe("queueInfoJson", () => {
  it("keeps every count, names the latency in ms and writes the instant as ISO 8601", () => {
    const { latency, timestamp, ...same } = info;
    expect(latency).toBe(1234);
    expect(timestamp).toBeInstanceOf(Date);
    expect(queueInfoJson(info)).toStrictEqual({
      ...same,
      latencyMs: 1234,
      timestamp: "2026-01-02T03:04:05.678Z",
    });
  });

  it("gives its fields in the documented order, `error` last and only for a queue that could not be read", () => {
    expect(Object.keys(queueInfoJson(info))).toEqual(QUEUE_JSON_FIELDS);
    expect(Object.keys(queueInfoJson({ ...info, error: "WRONGTYPE" }))).toEqual([
      ...QUEUE_JSON_FIELDS,
      "error",
    ]);
    expect(queueInfoJson({ ...info, error: "WRONGTYPE" }).error).toBe("WRONGTYPE");
  });
});
