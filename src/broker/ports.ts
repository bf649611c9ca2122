// The broker's ports: what each consumer (client, processor, upkeep components, inspector, doctor) needs
// from Redis, declared once and with no Redis types, so that tests can wrap the real broker to inject
// faults. openBroker (broker.ts) implements all of them; the doctor's port is opened by doctor/open.ts.
import type { BrokerError } from "../errors.js";
import type {
  SchedulerEnqueueEvent,
  SchedulerEntry,
  ServerInfo,
  TaskMessage,
  WorkerInfo,
} from "../wire/messages.js";
import type { GroupSize, DayCounters, QueueStatsRecord } from "./admin/queues.js";
import type { ListedRecord, SeekCursor, SeekPage, TaskSource } from "./admin/list.js";
import type { BulkSource, MutationOutcome, ReplaceOutcome, TaskOp } from "./admin/mutate.js";
import type { QueueRemovalResult, RemovalRefusal } from "./admin/queue-removal.js";
import type { QueueSizes, TaskRecord } from "./admin/read.js";
import type { ClusterNode, RawEvent, RawRecord, RedisNodeInfo, ServerStateRecords } from "./admin/servers.js";
import type { FinishedTask } from "./fetch/dequeue.js";
import type { ForwardResult } from "./upkeep/forward.js";
import type {
  AggregationCheckRequest,
  AggregationMember,
  AggregationSetRef,
  DeleteMembersOutcome,
  FinishOutcome,
  MemberToDelete,
} from "./group/aggregation.js";
import type { CancelSubscription } from "./upkeep/pubsub.js";
import type { LeaseGuard, OrphanCandidate, QuarantineWrite, RecoverWrite } from "./upkeep/recover.js";

export type { DoctorBroker } from "./doctor/port.js";
export type { FinishedTask } from "./fetch/dequeue.js";
export type { QueueSizes, TaskRecord } from "./admin/read.js";
export type { LeaseGuard } from "./upkeep/recover.js";
export type {
  AggregationCheckRequest,
  AggregationMember,
  AggregationSetRef,
  DeleteMembersOutcome,
  FinishOutcome,
  MemberToDelete,
} from "./group/aggregation.js";

/** Where a new task goes, decided by the client (wire-format §5.13 routing). */
export type EnqueueTarget =
  { kind: "pending" } | { kind: "scheduled"; processAtSeconds: number } | { kind: "group"; group: string };

/** One task to write: its message, where it goes, and its lock TTL when unique. */
export interface EnqueueRequest {
  msg: TaskMessage;
  target: EnqueueTarget;
  /** Lock TTL in whole seconds (>= 1) when the task is unique; `msg.uniqueKey` names the lock. */
  uniqueTtlSeconds?: number;
}

/** What an enqueue script answered. */
export type EnqueueOutcome = "enqueued" | "duplicate" | "conflict";

/** Result of a write on an active task: `not-active` when it was no longer in active (nothing written). */
export type ActiveOutcome = "ok" | "not-active";

/**
 * A write on one active task. `fence` is the encoded TaskMessage as dequeued: when given, nothing is
 * written unless the stored message is still that one (a late write after the task was recovered
 * elsewhere is dropped).
 */
export interface ActiveTaskWrite {
  queue: string;
  id: string;
  /** When the write happens (ms): stamps daily counters and scores. */
  nowMs: number;
  fence?: Uint8Array;
}

/** {@link ProcessorPort.done} and {@link ProcessorPort.deleteActive}. */
export interface DeleteRequest extends ActiveTaskWrite {
  /** The task's lock key (msg.uniqueKey), "" when it has none. */
  uniqueKey: string;
  /** done: the task was revoked (RevokeTask), not completed (for the event stream). */
  revoked?: boolean;
  /** deleteActive: why it expired (for the event stream). */
  errorMsg?: string;
}

