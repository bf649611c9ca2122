// Enqueue options: their documentation and validation live here, and only here (their defaults are
// DEFAULTS.enqueue, src/defaults.ts).
import { randomUUID } from "node:crypto";
import { DEFAULTS } from "../defaults.js";
import { ValidationError } from "../errors.js";
import type { EnqueueRequest } from "../broker/ports.js";
import type { Task } from "../task.js";
import type { TaskMessage } from "../wire/messages.js";
import { uniqueKey } from "../wire/unique.js";
import { encodePayload } from "./payload.js";

/** Options of one enqueue, named as asynq's. Durations are milliseconds; Redis keeps whole seconds. */
export interface EnqueueOptions {
  /**
   * Queue name: not blank, no `}` (it would cut the `{queue}` hash tag of the keys).
   * @defaultValue `"default"`
   */
  queue?: string;
  /**
   * How many times a failing task is retried before it is archived. An integer >= 0.
   * @defaultValue 25
   */
  maxRetry?: number;
  /**
   * Time limit of one attempt, from its start, in ms (>= 1000; truncated to whole seconds).
   * @defaultValue 30 minutes, but only when neither `timeout` nor `deadline` is given
   */
  timeout?: number;
  /**
   * Absolute deadline of the whole task (all attempts), a Date or ms since the epoch, not in the
   * past. Truncated to whole seconds. A task not started by its deadline is marked expired.
   */
  deadline?: Date | number;
  /** Process no earlier than this instant (Date or ms since the epoch). Past instants mean now. */
  processAt?: Date | number;
  /** Process no earlier than this many ms from now (>= 0). Not together with `processAt`. */
  processIn?: number;
  /**
   * Uniqueness window in ms (>= 1000, truncated to whole seconds): while it lasts, another task
   * with the same queue, type and payload is rejected with DuplicateTaskError. The lock is released
   * earlier when the task finishes.
   */
  unique?: number;
  /** Task ID; not blank. A random UUID v4 when omitted. */
  taskId?: string;
  /**
   * How long to keep the task as `completed` after success, in ms (>= 0, whole seconds).
   * @defaultValue 0 (deleted on success)
   */
  retention?: number;
  /** Group name for aggregation; not blank. */
  group?: string;
  /** Headers merged over the task's own headers (TaskMessage field 15). */
  headers?: Record<string, string>;
}

const OPTION_NAMES: ReadonlySet<string> = new Set([
  "queue",
  "maxRetry",
  "timeout",
  "deadline",
  "processAt",
  "processIn",
  "unique",
  "taskId",
  "retention",
  "group",
  "headers",
]);

const MAX_INT32 = 2 ** 31 - 1;
/** The last instant a Date can hold. */
const MAX_INSTANT_MS = 8.64e15;
const TASK_FIELDS: ReadonlySet<string> = new Set(["type", "payload", "headers", "options"]);

/** A validated task ready to write, and the facts the client reports back. */
export interface ResolvedTask {
  request: EnqueueRequest;
  /** Process-at instant in ms when scheduled; undefined otherwise. */
  processAtMs: number | undefined;
}

/** Shared values of resolved tasks (never mutated). */
const PENDING: EnqueueRequest["target"] = { kind: "pending" };
const NO_BYTES = new Uint8Array(0);
/** In whole seconds, as the message stores it. */
const DEFAULT_TIMEOUT = BigInt(DEFAULTS.enqueue.timeout / 1000);
const NO_OPTIONS: EnqueueOptions = Object.freeze({});

/**
 * Validates a task and its options and builds the message to write (wire-format §5.13).
 * `path` names the task in errors (`task`, or `tasks[3]` in a batch).
 * @throws ValidationError naming the first invalid field and its value.
 */
