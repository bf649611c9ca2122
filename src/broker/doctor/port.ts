// The doctor's port: every Redis read, atomic re-read and repair the doctor needs, with no Redis types in
// it. src/doctor/ depends on this interface only (opened by open.ts), so a test can wrap the real one.

/** A container of task IDs and how to test membership in it. */
export interface ContainerRef {
  key: string;
  type: "list" | "zset";
  /**
   * For a list: the index the ID was read at. Membership is then tested with LINDEX (cheap) instead
   * of LPOS (O(N)); an ID that moved since reads as not a member.
   */
  at?: number;
}

/** The fields of a task hash the doctor judges. */
export interface TaskFields {
  /** False when the key does not exist (deleted since it was listed). */
  exists: boolean;
  /** The Redis type when the key is not a hash (then every field is null). */
  wrongType: string | null;
  state: string | null;
  msg: Buffer | null;
  group: string | null;
  uniqueKey: string | null;
}

/** {@link TaskFields} plus membership in the containers asked for, read atomically (MULTI). */
export interface TaskSnapshot extends TaskFields {
  /** One per container asked for, in order. */
  member: boolean[];
}

/** A lock and its owner's hash, read atomically (MULTI). */
export interface LockSnapshot {
  /** The lock's value (the owning task ID), null when the lock is gone. */
  value: string | null;
  owner: TaskFields;
}

/** Where an orphaned task goes back: its state's container, and how it is added. */
export type RestoreTarget =
  | { mode: "list"; key: string }
  | { mode: "active"; key: string; leaseKey: string; leaseExpiresAtSeconds: number }
  | { mode: "zset"; key: string; score: number }
  | { mode: "group"; key: string; groupsKey: string; group: string; score: number };

/** What an ID's container needs tidied when the ID leaves it: its lease entry, or the group's registration. */
export type Companion = { kind: "lease"; key: string } | { kind: "groups"; key: string; group: string };

/** A task hash as the audit read it, which a repair requires unchanged. */
export interface ObservedTask {
  state: string | null;
  msg: Buffer | null;
  group: string | null;
}

/** A lock owner's hash as the audit read it, which releasing the lock requires unchanged. */
export interface ObservedOwner {
  exists: boolean;
  state: string | null;
  msg: Buffer | null;
  uniqueKey: string | null;
}

/** Read-only, non-atomic reads: SCAN batches, pipelined task reads, chunked container reads. */
interface DoctorReads {
  /** One SCAN step: `[next cursor, keys]`; cursor "0" ends the iteration. */
  scanKeys(cursor: string, match: string, count: number): Promise<[string, string[]]>;
  /** state, msg, group and unique_key of each task hash, all of one queue. */
  readTaskFields(taskKeys: readonly string[]): Promise<TaskFields[]>;
  /** The `state` and `group` fields of each task hash, all of one queue (`exists` false when missing). */
  readStatesAndGroups(taskKeys: readonly string[]): Promise<TaskFields[]>;
  /** The `state` field of each task hash (null when missing or not a hash). */
  readStates(taskKeys: readonly string[]): Promise<Array<string | null>>;
  /** The Redis type of each key ("none" when gone). */
  keyTypes(keys: readonly string[]): Promise<string[]>;
  /** PTTL of each key: -1 no TTL, -2 gone. */
  ttls(keys: readonly string[]): Promise<number[]>;
  /** GET of each key (null when missing or not a string). */
  readStrings(keys: readonly string[]): Promise<Array<string | null>>;
  /** EXISTS of each key. */
  existing(keys: readonly string[]): Promise<boolean[]>;
  /** For each `[zset, ids]` group, whether each ID is a member. */
  zsetMembership(groups: ReadonlyArray<readonly [string, readonly string[]]>): Promise<boolean[][]>;
  /** LRANGE of `count` members from `start`. */
  listChunk(key: string, start: number, count: number): Promise<string[]>;
  /** One ZSCAN step over a zset: `[next cursor, members, scores]`. */
  zsetChunk(key: string, cursor: string, count: number): Promise<[string, string[], number[]]>;
  /** Every member of a small set (`groups`, `asynq:queues`). */
  setMembers(key: string): Promise<string[]>;
  /** Every member of a small zset (`aggregation_sets`). */
  zsetMembers(key: string): Promise<string[]>;
  /** LLEN or ZCARD of each container (0 when missing or of another type). */
  containerSizes(containers: readonly ContainerRef[]): Promise<number[]>;
  /** asynq's memory estimate of a queue, in bytes (rejects where MEMORY USAGE is refused). */
  memoryEstimate(queue: string): Promise<number>;
}