/** {@link ProcessorPort.markComplete}. */
export interface CompleteRequest extends ActiveTaskWrite {
  /** The TaskMessage with completed_at = completion time. */
  msg: TaskMessage;
  /**
   * The completed zset score: the absolute unix second at which the retention ends
   * (completed_at + retention), when the janitor may delete the task.
   */
  expirySeconds: number;
}

/** {@link ProcessorPort.retry}. */
export interface RetryRequest extends ActiveTaskWrite {
  /** The TaskMessage with retried, error_msg and last_failed_at updated. */
  msg: TaskMessage;
  /** When the retry is due (ms; stored as whole unix seconds). */
  retryAtMs: number;
  /** Whether the attempt counts as processed and failed (the server's `isFailure`). */
  counted: boolean;
}

/** {@link ProcessorPort.archive}. */
export interface ArchiveRequest extends ActiveTaskWrite {
  /** The TaskMessage with error_msg and last_failed_at updated. */
  msg: TaskMessage;
  /** The deadline ends the task (the event stream says `expired`). */
  expired?: boolean;
  /** The task never started: its deadline had passed when it was dequeued (no failed attempt). */
  unstarted?: boolean;
}

/** {@link ArchiveTrimPort.trimArchive}. */
export interface TrimArchiveRequest {
  queue: string;
  nowMs: number;
  /** The most archived tasks to keep, an integer >= 0 (resolved by the server config or the Inspector's options). */
  maxSize: number;
  /** How long an archived task is kept, in ms. */
  maxAgeMs: number;
}

/** {@link ProcessorPort.dequeue}. */
export interface DequeueRequest {
  queue: string;
  /** The most tasks to move to active; 0 only writes `finished`. */
  max: number;
  /** When the leases written by the dequeue run out (ms). */
  leaseExpiresAtMs: number;
  /** Successes to write first (as {@link ProcessorPort.done}). */
  finished?: readonly FinishedTask[];
  /** When the successes happen (ms). @defaultValue Date.now() */
  nowMs?: number;
  /** Also read when each claimed task became pending ({@link DequeuedTask.pendingSince}). @defaultValue false */
  withPendingSince?: boolean;
}

/** A write of the recoverer on a task whose worker is gone: applied only while `guard` holds. */
export interface RecoverWriteRequest {
  queue: string;
  id: string;
  nowMs: number;
  guard: LeaseGuard;
}

/** {@link RecoverPort.recoverRetry}. */
export interface RecoverRetryRequest extends RecoverWriteRequest {
  msg: TaskMessage;
  /** When the retry is due (ms). */
  retryAtMs: number;
  /** Whether the lost attempt counts as processed and failed. */
  counted: boolean;
}

/** {@link RecoverPort.recoverArchive}. */
export interface RecoverArchiveRequest extends RecoverWriteRequest {
  msg: TaskMessage;
  /** The deadline ends the task (the event stream says `expired`). */
  expired?: boolean;
}

/** {@link QueueAdminPort.removeQueue}. */
export interface RemoveQueueRequest {
  queue: string;
  /** Remove it even when it holds tasks (active ones still refuse it). */
  force: boolean;
  nowMs: number;
}

/** {@link TaskAdminPort.replaceTaskMessage}. */
export interface ReplaceMessageRequest {
  queue: string;
  id: string;
  /** The stored message as read: nothing is written if it changed since. */
  expected: Uint8Array;
  next: Uint8Array;
  /** States the task must be in. */
  states: readonly string[];
}

/** Opening and closing the connection, shared by every port that owns one. */
export interface ConnectionPort {
  /**
   * Opens the connection and checks it (reachable, authenticated, on its DB) unless that was done;
   * every other call does it first. Nothing is written before it succeeds.
   * @throws ConnectionError naming the address, DB and cause when Redis cannot be reached or used.
   */
  connect(op: string): Promise<void>;
  /** Releases the connections the broker owns. */
  close(): Promise<void>;
}