export function resolveTask(
  task: Task,
  options: EnqueueOptions | undefined,
  nowMs: number,
  path = "task",
): ResolvedTask {
  if (typeof task !== "object" || task === null)
    throw new ValidationError(path, task, "a task object is required");
  for (const key of Object.keys(task)) {
    if (!TASK_FIELDS.has(key))
      throw new ValidationError(
        `${path}.${key}`,
        (task as unknown as Record<string, unknown>)[key],
        "unknown task field",
      );
  }
  const type = checkName(task.type, path, ".type", "the task type");
  const taskOptions = task.options;
  if (taskOptions !== undefined) checkOptionsObject(taskOptions, `${path}.options`);
  if (options !== undefined) checkOptionsObject(options, "options");
  // Task-embedded options first, then the enqueue call's, each kind overriding (as asynq does).
  const opts: EnqueueOptions =
    taskOptions === undefined && options === undefined
      ? NO_OPTIONS
      : { ...definedOnly(taskOptions), ...definedOnly(options) };

  const queue =
    opts.queue === undefined
      ? DEFAULTS.enqueue.queue
      : checkQueue(opts.queue, optionField(options, path, "queue"));
  const maxRetry =
    opts.maxRetry === undefined
      ? DEFAULTS.enqueue.maxRetry
      : checkMaxRetry(opts.maxRetry, optionField(options, path, "maxRetry"));
  const timeout =
    opts.timeout === undefined
      ? undefined
      : checkDuration(opts.timeout, optionField(options, path, "timeout"), 1000);
  const deadline =
    opts.deadline === undefined
      ? undefined
      : checkInstant(opts.deadline, optionField(options, path, "deadline"));
  if (deadline !== undefined && deadline < nowMs) {
    throw new ValidationError(
      optionField(options, path, "deadline"),
      opts.deadline,
      "the deadline is in the past",
    );
  }
  if (opts.processAt !== undefined && opts.processIn !== undefined) {
    throw new ValidationError(
      optionField(options, path, "processIn"),
      opts.processIn,
      "give either processAt or processIn, not both",
    );
  }
  let processAtMs = nowMs;
  if (opts.processAt !== undefined)
    processAtMs = checkInstant(opts.processAt, optionField(options, path, "processAt"));
  if (opts.processIn !== undefined) {
    processAtMs = nowMs + checkDuration(opts.processIn, optionField(options, path, "processIn"), 0);
    if (processAtMs > MAX_INSTANT_MS)
      throw new ValidationError(
        optionField(options, path, "processIn"),
        opts.processIn,
        "the instant is out of range",
      );
  }
  const unique =
    opts.unique === undefined
      ? undefined
      : checkDuration(opts.unique, optionField(options, path, "unique"), 1000, "1 s");
  const taskId =
    opts.taskId === undefined
      ? randomUUID()
      : checkName(opts.taskId, optionField(options, path, "taskId"), "", "the task ID");
  const retention =
    opts.retention === undefined
      ? 0
      : checkDuration(opts.retention, optionField(options, path, "retention"), 0);
  const group =
    opts.group === undefined
      ? ""
      : checkName(opts.group, optionField(options, path, "group"), "", "the group name");
  const headers =
    task.headers === undefined && opts.headers === undefined
      ? {}
      : {
          ...checkHeaders(task.headers, `${path}.headers`),
          ...checkHeaders(opts.headers, optionField(options, path, "headers")),
        };
  const payload = task.payload === undefined ? undefined : encodePayload(task.payload, path, ".payload");

  // A literal with every field (what newTaskMessage would build from these).
  const msg: TaskMessage = {
    type,
    payload: payload ?? new Uint8Array(0),
    id: taskId,
    queue,
    retry: maxRetry,
    retried: 0,
    errorMsg: "",
    // The 30-minute default applies only when neither a timeout nor a deadline is given (wire-format §5.13).
    timeout: timeout !== undefined ? seconds(timeout) : deadline === undefined ? DEFAULT_TIMEOUT : 0n,
    deadline: deadline === undefined ? 0n : seconds(deadline),
    uniqueKey: unique === undefined ? "" : uniqueKey(queue, type, payload),
    lastFailedAt: 0n,
    retention: retention === 0 ? 0n : seconds(retention),
    completedAt: 0n,
    groupKey: group,
    headers,
    unknownFields: NO_BYTES,
  };

  const scheduled = processAtMs > nowMs;
  const request: EnqueueRequest = {
    msg,
    target: scheduled
      ? { kind: "scheduled", processAtSeconds: Math.floor(processAtMs / 1000) }
      : group !== ""
        ? { kind: "group", group }
        : PENDING,
  };
  if (unique !== undefined) {
    // A scheduled task's lock covers the wait plus the uniqueness window (wire-format §1.4).
    const ttlMs = scheduled ? processAtMs + unique - nowMs : unique;
    request.uniqueTtlSeconds = Math.max(1, Math.floor(ttlMs / 1000));
  }
  return { request, processAtMs: scheduled ? processAtMs : undefined };
}

