// Names shared by the harness and the worker children, with no import of either library: a worker
// child loads only the library it runs (bench/lib/worker.ts), which shortens its start-up.

/** The libraries compared. */
export type Lib = "asynq-ts" | "bullmq";
export const LIBS: readonly Lib[] = ["asynq-ts", "bullmq"];

/** asynq-ts queue, BullMQ queue name and task type / job name used everywhere. */
export const ASYNQ_QUEUE = "default";
export const BULL_QUEUE = "bench";
export const TASK_TYPE = "bench:noop";

/** Host and port of a `redis://host:port/db` URL, as BullMQ's connection options. */
export function bullConnection(url: string): { host: string; port: number; maxRetriesPerRequest: null } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port), maxRetriesPerRequest: null };
}