/** Atomic re-reads (one MULTI per item) of a suspect before it is reported. */
interface DoctorSnapshots {
  /** Each task's fields and its membership in the given containers (LPOS on a list without `at`: O(N)). */
  snapshotTasks(
    items: ReadonlyArray<{ taskKey: string; id: string; containers: readonly ContainerRef[] }>,
  ): Promise<TaskSnapshot[]>;
  /** Whether each ID is in each of its containers. */
  memberships(
    items: ReadonlyArray<{ id: string; containers: readonly ContainerRef[] }>,
  ): Promise<boolean[][]>;
  /** Each lock and its owner's hash. */
  snapshotLocks(items: ReadonlyArray<{ lockKey: string; ownerKey: string }>): Promise<LockSnapshot[]>;
  /** For each group: whether `groups` names it and whether its zset exists. */
  groupStates(
    queue: string,
    names: readonly string[],
  ): Promise<Array<{ registered: boolean; filled: boolean }>>;
  /**
   * For each aggregation set: whether it exists, whether `aggregation_sets` holds it, and its deadline
   * there (unix seconds; Infinity for a finished set, null when unregistered).
   */
  aggregationSetStates(
    queue: string,
    setKeys: readonly string[],
  ): Promise<Array<{ registered: boolean; exists: boolean; deadlineSeconds: number | null }>>;
}

/**
 * Repairs (doctor --fix): each is one script that re-verifies the damage before it acts, and resolves
 * true when it acted, false when the damage was gone or the task had moved on.
 */
interface DoctorRepairs {
  /** Puts an orphaned task back into `target` while its state is still `state` and the container lacks it. */
  restoreTask(taskKey: string, id: string, state: string, target: RestoreTarget): Promise<boolean>;
  /**
   * Archives a corrupt task as it is while its fields are still as observed and no running lease holds it.
   * @param lockKey its uniqueness lock (released while it holds the ID), "" when unknown.
   */
  archiveAsIs(
    queue: string,
    id: string,
    observed: ObservedTask,
    lockKey: string,
    nowMs: number,
  ): Promise<"archived" | "leased" | "changed">;
  /** Removes an ID with no task hash from `container` (and its companion entry) while the hash is still missing. */
  removeDangling(
    container: ContainerRef,
    taskKey: string,
    id: string,
    companion?: Companion,
  ): Promise<boolean>;
  /** Removes an ID from `container` while the task's state is still `state` and `home` holds it. */
  removeMisplaced(
    container: ContainerRef,
    taskKey: string,
    id: string,
    state: string,
    home: ContainerRef,
    companion?: Companion,
  ): Promise<boolean>;
  /** Adds a lease expiring at `expiresAtMs` to an active task that has none. */
  addLease(queue: string, id: string, expiresAtMs: number): Promise<boolean>;
  /** Removes a lease entry while its ID is still not in active. */
  removeLease(queue: string, id: string): Promise<boolean>;
  /** Deletes a lock while it still holds `id` and the owner's hash is exactly as observed. */
  releaseLock(lockKey: string, ownerKey: string, id: string, owner: ObservedOwner): Promise<boolean>;
  /** Registers a non-empty group in `groups` ("add"), or drops the name of an empty one ("remove"). */
  fixGroup(queue: string, group: string, mode: "add" | "remove"): Promise<boolean>;
  /** Registers an aggregation set in `aggregation_sets` with a deadline of now (reclaimed at once). */
  registerAggregationSet(queue: string, setKey: string, nowMs: number): Promise<boolean>;
  /**
   * Reclaims one aggregation set past its deadline as the recoverer does (wire-format §4.22): its
   * tasks back into their group, the group into `groups`, the set deleted and unregistered.
   */
  reclaimAggregationSet(queue: string, setKey: string, nowMs: number): Promise<boolean>;
  /** Sets an expiry on a key that still has no TTL (a past time deletes it). */
  expireAt(key: string, atSeconds: number): Promise<boolean>;
  /** Removes a registry member while its expiry score is still `score`. */
  pruneRegistry(registry: string, member: string, score: number): Promise<boolean>;
  /** Adds a queue to `asynq:queues`. */
  registerQueue(queue: string): Promise<boolean>;
}

/**
 * Everything the doctor asks of Redis. Calls reject with the error Redis (or the connection) gave;
 * the doctor turns those into a BrokerError.
 */
export interface DoctorBroker extends DoctorReads, DoctorSnapshots, DoctorRepairs {
  /** How long a daily counter (`processed:<day>`, `failed:<day>`) lives from its first increment, in seconds. */
  readonly statsTtlSeconds: number;
  /**
   * Connects and checks the connection (reachable, authenticated, on its DB) before anything is read.
   * @throws ConnectionError when Redis cannot be reached or used.
   */
  connect(): Promise<void>;
  /** Closes the connection if the broker opened it (a connection passed in is left open). */
  close(): void;
}
