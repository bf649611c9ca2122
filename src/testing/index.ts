// Helpers for users' tests (the `asynq-ts/testing` entry): run handlers inline with a fake context,
// record enqueues without Redis, drain a real queue, and a clock tests can move. Framework-agnostic:
// nothing here imports vitest, jest or node:test.
export { ManualClock } from "../internal/clock.js";
export { FakeContext } from "./context.js";
export type { FakeContextOptions } from "./context.js";
export { runHandler, runTask } from "./run.js";
export type { HandlerRun, RunTaskArgs } from "./run.js";
export { RecordingClient } from "./recording-client.js";
export type { RecordedTask, RecordingClientOptions } from "./recording-client.js";
export { drainQueue } from "./drain.js";
export type { DrainOptions, DrainSummary } from "./drain.js";