/** The field path of an option in errors: where it was given (the call's options or the task's). */
function optionField(options: EnqueueOptions | undefined, path: string, name: string): string {
  return options !== undefined && name in options ? `options.${name}` : `${path}.options.${name}`;
}

/** Whole seconds of a duration or instant in ms (truncated), as int64. */
function seconds(ms: number): bigint {
  return BigInt(Math.floor(ms / 1000));
}

function definedOnly(options: EnqueueOptions | undefined): EnqueueOptions {
  if (options === undefined) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) if (v !== undefined) out[k] = v;
  return out;
}

function checkOptionsObject(options: unknown, field: string): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new ValidationError(field, options, "options must be an object");
  }
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.has(name)) {
      throw new ValidationError(
        `${field}.${name}`,
        (options as Record<string, unknown>)[name],
        "unknown option",
      );
    }
  }
}

/**
 * A string that goes into a protobuf string field: not blank, valid UTF-8. The field is named
 * `field + suffix` (joined only for an error).
 */
function checkName(value: unknown, field: string, suffix: string, what: string): string {
  if (typeof value !== "string") throw new ValidationError(field + suffix, value, `${what} must be a string`);
  if (value.trim() === "") throw new ValidationError(field + suffix, value, `${what} cannot be empty`);
  if (!value.isWellFormed()) checkWellFormed(value, field + suffix);
  return value;
}

function checkWellFormed(value: string, field: string): void {
  if (!value.isWellFormed()) {
    throw new ValidationError(field, value, "the string has a lone surrogate, so it is not valid UTF-8");
  }
}

/** A queue name as the data model allows it (non-empty, no "}"): the name, or a ValidationError. */
export function checkQueue(value: unknown, field: string): string {
  const queue = checkName(value, field, "", "the queue name");
  if (queue.includes("}")) {
    throw new ValidationError(
      field,
      value,
      'a queue name cannot contain "}": it would cut the {queue} hash tag',
    );
  }
  return queue;
}

function checkMaxRetry(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_INT32) {
    throw new ValidationError(field, value, `maxRetry must be an integer from 0 to ${MAX_INT32}`);
  }
  return value;
}

/** A duration in ms: a finite number >= min. */
function checkDuration(value: unknown, field: string, min: number, minText = `${min} ms`): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new ValidationError(field, value, "a duration must be a finite number of milliseconds");
  }
  if (value < min) throw new ValidationError(field, value, `the duration cannot be less than ${minText}`);
  if (value > Number.MAX_SAFE_INTEGER) throw new ValidationError(field, value, "the duration is too large");
  return value;
}

/** An instant: a valid Date or a finite number of ms since the epoch, after 1970. */
function checkInstant(value: unknown, field: string): number {
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== "number" || !Number.isFinite(ms)) {
    throw new ValidationError(field, value, "expected a valid Date or a finite number of ms since the epoch");
  }
  if (ms < 0 || ms > MAX_INSTANT_MS) throw new ValidationError(field, value, "the instant is out of range");
  return ms;
}

function checkHeaders(value: unknown, field: string): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ValidationError(field, value, "headers must be an object of strings");
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string")
      throw new ValidationError(`${field}.${k}`, v, "a header value must be a string");
    checkWellFormed(k, `${field} key`);
    checkWellFormed(v, `${field}.${k}`);
    // defineProperty, so that a header named "__proto__" is stored as data.
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