/** What the Client needs. */
/** One entry of a queue's event stream: its stream ID and its fields (`event`, `id`, and per event more). */
export interface StreamEntry {
  streamId: string;
  fields: Record<string, Uint8Array>;
}

/** A queue's event stream (asynq-ts only; see src/broker/lua/events.lua). */
export interface EventStreamPort {
  readonly queue: string;
  /** Says someone listens, for `ttlMs`: the scripts write events meanwhile. Refresh it before it ends. */
  listen(ttlMs: number): Promise<void>;
  /** The ID of the stream's last entry ("0-0" when there is none): read after it for what comes next. */
  lastId(): Promise<string>;
  /** Up to `count` entries after `afterId`, waiting up to `blockMs` for one (on its own connection). */
  read(afterId: string, blockMs: number, count: number): Promise<StreamEntry[]>;
  /** What XINFO STREAM says of the stream; undefined when it does not exist. */
  info(): Promise<StreamInfo | undefined>;
  /** Drops the blocking connection; a read in flight rejects. */
  close(): void;
}

/** A stream's position and counts (XINFO STREAM). */
export interface StreamInfo {
  /** The ID of its newest entry ever ("0-0" for none): reading after it gives only entries to come. */
  lastGeneratedId: string;
  /** Entries in it now. */
  length: number;
  /** The ID of its oldest entry now; undefined when it is empty. */
  firstId: string | undefined;
  /** Entries ever added to it (trimmed ones included); undefined before Redis 7.0. */
  entriesAdded: number | undefined;
}

/** What a waiter needs to know of a task now: its state, result and last error. */
export interface TaskOutcomeRecord {
  /** The hash's `state`; null when the task does not exist. */
  state: string | null;
  result: Uint8Array | null;
  /** The last error recorded in its message ("" when none or unreadable). */
  errorMsg: string;
}

/** Reading a queue's events and the state of the tasks they name (QueueEvents, Client.waitForResult). */
export interface EventsPort {
  /** A reader of `queue`'s event stream (its blocking connection opens on the first read). */
  openEvents(queue: string): EventStreamPort;
  /** The task's state, result and last error. */
  readTaskOutcome(queue: string, id: string): Promise<TaskOutcomeRecord>;
}

export interface ClientPort extends ConnectionPort, EventsPort {
  /** Writes one task. `nowMs` stamps `pending_since` and group scores. */
  enqueue(req: EnqueueRequest, nowMs: number): Promise<EnqueueOutcome>;
  /**
   * Writes many tasks in one round trip. Each task is written atomically on its own; the result
   * at index i is the outcome of request i, or the error that stopped it.
   */
  enqueueBatch(reqs: readonly EnqueueRequest[], nowMs: number): Promise<Array<EnqueueOutcome | BrokerError>>;
}

/** A task moved from pending to active by {@link ProcessorPort.dequeue}. */
export interface DequeuedTask {
  queue: string;
  id: string;
  /** The encoded TaskMessage; null when the hash has no `msg` field (a corrupt task). */
  msg: Uint8Array | null;
  /** When the lease written by the dequeue runs out (ms; whole seconds, as stored in Redis). */
  leaseExpiresAt: number;
  /** When it became pending (ms), when asked for ({@link DequeueRequest.withPendingSince}) and known. */
  pendingSince?: number;
}

/** What a dequeue did. */
export interface DequeueResult {
  tasks: DequeuedTask[];
  /** The queue is paused; nothing was moved. */
  paused: boolean;
  /** IDs found in pending with no task data; removed from pending. */
  dangling: string[];
  /** Per finished task given to the dequeue, in order: what its success write did. */
  finished: ActiveOutcome[];
}

/** Deletes the oldest archived tasks of a queue beyond its limits. */
export interface ArchiveTrimPort {
  /** Deletes the oldest archived tasks beyond `maxSize` or older than `maxAgeMs`, with their data; returns how many. */
  trimArchive(req: TrimArchiveRequest): Promise<number>;
}

