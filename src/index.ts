// The public API of asynq-ts. Every export is named here; nothing else is public.
export { Client } from "./client/client.js";
export type { ClientOptions, BatchResult } from "./client/client.js";
export type { EnqueueOptions } from "./client/options.js";
export { Inspector } from "./inspector/inspector.js";
export type { InspectorOptions, QueueSizes } from "./inspector/inspector.js";
export type { RedisConnection } from "./broker/connection.js";
export type { Task, TaskInfo, TaskState, Payload } from "./task.js";
export {
  AsynqError,
  ValidationError,
  DuplicateTaskError,
  TaskIdConflictError,
  QueueNotFoundError,
  TaskNotFoundError,
  CorruptTaskError,
  BrokerError,
} from "./errors.js";
export type { Clock } from "./internal/clock.js";
