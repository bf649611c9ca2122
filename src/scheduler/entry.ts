// A registered periodic entry: its validated spec, task and options, the option strings Go's tools
// read (wire-format §6.3), its identity across schedulers, and its SchedulerEntry record (§2.4).
import { createHash, randomUUID } from "node:crypto";
import { encodePayload } from "../client/payload.js";
import { resolveTask, type EnqueueOptions } from "../client/options.js";
import { ValidationError } from "../errors.js";
import type { Task } from "../task.js";
import { GO_ZERO_TIME_SECONDS, type SchedulerEntry, type Timestamp } from "../wire/messages.js";
import { formatOption, type OptionValue } from "../wire/option-strings.js";
import { newSchedulerEntry } from "../wire/proto.js";
import { parseCronSpec, type Schedule } from "./cronspec.js";

/** One periodic entry of a scheduler. `next` and `prev` are kept by the ticker. */
export interface Entry {
  /** UUID v4, new for each registration (as asynq's); names the history key. */
  readonly id: string;
  readonly schedule: Schedule;
  readonly task: Task;
  /** The options given to `register` (they override the task's own). */
  readonly options: EnqueueOptions;
  /** `Option.String()` of each option given to `register`, in order (wire-format §2.4 field 5). */
  readonly optionStrings: readonly string[];
  /** The payload bytes (empty for none). */
  readonly payload: Uint8Array;
  /**
   * SHA-256 (hex) of the spec, its time zone, the task and every option: the same in every
   * scheduler that registers the same entry, so their ticks share one marker.
   */
  readonly identity: string;
  /** The next tick (ms), or null when the entry is not started or never fires again. */
  next: number | null;
  /** The last tick fired (ms), or null. */
  prev: number | null;
}

/** What `register` receives, and what a PeriodicTaskManager's provider lists. */
export interface PeriodicTaskConfig {
  cronspec: string;
  task: Task;
  options?: EnqueueOptions;
}

/**
 * Validates a registration and builds its entry (not started: no next tick yet).
 * @param location the scheduler's time zone, for specs without a `CRON_TZ=` prefix.
 * @param path how the registration is named in errors: "" for `register`'s own arguments
 *   (`cronspec`, `task.type`, `options.queue`), `configs[3].` for a provider's list.
 * @throws ValidationError naming the spec or the field at fault (nothing is registered).
 */
export function buildEntry(
  config: PeriodicTaskConfig,
  location: string,
  nowMs: number,
  path = "",
  id: string = randomUUID(),
): Entry {
  const schedule = parseCronSpec(config.cronspec, location, `${path}cronspec`);
  const options = config.options ?? {};
  // The client's validation, once now: a task that cannot be enqueued is refused at register.
  try {
    resolveTask(config.task, config.options, nowMs, `${path}task`);
  } catch (error) {
    // The client names the options of the call `options.<name>`: here they are `<path>options.<name>`.
    if (path === "" || !(error instanceof ValidationError) || !error.field.startsWith("options")) throw error;
    throw new ValidationError(`${path}${error.field}`, error.value, error.reason, { cause: error });
  }
  const payload = encodePayload(config.task.payload, `${path}task.payload`) ?? new Uint8Array(0);
  const optionStrings = formatOptions(options);
  const identity = hashOf(schedule, config.task, payload, optionStrings);
  return {
    id,
    schedule,
    task: config.task,
    options,
    optionStrings,
    payload,
    identity,
    next: null,
    prev: null,
  };
}

/**
 * The stable hash of a registration (hex SHA-256), as the PeriodicTaskManager compares configs:
 * asynq's (spec, type, payload and the sorted option strings) plus the time zone, the task's headers
 * and its own options.
 * @throws ValidationError as `buildEntry`.
 */
export function configHash(config: PeriodicTaskConfig, location: string, nowMs: number, path = ""): string {
  return buildEntry(config, location, nowMs, path, "").identity;
}

function hashOf(
  schedule: Schedule,
  task: Task,
  payload: Uint8Array,
  optionStrings: readonly string[],
): string {
  const headers = Object.entries(task.headers ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const own = formatOptions(task.options ?? {});
  const canonical = JSON.stringify([
    schedule.spec,
    // @every ignores the zone: schedulers in different locations share its ticks.
    schedule.everyMs === undefined ? schedule.timeZone : "",
    task.type,
    Buffer.from(payload).toString("base64"),
    headers,
    [...own].sort(),
    [...optionStrings].sort(),
  ]);
  return createHash("sha256").update(canonical).digest("hex");
}

/** The `Option.String()` forms of enqueue options, in the order given (wire-format §6.3). */
export function formatOptions(options: EnqueueOptions): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(options) as Array<[keyof EnqueueOptions, unknown]>) {
    if (value === undefined) continue;
    for (const option of optionValues(name, value)) out.push(formatOption(option));
  }
  return out;
}

/** The asynq options an enqueue option stands for (one per header). Values are validated already. */
function optionValues(name: keyof EnqueueOptions, value: unknown): OptionValue[] {
  switch (name) {
    case "queue":
      return [{ kind: "Queue", value: value as string }];
    case "maxRetry":
      return [{ kind: "MaxRetry", value: value as number }];
    case "timeout":
      return [{ kind: "Timeout", ms: value as number }];
    case "deadline":
      return [{ kind: "Deadline", at: new Date(value as Date | number) }];
    case "processAt":
      return [{ kind: "ProcessAt", at: new Date(value as Date | number) }];
    case "processIn":
      return [{ kind: "ProcessIn", ms: value as number }];
    case "unique":
      return [{ kind: "Unique", ms: value as number }];
    case "taskId":
      return [{ kind: "TaskID", value: value as string }];
    case "retention":
      return [{ kind: "Retention", ms: value as number }];
    case "group":
      return [{ kind: "Group", value: value as string }];
    case "headers":
      return Object.entries(value as Record<string, string>).map(([k, v]) => ({
        kind: "Header",
        key: k,
        value: v,
      }));
  }
}

/** A Timestamp of an instant in ms; Go's zero time for null (wire-format §2.6.8). */
export function timestampOf(ms: number | null): Timestamp {
  if (ms === null) return { seconds: GO_ZERO_TIME_SECONDS, nanos: 0 };
  const seconds = Math.floor(ms / 1000);
  return { seconds: BigInt(seconds), nanos: Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1e6)) };
}

/** The SchedulerEntry record of an entry, as the heartbeat writes it (wire-format §2.4). */
export function toSchedulerEntry(entry: Entry): SchedulerEntry {
  return newSchedulerEntry({
    id: entry.id,
    spec: entry.schedule.spec,
    taskType: entry.task.type,
    taskPayload: entry.payload,
    enqueueOptions: [...entry.optionStrings],
    nextEnqueueTime: timestampOf(entry.next),
    prevEnqueueTime: timestampOf(entry.prev),
  });
}
