// TypeScript shapes of the five asynq protobuf messages (wire-format §2). int64 fields are bigint so that
// no value loses precision; int32 fields are numbers. Codec: ./proto.ts.
//
// Timestamp fields are `Timestamp | null`: null is a sub-message absent from the wire. Go's v0.24.1
// readers drop records with an absent Timestamp (wire-format §2.6.8), so our writers always set one (the
// new* constructors default to Go's zero time); null exists so that decoding and re-encoding any
// input, Go's own `empty` vectors included, gives back the same bytes.

/** google.protobuf.Timestamp. Go's zero time is `{ seconds: GO_ZERO_TIME_SECONDS, nanos: 0 }`. */
export interface Timestamp {
  seconds: bigint;
  nanos: number;
}

/** Seconds of Go's zero `time.Time` (0001-01-01T00:00:00Z): what Go writes for "no time" (wire-format §2.6). */
export const GO_ZERO_TIME_SECONDS = -62135596800n;

/** asynq.TaskMessage, stored in the task hash field `msg`. Field numbers in comments. */
export interface TaskMessage {
  /** 1 */ type: string;
  /** 2; empty and absent are the same on the wire */ payload: Uint8Array;
  /** 3 */ id: string;
  /** 4 */ queue: string;
  /** 5: max retry count */ retry: number;
  /** 6: failures counted so far */ retried: number;
  /** 7 */ errorMsg: string;
  /** 8: relative seconds; 0 = none */ timeout: bigint;
  /** 9: absolute unix seconds; 0 = none */ deadline: bigint;
  /** 10: full Redis key of the uniqueness lock; "" = none */ uniqueKey: string;
  /** 11: unix seconds */ lastFailedAt: bigint;
  /** 12: seconds */ retention: bigint;
  /** 13: unix seconds */ completedAt: bigint;
  /** 14: group name */ groupKey: string;
  /** 15 (asynq v0.26+): entries in insertion order */ headers: Record<string, string>;
  /** Raw bytes of fields this codec does not know, kept and re-emitted after the known fields. */
  unknownFields: Uint8Array;
}

/** asynq.ServerInfo, the value of `asynq:servers:{...}`. */
export interface ServerInfo {
  /** 1 */ host: string;
  /** 2 */ pid: number;
  /** 3 */ serverId: string;
  /** 4 */ concurrency: number;
  /** 5: queue name -> priority */ queues: Record<string, number>;
  /** 6 */ strictPriority: boolean;
  /** 7 */ status: string;
  /** 8: null = absent on the wire (our writers always set it) */ startTime: Timestamp | null;
  /** 9 */ activeWorkerCount: number;
  unknownFields: Uint8Array;
}

/** asynq.WorkerInfo, a value of the hash `asynq:workers:{...}`. */
export interface WorkerInfo {
  /** 1 */ host: string;
  /** 2 */ pid: number;
  /** 3 */ serverId: string;
  /** 4 */ taskId: string;
  /** 5 */ taskType: string;
  /** 6 */ taskPayload: Uint8Array;
  /** 7 */ queue: string;
  /** 8: null = absent on the wire (our writers always set it) */ startTime: Timestamp | null;
  /** 9: null = absent on the wire (our writers always set it) */ deadline: Timestamp | null;
  unknownFields: Uint8Array;
}

/** asynq.SchedulerEntry, an element of `asynq:schedulers:{...}`. */
export interface SchedulerEntry {
  /** 1 */ id: string;
  /** 2 */ spec: string;
  /** 3 */ taskType: string;
  /** 4 */ taskPayload: Uint8Array;
  /** 5: option strings, e.g. `Queue("low")` */ enqueueOptions: string[];
  /** 6: null = absent on the wire (our writers always set it) */ nextEnqueueTime: Timestamp | null;
  /** 7: Go zero time when never enqueued; null = absent on the wire */ prevEnqueueTime: Timestamp | null;
  unknownFields: Uint8Array;
}

/** asynq.SchedulerEnqueueEvent, a member of `asynq:scheduler_history:<entryID>`. */
export interface SchedulerEnqueueEvent {
  /** 1 */ taskId: string;
  /** 2: null = absent on the wire (our writers always set it) */ enqueueTime: Timestamp | null;
  unknownFields: Uint8Array;
}