/** Extends the leases of running tasks (the processor and the heartbeater). */
export interface LeasePort {
  /** Extends the leases of active tasks (wire-format §4.18). */
  extendLease(queue: string, ids: readonly string[], leaseExpiresAtMs: number): Promise<void>;
}

/**
 * What the processor (fetch loop, executor, outcomes, finisher) needs. The writes on an active task
 * take `fence`, the encoded message as dequeued: nothing is written unless the stored message is still
 * that one, so a late write after the task was recovered cannot apply twice.
 */
export interface ProcessorPort extends ArchiveTrimPort, LeasePort {
  /**
   * Writes the success of `finished` tasks of the queue (as {@link ProcessorPort.done}, at `nowMs`), then
   * moves up to `max` oldest pending tasks to active, leased until `leaseExpiresAtMs` (wire-format §4.10),
   * in one round trip when it can. `max` 0 only writes the finished tasks.
   */
  dequeue(req: DequeueRequest): Promise<DequeueResult>;
  /** Success without retention, or RevokeTask: deletes the task (wire-format §4.11). */
  done(req: DeleteRequest): Promise<ActiveOutcome>;
  /** Success with retention: keeps the task as completed until `expirySeconds` (wire-format §4.12). */
  markComplete(req: CompleteRequest): Promise<ActiveOutcome>;
  /** Schedules a retry at `retryAtMs` (wire-format §4.14). */
  retry(req: RetryRequest): Promise<ActiveOutcome>;
  /** Archives the task and releases its unique lock (wire-format §4.15, without trimming). */
  archive(req: ArchiveRequest): Promise<ActiveOutcome>;
  /** Puts an active task back at the front of pending (wire-format §4.13). */
  requeue(queue: string, id: string, fence?: Uint8Array): Promise<ActiveOutcome>;
  /** Archives an active task whose message cannot be read, leaving its data as it is. */
  quarantine(queue: string, id: string, nowMs: number): Promise<ActiveOutcome>;
  /** Deletes an active task, counting it as failed (an expired task with `onExpired: "delete"`). */
  deleteActive(req: DeleteRequest): Promise<ActiveOutcome>;
  /** Stores a task's result; `not-found` when the task no longer exists. */
  writeResult(queue: string, id: string, bytes: Uint8Array): Promise<"ok" | "not-found">;
  /**
   * Stores a running task's progress (JSON text) in its hash, and tells the queue's listeners;
   * "not-active" (nothing written) when it is no longer active with the message `fence`.
   */
  writeProgress(queue: string, id: string, json: string, fence: Uint8Array): Promise<"ok" | "not-active">;
  /** Reads a task record (to tell a write that was skipped from one whose reply was lost). */
  getTaskRecord(queue: string, id: string): Promise<TaskRecord>;
  /** Resolves when one of the queues has a pending task, or after about `timeoutMs`. */
  waitForPending(queues: readonly string[], timeoutMs: number): Promise<void>;
  /**
   * How many times the connection has dropped so far. A call that overlapped a drop may have run in
   * Redis with its reply lost (and been sent again by ioredis): callers compare the count before and
   * after a write to tell "skipped" from "applied, reply lost".
   */
  connectionDrops(): number;
}

/** What the forwarder needs. */
export interface ForwardPort {
  /**
   * Moves every task of `queues` due at `nowMs` from scheduled, then retry, to pending or to its
   * group (wire-format §4.16); one round trip when nothing is due.
   * @throws Error when Redis cannot be reached (per-queue failures are reported in the result).
   */
  forwardDue(queues: readonly string[], nowMs: number): Promise<ForwardResult>;
}

