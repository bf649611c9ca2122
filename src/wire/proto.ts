// Hand-written proto3 codec for asynq's five wire messages (wire-format §2): message constructors, and the
// encoders (proto-encode.ts) and decoders (proto-decode.ts), which are tuned for speed because a
// TaskMessage is encoded on every enqueue and decoded on every dequeue. proto.property.test.ts checks
// them, byte for byte, value for value and error for error, against a reference codec built on
// @bufbuild/protobuf's wire API, for random messages and random bytes.
import {
  GO_ZERO_TIME_SECONDS,
  type SchedulerEnqueueEvent,
  type SchedulerEntry,
  type ServerInfo,
  type TaskMessage,
  type Timestamp,
  type WorkerInfo,
} from "./messages.js";
import { emptyBytes } from "./proto-common.js";
import { decodeEntry, decodeEvent, decodeServer, decodeTask, decodeWorker } from "./proto-decode.js";
import { encodeEntry, encodeEvent, encodeServer, encodeTask, encodeWorker } from "./proto-encode.js";

export { ProtoDecodeError, ProtoEncodeError } from "../errors.js";

// ---- Constructors -------------------------------------------------------------------------------
// A field given as undefined (or left out) gets its default; Timestamps default to Go's zero time.

const goZeroTime = (): Timestamp => ({ seconds: GO_ZERO_TIME_SECONDS, nanos: 0 });

/** A TaskMessage with `fields` set, the rest at defaults (Timestamps: Go's zero time). */
export function newTaskMessage(fields: Partial<TaskMessage>): TaskMessage {
  const f = fields;
  return {
    type: f.type !== undefined ? f.type : "",
    payload: f.payload !== undefined ? f.payload : emptyBytes(),
    id: f.id !== undefined ? f.id : "",
    queue: f.queue !== undefined ? f.queue : "",
    retry: f.retry !== undefined ? f.retry : 0,
    retried: f.retried !== undefined ? f.retried : 0,
    errorMsg: f.errorMsg !== undefined ? f.errorMsg : "",
    timeout: f.timeout !== undefined ? f.timeout : 0n,
    deadline: f.deadline !== undefined ? f.deadline : 0n,
    uniqueKey: f.uniqueKey !== undefined ? f.uniqueKey : "",
    lastFailedAt: f.lastFailedAt !== undefined ? f.lastFailedAt : 0n,
    retention: f.retention !== undefined ? f.retention : 0n,
    completedAt: f.completedAt !== undefined ? f.completedAt : 0n,
    groupKey: f.groupKey !== undefined ? f.groupKey : "",
    headers: f.headers !== undefined ? f.headers : {},
    unknownFields: f.unknownFields ?? emptyBytes(),
  };
}

/** A ServerInfo with `fields` set, the rest at defaults (Timestamps: Go's zero time). */
export function newServerInfo(fields: Partial<ServerInfo>): ServerInfo {
  const f = fields;
  return {
    host: f.host !== undefined ? f.host : "",
    pid: f.pid !== undefined ? f.pid : 0,
    serverId: f.serverId !== undefined ? f.serverId : "",
    concurrency: f.concurrency !== undefined ? f.concurrency : 0,
    queues: f.queues !== undefined ? f.queues : {},
    strictPriority: f.strictPriority !== undefined ? f.strictPriority : false,
    status: f.status !== undefined ? f.status : "",
    startTime: f.startTime !== undefined ? f.startTime : goZeroTime(),
    activeWorkerCount: f.activeWorkerCount !== undefined ? f.activeWorkerCount : 0,
    unknownFields: f.unknownFields ?? emptyBytes(),
  };
}

/** A WorkerInfo with `fields` set, the rest at defaults (Timestamps: Go's zero time). */
export function newWorkerInfo(fields: Partial<WorkerInfo>): WorkerInfo {
  const f = fields;
  return {
    host: f.host !== undefined ? f.host : "",
    pid: f.pid !== undefined ? f.pid : 0,
    serverId: f.serverId !== undefined ? f.serverId : "",
    taskId: f.taskId !== undefined ? f.taskId : "",
    taskType: f.taskType !== undefined ? f.taskType : "",
    taskPayload: f.taskPayload !== undefined ? f.taskPayload : emptyBytes(),
    queue: f.queue !== undefined ? f.queue : "",
    startTime: f.startTime !== undefined ? f.startTime : goZeroTime(),
    deadline: f.deadline !== undefined ? f.deadline : goZeroTime(),
    unknownFields: f.unknownFields ?? emptyBytes(),
  };
}

