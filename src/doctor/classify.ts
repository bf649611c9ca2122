// Recognises the keys of the asynq data model (wire-format §1.2, §1.3) by name, for the doctor's scan.

/** A global key of the data model (wire-format §1.2). */
type GlobalKeyKind =
  "queues" | "registry" | "server" | "workers" | "scheduler-entries" | "scheduler-history" | "semaphore";

/** A per-queue key of the data model (wire-format §1.3). */
type QueueKeyKind =
  | "task"
  | "list"
  | "zset"
  | "lease"
  | "paused"
  | "total-counter"
  | "daily-counter"
  | "lock"
  | "groups"
  | "group"
  | "aggregation-set"
  | "aggregation-sets"
  // asynq-ts only: a periodic entry's last enqueued tick (src/wire/keys.ts schedulerTickKey).
  | "scheduler-tick"
  // asynq-ts only: the queue's event stream and its listeners' marker (src/wire/keys.ts eventsKey).
  | "events"
  | "events-listening";

/** What a key is, by its name. */
export type KeyClass =
  | { scope: "global"; kind: GlobalKeyKind; type: string }
  | {
      scope: "queue";
      queue: string;
      kind: QueueKeyKind;
      /** The Redis type the data model gives it. */
      type: string;
      /** Task ID (task), container name (list, zset), group name (group, aggregation-set). */
      name: string;
      /** Day of a daily counter (`YYYY-MM-DD`). */
      day?: string;
    }
  | { scope: "unknown" };

const UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
const AGGREGATION_SET = new RegExp(`^g:(.+):(${UUID})$`);
const DAILY = /^(processed|failed):(\d{4}-\d{2}-\d{2})$/;

const GLOBAL: Record<string, { kind: GlobalKeyKind; type: string }> = {
  "asynq:queues": { kind: "queues", type: "set" },
  "asynq:servers": { kind: "registry", type: "zset" },
  "asynq:workers": { kind: "registry", type: "zset" },
  "asynq:schedulers": { kind: "registry", type: "zset" },
};

const GLOBAL_PREFIXES: Array<[string, GlobalKeyKind, string]> = [
  ["asynq:servers:{", "server", "string"],
  ["asynq:workers:{", "workers", "hash"],
  ["asynq:schedulers:{", "scheduler-entries", "list"],
  ["asynq:scheduler_history:", "scheduler-history", "zset"],
  // The optional x/rate semaphore module of asynq.
  ["asynq:sema:", "semaphore", "zset"],
];

/**
 * Classifies a key by its name. The queue of `asynq:{<q>}:...` is the text up to the first `}:`,
 * unless a longer prefix names a queue in `known` (Go accepts queue names containing `}`).
 */
export function classifyKey(key: string, known: ReadonlySet<string>): KeyClass {
  if (!key.startsWith("asynq:{")) return classifyGlobalKey(key);
  let first: KeyClass | undefined;
  for (let end = key.indexOf("}:", 7); end >= 0; end = key.indexOf("}:", end + 1)) {
    const queue = key.slice(7, end);
    const found = classifyQueueKey(queue, key.slice(end + 2));
    if (known.has(queue) && found.scope !== "unknown") return found;
    first ??= found;
  }
  return first ?? { scope: "unknown" };
}

/** Classifies a key that does not start with `asynq:{`. */
function classifyGlobalKey(key: string): KeyClass {
  const global = GLOBAL[key];
  if (global !== undefined) return { scope: "global", ...global };
  for (const [prefix, kind, type] of GLOBAL_PREFIXES) {
    if (key.startsWith(prefix) && key.length > prefix.length) return { scope: "global", kind, type };
  }
  return { scope: "unknown" };
}

/** Classifies the part of a per-queue key after `asynq:{<q>}:`. */
function classifyQueueKey(queue: string, rest: string): KeyClass {
  const of = (kind: QueueKeyKind, type: string, name = rest, day?: string): KeyClass => ({
    scope: "queue",
    queue,
    kind,
    type,
    name,
    ...(day === undefined ? {} : { day }),
  });
  if (queue === "") return { scope: "unknown" };
  if (rest.startsWith("t:") && rest.length > 2) return of("task", "hash", rest.slice(2));
  switch (rest) {
    case "pending":
    case "active":
      return of("list", "list");
    case "scheduled":
    case "retry":
    case "archived":
    case "completed":
      return of("zset", "zset");
    case "lease":
      return of("lease", "zset");
    case "paused":
      return of("paused", "string");
    case "processed":
    case "failed":
      return of("total-counter", "string");
    case "groups":
      return of("groups", "set");
    case "aggregation_sets":
      return of("aggregation-sets", "zset");
    case "events":
      return of("events", "stream");
    case "events:listening":
      return of("events-listening", "string");
  }
  if (rest.startsWith("unique:")) return of("lock", "string");
  if (rest.startsWith("scheduler_tick:") && rest.length > 15)
    return of("scheduler-tick", "string", rest.slice(15));
  const daily = DAILY.exec(rest);
  if (daily !== null) return of("daily-counter", "string", daily[1], daily[2]);
  const set = AGGREGATION_SET.exec(rest);
  if (set !== null) return of("aggregation-set", "zset", set[1]);
  if (rest.startsWith("g:") && rest.length > 2) return of("group", "zset", rest.slice(2));
  return { scope: "unknown" };
}

/** Escapes a string for a SCAN MATCH pattern (glob: `*`, `?`, `[`, `]`, `\`). */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