/** What the recoverer needs; every write applies only while its guard holds. */
export interface RecoverPort {
  /** Up to `limit` tasks whose lease ran out at or before `cutoffMs`, oldest first, after `offset` (wire-format §4.18). */
  listLeaseExpired(
    queue: string,
    cutoffMs: number,
    offset: number,
    limit: number,
  ): Promise<OrphanCandidate[]>;
  /** IDs in the active list that have no lease at all. */
  listUnleased(queue: string): Promise<string[]>;
  /** The encoded msg of each task (null when absent). */
  readMessages(queue: string, ids: readonly string[]): Promise<Array<Uint8Array | null>>;
  /** Retry for a recovered task, if `guard` still holds (wire-format §5.8). */
  recoverRetry(req: RecoverRetryRequest): Promise<RecoverWrite>;
  /** Archive for a recovered task, if `guard` still holds; releases its lock. */
  recoverArchive(req: RecoverArchiveRequest): Promise<RecoverWrite>;
  /** Archives a recovered task whose msg is unreadable, or removes a dangling ID, if `guard` still holds. */
  recoverQuarantine(req: RecoverWriteRequest): Promise<QuarantineWrite>;
}

/** What the janitor needs. */
export interface JanitorPort extends ArchiveTrimPort {
  /**
   * Deletes the completed tasks of `queue` whose retention ended at or before `nowMs`, with their
   * data, in script calls of at most `batchSize` tasks (wire-format §4.17); returns how many.
   */
  deleteExpiredCompleted(queue: string, nowMs: number, batchSize: number): Promise<number>;
}

/** What the heartbeater needs. */
export interface HeartbeatPort extends LeasePort {
  /**
   * Writes the ServerInfo and one WorkerInfo per running task, with a TTL of `ttlSeconds`, and
   * registers both keys in `asynq:servers` / `asynq:workers` until `nowMs` + TTL (wire-format §4.25).
   */
  writeServerState(
    info: ServerInfo,
    workers: readonly WorkerInfo[],
    nowMs: number,
    ttlSeconds: number,
  ): Promise<void>;
  /** Removes the server's state (wire-format §4.25, at shutdown). */
  clearServerState(host: string, pid: number, serverId: string): Promise<void>;
}

/** What the subscriber needs. */
export interface SubscriberPort {
  /** Listens for cancelations on a dedicated connection that re-subscribes by itself. */
  subscribeCancel(
    onCancel: (id: string) => void,
    onState: (event: "subscribed" | "error", error?: Error) => void,
  ): CancelSubscription;
}

/** What the health check needs. */
export interface HealthPort {
  /** PING, failing after `timeoutMs` when Redis does not answer. */
  ping(timeoutMs: number): Promise<void>;
  /**
   * Replaces the connection if it looks alive but did not answer (a failed health check); only a
   * connection the broker owns, and at most once per `commandTimeout`.
   */
  resetConnection(reason: Error): void;
}

/** What the server's background components (forwarder, recoverer, janitor, heartbeater, subscriber, health check) need. */
export interface UpkeepPort
  extends ForwardPort, RecoverPort, JanitorPort, HeartbeatPort, SubscriberPort, HealthPort {}

/**
 * What the aggregator needs (wire-format §4.19 to §4.23, §5.12), and the recoverer's share of it
 * (reclaiming stale sets, finishing the deletion of sets whose task was written).
 */