/** A SchedulerEntry with `fields` set, the rest at defaults (Timestamps: Go's zero time). */
export function newSchedulerEntry(fields: Partial<SchedulerEntry>): SchedulerEntry {
  const f = fields;
  return {
    id: f.id !== undefined ? f.id : "",
    spec: f.spec !== undefined ? f.spec : "",
    taskType: f.taskType !== undefined ? f.taskType : "",
    taskPayload: f.taskPayload !== undefined ? f.taskPayload : emptyBytes(),
    enqueueOptions: f.enqueueOptions !== undefined ? f.enqueueOptions : [],
    nextEnqueueTime: f.nextEnqueueTime !== undefined ? f.nextEnqueueTime : goZeroTime(),
    prevEnqueueTime: f.prevEnqueueTime !== undefined ? f.prevEnqueueTime : goZeroTime(),
    unknownFields: f.unknownFields ?? emptyBytes(),
  };
}

/** A SchedulerEnqueueEvent with `fields` set, the rest at defaults (Timestamps: Go's zero time). */
export function newSchedulerEnqueueEvent(fields: Partial<SchedulerEnqueueEvent>): SchedulerEnqueueEvent {
  const f = fields;
  return {
    taskId: f.taskId !== undefined ? f.taskId : "",
    enqueueTime: f.enqueueTime !== undefined ? f.enqueueTime : goZeroTime(),
    unknownFields: f.unknownFields ?? emptyBytes(),
  };
}

// ---- Public codec -------------------------------------------------------------------------------
// Encoders write known fields in field-number order, omit proto3 zero values but write every
// non-null Timestamp (even an empty one), sort map entries by key and append `unknownFields`.
// Decoders accept any field order, keep the last value of a repeated scalar, read an absent
// Timestamp as null, keep unknown fields and reject malformed bytes.
//
// An encoder's result may be a view of a larger ArrayBuffer (mind byteOffset when wrapping its
// .buffer). A decoded bytes field is a copy of the input; it is a Buffer when the input is one.

/**
 * Encodes a TaskMessage (the task hash field `msg`).
 * @throws {@link ProtoEncodeError} on an out-of-range number or Timestamp, a lone surrogate or a wrong type.
 */
export function encodeTaskMessage(m: TaskMessage): Uint8Array {
  return encodeTask(m);
}

/**
 * Decodes a TaskMessage.
 * @throws {@link ProtoDecodeError} on truncated or malformed bytes, a wrong wire type or invalid UTF-8.
 */
export function decodeTaskMessage(bytes: Uint8Array): TaskMessage {
  return decodeTask(bytes);
}

/**
 * Encodes a ServerInfo (the value of `asynq:servers:{...}`).
 * @throws {@link ProtoEncodeError} on an out-of-range number or Timestamp, a lone surrogate or a wrong type.
 */
export function encodeServerInfo(m: ServerInfo): Uint8Array {
  return encodeServer(m);
}

/**
 * Decodes a ServerInfo.
 * @throws {@link ProtoDecodeError} on truncated or malformed bytes, a wrong wire type or invalid UTF-8.
 */
export function decodeServerInfo(bytes: Uint8Array): ServerInfo {
  return decodeServer(bytes);
}

/**
 * Encodes a WorkerInfo (a value of the hash `asynq:workers:{...}`).
 * @throws {@link ProtoEncodeError} on an out-of-range number or Timestamp, a lone surrogate or a wrong type.
 */
export function encodeWorkerInfo(m: WorkerInfo): Uint8Array {
  return encodeWorker(m);
}

/**
 * Decodes a WorkerInfo.
 * @throws {@link ProtoDecodeError} on truncated or malformed bytes, a wrong wire type or invalid UTF-8.
 */
export function decodeWorkerInfo(bytes: Uint8Array): WorkerInfo {
  return decodeWorker(bytes);
}

/**
 * Encodes a SchedulerEntry (an element of `asynq:schedulers:{...}`).
 * @throws {@link ProtoEncodeError} on an out-of-range number or Timestamp, a lone surrogate or a wrong type.
 */
export function encodeSchedulerEntry(m: SchedulerEntry): Uint8Array {
  return encodeEntry(m);
}

/**
 * Decodes a SchedulerEntry.
 * @throws {@link ProtoDecodeError} on truncated or malformed bytes, a wrong wire type or invalid UTF-8.
 */
export function decodeSchedulerEntry(bytes: Uint8Array): SchedulerEntry {
  return decodeEntry(bytes);
}

/**
 * Encodes a SchedulerEnqueueEvent (a member of `asynq:scheduler_history:<id>`).
 * @throws {@link ProtoEncodeError} on an out-of-range number or Timestamp, a lone surrogate or a wrong type.
 */
export function encodeSchedulerEnqueueEvent(m: SchedulerEnqueueEvent): Uint8Array {
  return encodeEvent(m);
}

/**
 * Decodes a SchedulerEnqueueEvent.
 * @throws {@link ProtoDecodeError} on truncated or malformed bytes, a wrong wire type or invalid UTF-8.
 */
export function decodeSchedulerEnqueueEvent(bytes: Uint8Array): SchedulerEnqueueEvent {
  return decodeEvent(bytes);
}
