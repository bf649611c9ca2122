// Every Redis key name of the asynq data model (wire-format §1). The only place that builds key strings.

/** Global key prefix shared by every asynq key. */
export const KEY_PREFIX = "asynq:";
/** SET of every queue name ever enqueued to (wire-format §1.2). */
export const ALL_QUEUES = "asynq:queues";
/** ZSET of server-info keys, scored by expiry (unix s). */
export const ALL_SERVERS = "asynq:servers";
/** ZSET of worker hash keys, scored by expiry (unix s). */
export const ALL_WORKERS = "asynq:workers";
/** ZSET of scheduler-entry list keys, scored by expiry (unix s). */
export const ALL_SCHEDULERS = "asynq:schedulers";
/** Pub/Sub channel carrying task IDs to cancel. */
export const CANCEL_CHANNEL = "asynq:cancel";

/** The seven task states; each (but active and aggregating) is also the name of its container key. */
export type TaskState =
  "pending" | "active" | "scheduled" | "retry" | "archived" | "completed" | "aggregating";
export const TASK_STATES: readonly TaskState[] = [
  "pending",
  "active",
  "scheduled",
  "retry",
  "archived",
  "completed",
  "aggregating",
];

/** `asynq:{<q>}:`, the per-queue prefix; the braces make every key of a queue share one cluster slot. */
export function queuePrefix(queue: string): string {
  return `asynq:{${queue}}:`;
}
/** `asynq:{<q>}:t:`, the prefix of task hash keys. */
export function taskKeyPrefix(queue: string): string {
  return `asynq:{${queue}}:t:`;
}
/** `asynq:{<q>}:t:<id>`, the task hash. */
export function taskKey(queue: string, id: string): string {
  return `asynq:{${queue}}:t:${id}`;
}
export function pendingKey(queue: string): string {
  return `asynq:{${queue}}:pending`;
}
export function activeKey(queue: string): string {
  return `asynq:{${queue}}:active`;
}
export function leaseKey(queue: string): string {
  return `asynq:{${queue}}:lease`;
}
export function scheduledKey(queue: string): string {
  return `asynq:{${queue}}:scheduled`;
}
export function retryKey(queue: string): string {
  return `asynq:{${queue}}:retry`;
}
export function archivedKey(queue: string): string {
  return `asynq:{${queue}}:archived`;
}
export function completedKey(queue: string): string {
  return `asynq:{${queue}}:completed`;
}
export function pausedKey(queue: string): string {
  return `asynq:{${queue}}:paused`;
}
/** All-time processed counter (no TTL). */
export function processedTotalKey(queue: string): string {
  return `asynq:{${queue}}:processed`;
}
/** All-time failed counter (no TTL). */
export function failedTotalKey(queue: string): string {
  return `asynq:{${queue}}:failed`;
}
/** Daily processed counter; `date` is a UTC instant whose calendar day names the key. */
export function processedKey(queue: string, date: Date): string {
  return `asynq:{${queue}}:processed:${dayString(date)}`;
}
/** Daily failed counter; `date` is a UTC instant whose calendar day names the key. */
export function failedKey(queue: string, date: Date): string {
  return `asynq:{${queue}}:failed:${dayString(date)}`;
}
/** SET of group names that have tasks waiting. */
export function allGroupsKey(queue: string): string {
  return `asynq:{${queue}}:groups`;
}
/** `asynq:{<q>}:g:`, the prefix of group keys. */
export function groupKeyPrefix(queue: string): string {
  return `asynq:{${queue}}:g:`;
}
/** ZSET of task IDs waiting in group `<g>`. */
export function groupKey(queue: string, group: string): string {
  return `asynq:{${queue}}:g:${group}`;
}
/** ZSET holding one aggregation run of group `<g>`. */
export function aggregationSetKey(queue: string, group: string, setId: string): string {
  return `asynq:{${queue}}:g:${group}:${setId}`;
}
/** ZSET of aggregation-set keys, scored by deadline. */
export function allAggregationSetsKey(queue: string): string {
  return `asynq:{${queue}}:aggregation_sets`;
}
/** Container key of a state stored under `P<state>` (pending, scheduled, retry, archived, completed). */
export function stateKey(queue: string, state: Exclude<TaskState, "active" | "aggregating">): string {
  return `asynq:{${queue}}:${state}`;
}
/** `asynq:servers:{<host>:<pid>:<sid>}`: the ServerInfo string. */
export function serverInfoKey(host: string, pid: number, serverId: string): string {
  return `asynq:servers:{${host}:${pid}:${serverId}}`;
}
/** `asynq:workers:{<host>:<pid>:<sid>}`: the WorkerInfo hash. */
export function workersKey(host: string, pid: number, serverId: string): string {
  return `asynq:workers:{${host}:${pid}:${serverId}}`;
}
/** `asynq:schedulers:{<schedID>}`: the SchedulerEntry list. */
export function schedulerEntriesKey(schedulerId: string): string {
  return `asynq:schedulers:{${schedulerId}}`;
}
/** `asynq:scheduler_history:<entryID>`: the SchedulerEnqueueEvent zset (no hash tag, as in Go). */
export function schedulerHistoryKey(entryId: string): string {
  return `asynq:scheduler_history:${entryId}`;
}
/**
 * `asynq:{<q>}:scheduler_tick:<identity>`: asynq-ts only, not in asynq's data model. The last tick of a
 * periodic entry that any asynq-ts scheduler enqueued into queue `q` ("<unix s> <task ID>", with a TTL),
 * so that several schedulers enqueue each tick once (docs/compatibility.md). In the queue's hash slot,
 * so the enqueue script writes it together with the task.
 */
export function schedulerTickKey(queue: string, identity: string): string {
  return `asynq:{${queue}}:scheduler_tick:${identity}`;
}

/**
 * `asynq:{<q>}:events`: asynq-ts only, not in asynq's data model. The queue's event stream (completed,
 * retry, archived, expired, revoked, progress) read by QueueEvents and Client.waitForResult; written by
 * the scripts only while {@link eventsListeningKey} exists; about 10,000 entries at most (XADD MAXLEN ~),
 * expiring 10 minutes after its last entry (src/broker/lua/events.lua).
 */
export function eventsKey(queue: string): string {
  return `asynq:{${queue}}:events`;
}

/**
 * `asynq:{<q>}:events:listening`: asynq-ts only. Exists while someone listens to the queue's events:
 * each listener sets it with a short TTL and refreshes it (src/broker/events).
 */
export function eventsListeningKey(queue: string): string {
  return `asynq:{${queue}}:events:listening`;
}

const DAY_MS = 86_400_000;
/** The last day named, and the instants it covers (`[from, to)`): a busy worker names one day all day. */
let lastDay = { name: "", from: 0, to: 0 };

/** `YYYY-MM-DD` of the instant in UTC (wire-format §1.6). @throws RangeError for an invalid date. */
export function dayString(date: Date): string {
  const t = date.getTime();
  if (t >= lastDay.from && t < lastDay.to) return lastDay.name;
  const name = date.toISOString().slice(0, 10);
  const from = Math.floor(t / DAY_MS) * DAY_MS;
  lastDay = { name, from, to: from + DAY_MS };
  return name;
}
