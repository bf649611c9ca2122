// The fields of a queue's JSON (queueInfoJson of src/inspector/json.ts), which `asynq-ts --json` and
// the dashboard's API both print: named once for the tests that check either.
import { TASK_STATES } from "../../src/wire/keys.js";

/** The counts of a queue, in the order the JSON gives them: the size, one per task state, and so on. */
export const QUEUE_COUNTS = [
  "size",
  ...TASK_STATES,
  "groups",
  "processed",
  "failed",
  "processedTotal",
  "failedTotal",
] as const;

/** Every field of a readable queue's JSON, in order (an unreadable one adds `error` last). */
export const QUEUE_JSON_FIELDS = [
  "queue",
  "paused",
  ...QUEUE_COUNTS,
  "latencyMs",
  "memoryUsage",
  "timestamp",
] as const;