export interface AggregatorPort {
  /** The groups named in `asynq:{<q>}:groups` (wire-format §4.23). */
  listGroups(queue: string): Promise<string[]>;
  /** The aggregation check of one group: the set it created, or null (wire-format §4.19). */
  checkGroup(req: AggregationCheckRequest): Promise<AggregationSetRef | null>;
  /** Up to `count` members of a set from rank `start`, oldest first, with their msg (wire-format §4.20). */
  readAggregationSet(
    queue: string,
    setKey: string,
    start: number,
    count: number,
  ): Promise<AggregationMember[]>;
  /** Up to `count` member IDs of a set from rank `start`, oldest first. */
  aggregationSetIds(setKey: string, start: number, count: number): Promise<string[]>;
  /**
   * Writes the aggregated task as pending into `msg.queue` and marks the set finished, in one step, if
   * the set is still the check's: `lost` when it was reclaimed meanwhile, `conflict` on a task ID
   * conflict (nothing written either way).
   */
  finishAggregation(set: AggregationSetRef, msg: TaskMessage, nowMs: number): Promise<FinishOutcome>;
  /** Deletes members of a finished set, releasing their locks; unregisters the set once empty. */
  deleteAggregatedMembers(
    queue: string,
    setKey: string,
    members: readonly MemberToDelete[],
  ): Promise<DeleteMembersOutcome>;
  /** Finished sets whose members are still to be deleted (a worker died while deleting them). */
  listFinishedAggregationSets(queue: string): Promise<string[]>;
  /** Puts the members of sets past their deadline back into their group, and the group into `groups`. */
  reclaimStaleAggregationSets(queue: string, nowMs: number): Promise<number>;
}

/** What the Server needs: the processor's port, the upkeep components' port and the connection. */
export interface ServerPort extends ConnectionPort, ProcessorPort, UpkeepPort, AggregatorPort {}

/** What the inspector's queue operations (src/inspector/queues.ts) need. */
export interface QueueAdminPort {
  /** Names of every registered queue. */
  queues(): Promise<string[]>;
  /** Counts, counters, pause flag, latency source and memory estimate of a queue. */
  queueStats(queue: string, nowMs: number): Promise<QueueStatsRecord | "queue-not-found">;
  /** Daily counters of the last `days` UTC days, newest first. */
  queueHistory(queue: string, days: number, nowMs: number): Promise<DayCounters[] | "queue-not-found">;
  /** `SET paused <now> NX`. */
  pauseQueue(queue: string, nowMs: number): Promise<"ok" | "already-paused">;
  /** `DEL paused`. */
  unpauseQueue(queue: string): Promise<"ok" | "not-paused">;
  /** The groups of a queue with their sizes. */
  queueGroups(queue: string): Promise<GroupSize[] | "queue-not-found">;
  /** Removes a queue and everything in it (see removeQueue in broker/admin/queue-removal.ts). */
  removeQueue(req: RemoveQueueRequest): Promise<QueueRemovalResult | RemovalRefusal>;
}

/** What the inspector's task operations (src/inspector/tasks.ts) need. */
export interface TaskAdminPort extends ArchiveTrimPort {
  /** @throws QueueNotFoundError, TaskNotFoundError */
  getTaskRecord(queue: string, id: string): Promise<TaskRecord>;
  /** Task records of a range of a state (listing pages, wire-format §4.28.4). */
  listTaskRecords(
    queue: string,
    source: TaskSource,
    start: number,
    stop: number,
  ): Promise<ListedRecord[] | "queue-not-found">;
  /** The next page after `cursor`, following the tasks rather than positions (iteration). */
  seekTaskRecords(
    queue: string,
    source: TaskSource,
    cursor: SeekCursor | null,
    size: number,
  ): Promise<SeekPage | "queue-not-found">;
  /** Deletes, archives or runs the given tasks (wire-format §4.28.5 to §4.28.7). */
  mutateTasks(
    queue: string,
    op: TaskOp,
    ids: readonly string[],
    nowMs: number,
  ): Promise<MutationOutcome[] | "queue-not-found">;
  /** Deletes, archives or runs every task of a state, in batches; returns how many. */
  mutateAllTasks(
    queue: string,
    op: TaskOp,
    source: BulkSource,
    nowMs: number,
  ): Promise<number | "queue-not-found">;
  /** Replaces a task's message if it is unchanged and in one of `states` (payload updates). */
  replaceTaskMessage(req: ReplaceMessageRequest): Promise<ReplaceOutcome>;
}

