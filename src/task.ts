// Public task types: what users enqueue (Task) and what they read back (TaskInfo).
import type { EnqueueOptions } from "./client/options.js";
import type { TaskState } from "./wire/keys.js";

export type { TaskState } from "./wire/keys.js";

/**
 * A task payload. Bytes (`Uint8Array`, `Buffer`, `ArrayBuffer`) are stored as they are; a string is
 * stored as its UTF-8 bytes; any other value (object, array, number, boolean, null) is stored as
 * its JSON encoding, as Go users do with `json.Marshal`.
 */
export type Payload = Uint8Array | ArrayBuffer | string | number | boolean | null | object;

/** A unit of work: a type that selects the handler, and a payload for it. */
export interface Task {
  /** Task type name, e.g. `email:deliver`. Handlers are chosen by it. */
  type: string;
  /** The payload; omit it for none (Go's nil payload). */
  payload?: Payload;
  /** Free-form string metadata (TaskMessage field 15; read by asynq v0.26+). */
  headers?: Record<string, string>;
  /** Options embedded in the task; options passed to `enqueue` override them one by one. */
  options?: EnqueueOptions;
}

/** What is known about a task: its message, its state and, once written, its result. */
export interface TaskInfo {
  id: string;
  queue: string;
  type: string;
  /** Payload bytes (empty when the task has none). */
  payload: Uint8Array;
  headers: Record<string, string>;
  state: TaskState;
  /** Maximum number of retries. */
  maxRetry: number;
  /** Number of failures counted so far. */
  retried: number;
  /** Error text of the most recent failure; "" if none. */
  lastError: string;
  lastFailedAt: Date | null;
  /** Timeout of one attempt in milliseconds (whole seconds); 0 = none. */
  timeout: number;
  /** Absolute deadline; null = none. */
  deadline: Date | null;
  /** Group name; "" if none. */
  group: string;
  /** When the task will be processed next: now for pending tasks, null for active, archived, completed and aggregating ones. */
  nextProcessAt: Date | null;
  /** How long the task is kept after success, in milliseconds (whole seconds). */
  retention: number;
  completedAt: Date | null;
  /** Bytes written by the handler's result writer; null if none. */
  result: Uint8Array | null;
  /**
   * The last progress its handler reported (`ctx.progress`), when it reported any; kept while the
   * task hash exists (asynq-ts only: hash field `progress`).
   */
  progress?: unknown;
}
