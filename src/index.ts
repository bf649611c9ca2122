// The public API of asynq-ts. Every export is named here; nothing else is public.
export { Client } from "./client/client.js";
export type { ClientOptions, BatchResult } from "./client/client.js";
export type { EnqueueTracer, EnqueueSpanInfo } from "./client/tracing.js";
export type { EnqueueOptions } from "./client/options.js";
export { Inspector } from "./inspector/inspector.js";
export type { InspectorOptions, QueueSizes, RedisNodeInfo } from "./inspector/inspector.js";
export type {
  QueueInfo,
  DailyStats,
  GroupInfo,
  DeleteQueueOptions,
  QueueRemoval,
} from "./inspector/queues.js";
export { queueInfoJson } from "./inspector/json.js";
export type {
  ServerInfo,
  WorkerInfo,
  ActiveWorker,
  SchedulerEntry,
  SchedulerEnqueueEvent,
  SkippedRecord,
  PageOptions,
  ClusterNode,
} from "./inspector/servers.js";
export type { TaskPage, TaskResult, ListOptions, IterateOptions, ArchiveLimits } from "./inspector/tasks.js";
export type { OptionValue } from "./wire/option-strings.js";
export type { ClusterConnectionOptions, RedisConnection } from "./broker/connection/connection.js";
export type { ConnectionOptions } from "./broker/connection/options.js";
export { Server } from "./server/server.js";
export type { ServerConfig, FailedTaskInfo } from "./server/config.js";
export type { GroupAggregator } from "./server/aggregator.js";
export type {
  ServerEvents,
  ServerEventName,
  ServerEventListener,
  TaskEvent,
  TaskActiveEvent,
  TaskEndEvent,
  TaskFailedEvent,
  TaskRetryEvent,
  TaskArchivedEvent,
  TaskExpiredEvent,
  TaskRecoveredEvent,
  ServerErrorEvent,
} from "./server/events.js";
export type { RecoveredTask } from "./server/recoverer.js";
export { ServeMux } from "./server/mux.js";
export type { Handler, HandlerTask, Middleware } from "./server/mux.js";
export type { TaskContext, ResultWriter, ResultValue, AbortReason } from "./server/context.js";
export type { RetryDelayFn } from "./server/retry-delay.js";
export { defaultRetryDelay } from "./server/retry-delay.js";
export { Scheduler } from "./scheduler/scheduler.js";
export type { SchedulerOptions, TickInfo, TickResult, MissedTicks } from "./scheduler/options.js";
export { PeriodicTaskManager } from "./scheduler/manager.js";
export type {
  PeriodicTaskConfig,
  PeriodicTaskConfigProvider,
  PeriodicTaskManagerOptions,
  SyncResult,
} from "./scheduler/manager.js";
export { consoleLogger, pinoLogger } from "./internal/logger.js";
export type { Logger, LogLevel, LogFields, FieldsFirstLogger } from "./internal/logger.js";
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
  ConnectionError,
  SkipRetry,
  RevokeTask,
  QueueNotEmptyError,
  TaskStateError,
  NotClusterError,
  QueueStateError,
  TaskAbortedError,
  HandlerNotFoundError,
  LeaseExpiredError,
  TaskExpiredError,
  SandboxLoadError,
  SandboxError,
  TaskFailedError,
  WaitTimeoutError,
  ProtoDecodeError,
  ProtoEncodeError,
} from "./errors.js";
export type { Clock } from "./internal/clock.js";
export { QueueEvents } from "./events/queue-events.js";
export type {
  QueueEventsOptions,
  QueueEventMap,
  QueueTaskEvent,
  QueueCompletedEvent,
  QueueFailedEvent,
  QueueRetryEvent,
  QueueArchivedEvent,
  QueueProgressEvent,
  QueueLostEvent,
} from "./events/queue-events.js";
export type { CompletedTask } from "./client/wait.js";
export { sandboxed } from "./sandbox/sandboxed.js";
export type { SandboxedHandler, SandboxOptions } from "./sandbox/sandboxed.js";
export type { SandboxFailure } from "./errors.js";
export { defineTask } from "./tasks/define.js";
export type {
  TaskDefinition,
  TaskSpec,
  TypedHandler,
  AnyTaskDefinition,
  PlainTask,
  DefinitionArgs,
} from "./tasks/define.js";
export { jsonCodec, textCodec, bytesCodec } from "./tasks/codec.js";
export type { TaskCodec, JsonCodecOptions } from "./tasks/codec.js";
export type { StandardSchema, SchemaResult, SchemaIssue, SchemaInput, SchemaOutput } from "./tasks/schema.js";