/** What the inspector's server operations (src/inspector/servers.ts) need. */
export interface ServerAdminPort {
  /** Live ServerInfo and WorkerInfo records; prunes stale registry members. */
  serverState(nowMs: number): Promise<ServerStateRecords>;
  /** SchedulerEntry records of live schedulers; prunes stale registry members. */
  schedulerEntries(nowMs: number): Promise<RawRecord[]>;
  /** A page of an entry's enqueue events, newest first (ZREVRANGE start stop). */
  schedulerEvents(entryId: string, start: number, stop: number): Promise<RawEvent[]>;
  /** The server's INFO, `key:value` lines as a record. */
  redisInfo(): Promise<Record<string, string>>;
  /** The INFO of every master of a Cluster, by address. */
  clusterRedisInfo(): Promise<RedisNodeInfo[] | "not-cluster">;
  /** CLUSTER KEYSLOT of the queue's keys. */
  clusterKeySlot(queue: string): Promise<number | "not-cluster">;
  /** The nodes serving the queue's slot. */
  clusterNodes(queue: string): Promise<ClusterNode[] | "not-cluster" | "no-node">;
}

/** What the Inspector needs: its three parts' ports, queue sizes and cancelation. */
export interface AdminPort extends ConnectionPort, QueueAdminPort, TaskAdminPort, ServerAdminPort {
  /** Counts the tasks of a queue in each state. */
  queueSizes(queue: string): Promise<QueueSizes>;
  /** Asks every server to abort the task with this ID (wire-format §4.26); returns how many servers heard it. */
  publishCancel(id: string): Promise<number>;
}

/** {@link SchedulerPort.enqueueTick}: the task of one tick of a periodic entry. */
export interface TickRequest {
  /** The task, resolved by the client's rules (src/client/options.ts). */
  request: EnqueueRequest;
  /** Hex digest naming the entry across schedulers (its spec, zone, task and options). */
  identity: string;
  /** The tick, whole unix seconds. */
  tickSeconds: number;
  /** The least gap between two enqueued ticks of the entry, seconds (>= 1). */
  gapSeconds: number;
  /** How long the entry's tick marker lives, whole seconds (>= 1). */
  markerTtlSeconds: number;
  /** When the enqueue happens (ms): `pending_since` and group scores. */
  nowMs: number;
  /** Write only if the entry's marker exists (the run-once of a missed `@every` tick). */
  requireMarker?: boolean;
}

/**
 * What {@link SchedulerPort.enqueueTick} did: `already-enqueued` when this tick (or a later one) of
 * the entry was enqueued by another asynq-ts scheduler; `duplicate` and `conflict` as for a Client.
 */
export type TickOutcome = "enqueued" | "already-enqueued" | "duplicate" | "conflict";

/** What the Scheduler needs (wire-format §4.27). */
export interface SchedulerPort extends ConnectionPort {
  /** Registers the queue, then writes the task of one tick unless that tick was enqueued already. */
  enqueueTick(req: TickRequest): Promise<TickOutcome>;
  /**
   * Replaces the scheduler's SchedulerEntry list (TTL `ttlSeconds`) and registers it in
   * `asynq:schedulers` until `nowMs` + TTL.
   */
  writeSchedulerEntries(
    schedulerId: string,
    entries: readonly SchedulerEntry[],
    nowMs: number,
    ttlSeconds: number,
  ): Promise<void>;
  /** Removes the scheduler's entries and its registry member (at shutdown). */
  clearSchedulerEntries(schedulerId: string): Promise<void>;
  /** Adds an enqueue event to an entry's history, keeping at most `cap` events. */
  recordSchedulerEvent(entryId: string, event: SchedulerEnqueueEvent, cap: number): Promise<void>;
  /** Deletes the history of these entries (at shutdown). */
  clearSchedulerHistory(entryIds: readonly string[]): Promise<void>;
}

/** Every port at once: what openBroker (broker.ts) returns. */
export interface Broker extends ClientPort, ServerPort, AdminPort, SchedulerPort {}
