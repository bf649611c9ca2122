// The broker: the only module that talks to Redis. Components depend on the Broker interface
// (no Redis types in it), so tests can wrap the real broker to inject faults.
import type { Redis } from "ioredis";
import { BrokerError, QueueNotFoundError, TaskNotFoundError } from "../errors.js";
import * as keys from "../wire/keys.js";
import { closeConnection, type OpenedConnection } from "./connection/connection.js";
import { ConnectionSupervisor, type RunOptions, type SupervisorParams } from "./connection/supervisor.js";
import { Enqueuer, type EnqueueOutcome, type EnqueueRequest } from "./enqueue/enqueue.js";
import { readQueueSizes, readTaskRecord, type QueueSizes, type TaskRecord } from "./admin/read.js";
import * as lifecycle from "./finish/lifecycle.js";
import { dequeue, newHint, type DequeueHint, type FinishedTask } from "./fetch/dequeue.js";
import { PendingWaiter } from "./fetch/waiter.js";
import { publishCancel, subscribeCancel, type CancelSubscription } from "./upkeep/pubsub.js";
import { forwardDue, type ForwardResult } from "./upkeep/forward.js";
import { deleteExpiredCompleted } from "./upkeep/janitor.js";
import * as recover from "./upkeep/recover.js";
import * as heartbeat from "./upkeep/heartbeat.js";
import * as inspectQueues from "./admin/queues.js";
import * as inspectServers from "./admin/servers.js";
import * as inspectList from "./admin/list.js";
import * as inspectMutate from "./admin/mutate.js";
import { removeQueue, type QueueRemovalResult, type RemovalRefusal } from "./admin/queue-removal.js";
import type { ServerInfo, TaskMessage, WorkerInfo } from "../wire/messages.js";
import { encodeTaskMessage } from "../wire/proto.js";

export type { EnqueueOutcome, EnqueueRequest } from "./enqueue/enqueue.js";
export type { QueueSizes } from "./admin/read.js";
export type { FinishedTask } from "./fetch/dequeue.js";

/** A task moved from pending to active by {@link Broker.dequeue}. */
export interface DequeuedTask {
  queue: string;
  id: string;
  /** The encoded TaskMessage; null when the hash has no `msg` field (a corrupt task). */
  msg: Uint8Array | null;
  /** When the lease written by the dequeue runs out (ms; whole seconds, as stored in Redis). */
  leaseExpiresAt: number;
}

/** What a dequeue did. */
interface DequeueResult {
  tasks: DequeuedTask[];
  /** The queue is paused; nothing was moved. */
  paused: boolean;
  /** IDs found in pending with no task data; removed from pending. */
  dangling: string[];
  /** Per finished task given to the dequeue, in order: what its success write did. */
  finished: LifecycleResult[];
}

/** Result of a write on an active task: `not-active` when it was no longer in active (nothing written). */
export type LifecycleResult = "ok" | "not-active";

/** Everything the client, server and inspector need from Redis. */
export interface Broker extends inspectQueues.QueueAdminBroker, inspectServers.ServerAdminBroker {
  /**
   * Opens the connection and checks it (reachable, authenticated, on its DB) unless that was done;
   * every other call does it first. Nothing is written before it succeeds.
   * @throws ConnectionError naming the address, DB and cause when Redis cannot be reached or used.
   */
  connect(op: string): Promise<void>;
  /**
   * Replaces the connection if it looks alive but did not answer (a failed health check); only a
   * connection the broker owns, and at most once per `commandTimeout`.
   */
  resetConnection(reason: Error): void;
  /** Writes one task. `nowMs` stamps `pending_since` and group scores. */
  enqueue(req: EnqueueRequest, nowMs: number): Promise<EnqueueOutcome>;
  /**
   * Writes many tasks in one round trip. Each task is written atomically on its own; the result
   * at index i is the outcome of request i, or the error that stopped it.
   */
  enqueueBatch(reqs: readonly EnqueueRequest[], nowMs: number): Promise<Array<EnqueueOutcome | BrokerError>>;
  /** Reads a task record. */
  getTaskRecord(queue: string, id: string): Promise<TaskRecord>;
  /** Counts the tasks of a queue in each state. */
  queueSizes(queue: string): Promise<QueueSizes>;
  /** Names of every registered queue. */
  queues(): Promise<string[]>;
  /**
   * Writes the success of `finished` tasks of the queue (as {@link Broker.done}, at `nowMs`), then
   * moves up to `max` oldest pending tasks to active, leased until `leaseExpiresAtMs` (wire-format §4.10),
   * in one round trip when it can. `max` 0 only writes the finished tasks.
   */
  dequeue(
    queue: string,
    max: number,
    leaseExpiresAtMs: number,
    finished?: readonly FinishedTask[],
    nowMs?: number,
  ): Promise<DequeueResult>;
  // The writes below take `fence`, the encoded message as dequeued: nothing is written unless the
  // stored message is still that one, so a late write after the task was recovered cannot apply twice.

  /** Success without retention, or RevokeTask: deletes the task (wire-format §4.11). */
  done(
    queue: string,
    id: string,
    uniqueKey: string,
    nowMs: number,
    fence?: Uint8Array,
  ): Promise<LifecycleResult>;
  /** Success with retention: keeps the task as completed until `expirySeconds` (wire-format §4.12). */
  markComplete(
    queue: string,
    id: string,
    msg: TaskMessage,
    nowMs: number,
    expirySeconds: number,
    fence?: Uint8Array,
  ): Promise<LifecycleResult>;
  /** Schedules a retry at `retryAtMs` (wire-format §4.14). */
  retry(
    queue: string,
    id: string,
    msg: TaskMessage,
    retryAtMs: number,
    isFailure: boolean,
    nowMs: number,
    fence?: Uint8Array,
  ): Promise<LifecycleResult>;
  /** Archives the task and releases its unique lock (wire-format §4.15, without trimming). */
  archive(
    queue: string,
    id: string,
    msg: TaskMessage,
    nowMs: number,
    fence?: Uint8Array,
  ): Promise<LifecycleResult>;
  /** Deletes the oldest archived tasks beyond `maxSize` or older than `maxAgeMs`; returns how many. */
  trimArchive(queue: string, nowMs: number, maxSize: number, maxAgeMs: number): Promise<number>;
  /** Puts an active task back at the front of pending (wire-format §4.13). */
  requeue(queue: string, id: string, fence?: Uint8Array): Promise<LifecycleResult>;
  /** Archives an active task whose message cannot be read, leaving its data as it is. */
  quarantine(queue: string, id: string, nowMs: number): Promise<LifecycleResult>;
  /** Deletes an active task, counting it as failed (an expired task with `onExpired: "delete"`). */
  deleteActive(
    queue: string,
    id: string,
    uniqueKey: string,
    nowMs: number,
    fence?: Uint8Array,
  ): Promise<LifecycleResult>;
  /** Stores a task's result; `not-found` when the task no longer exists. */
  writeResult(queue: string, id: string, bytes: Uint8Array): Promise<"ok" | "not-found">;
  /** Extends the leases of active tasks (wire-format §4.18). */
  extendLease(queue: string, ids: readonly string[], leaseExpiresAtMs: number): Promise<void>;
  /** Resolves when one of the queues has a pending task, or after about `timeoutMs`. */
  waitForPending(queues: readonly string[], timeoutMs: number): Promise<void>;
  /** Asks every server to abort the task with this ID (wire-format §4.26); returns how many servers heard it. */
  publishCancel(id: string): Promise<number>;
  /** Listens for cancelations on a dedicated connection that re-subscribes by itself. */
  subscribeCancel(
    onCancel: (id: string) => void,
    onState: (event: "subscribed" | "error", error?: Error) => void,
  ): CancelSubscription;
  /** PING, failing after `timeoutMs` when Redis does not answer. */
  ping(timeoutMs: number): Promise<void>;
  /**
   * How many times the connection has dropped so far. A call that overlapped a drop may have run in
   * Redis with its reply lost (and been sent again by ioredis): callers compare the count before and
   * after a write to tell "skipped" from "applied, reply lost".
   */
  connectionDrops(): number;
  /** Up to `limit` tasks whose lease ran out at or before `cutoffMs`, oldest first, after `offset` (wire-format §4.18). */
  listLeaseExpired(
    queue: string,
    cutoffMs: number,
    offset: number,
    limit: number,
  ): Promise<recover.OrphanCandidate[]>;
  /** IDs in the active list that have no lease at all. */
  listUnleased(queue: string): Promise<string[]>;
  /** The encoded msg of each task (null when absent). */
  readMessages(queue: string, ids: readonly string[]): Promise<Array<Uint8Array | null>>;
  /** Retry for a recovered task, if `guard` still holds (wire-format §5.8). */
  recoverRetry(
    queue: string,
    id: string,
    msg: TaskMessage,
    retryAtMs: number,
    isFailure: boolean,
    nowMs: number,
    guard: recover.LeaseGuard,
  ): Promise<recover.RecoverWrite>;
  /** Archive for a recovered task, if `guard` still holds; releases its lock. */
  recoverArchive(
    queue: string,
    id: string,
    msg: TaskMessage,
    nowMs: number,
    guard: recover.LeaseGuard,
  ): Promise<recover.RecoverWrite>;
  /** Archives a recovered task whose msg is unreadable, or removes a dangling ID, if `guard` still holds. */
  recoverQuarantine(
    queue: string,
    id: string,
    nowMs: number,
    guard: recover.LeaseGuard,
  ): Promise<recover.QuarantineWrite>;
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
  /** Task records of a range of a state (listing pages, wire-format §4.28.4). */
  listTaskRecords(
    queue: string,
    source: inspectList.TaskSource,
    start: number,
    stop: number,
  ): Promise<inspectList.ListedRecord[] | "queue-not-found">;
  /** The next page after `cursor`, following the tasks rather than positions (iteration). */
  seekTaskRecords(
    queue: string,
    source: inspectList.TaskSource,
    cursor: inspectList.SeekCursor | null,
    size: number,
  ): Promise<inspectList.SeekPage | "queue-not-found">;
  /** Deletes, archives or runs the given tasks (wire-format §4.28.5 to §4.28.7). */
  mutateTasks(
    queue: string,
    op: inspectMutate.TaskOp,
    ids: readonly string[],
    nowMs: number,
  ): Promise<inspectMutate.MutationOutcome[] | "queue-not-found">;
  /** Deletes, archives or runs every task of a state, in batches; returns how many. */
  mutateAllTasks(
    queue: string,
    op: inspectMutate.TaskOp,
    source: inspectMutate.BulkSource,
    nowMs: number,
  ): Promise<number | "queue-not-found">;
  /** Replaces a task's message if it is unchanged and in one of `states` (payload updates). */
  replaceTaskMessage(
    queue: string,
    id: string,
    expected: Uint8Array,
    next: Uint8Array,
    states: readonly string[],
  ): Promise<inspectMutate.ReplaceOutcome>;
  /** Moves due scheduled and retry tasks of these queues to pending or their group (wire-format §4.16). */
  forwardDue(queues: readonly string[], nowMs: number): Promise<ForwardResult>;
  /** Deletes up to `batchSize` completed tasks whose retention ran out; returns how many. */
  deleteExpiredCompleted(queue: string, nowMs: number, batchSize: number): Promise<number>;
  /** Releases the connections the broker owns. */
  close(): Promise<void>;
}

/** The Redis implementation of Broker. */
export class RedisBroker implements Broker {
  private readonly redis: Redis;
  private waiter: PendingWaiter | undefined;
  /** Per queue, the IDs the last peek saw next in line: the next dequeue tries them directly. */
  private readonly hints = new Map<string, DequeueHint>();
  /** Connection drops seen so far: a call that overlapped one may have been re-sent by ioredis. */
  private drops = 0;
  /** Writes tasks and registers queues (created on the first enqueue). */
  private enqueuer: Enqueuer | undefined;
  private readonly subscriptions = new Set<CancelSubscription>();
  /** Opens and checks the connection, bounds calls, replaces a silent connection, logs outages. */
  private readonly supervisor: ConnectionSupervisor;
  private readonly commandTimeout: number;

  /** @param params how calls are bounded and outages logged; defaults suit a Client. */
  constructor(
    private readonly connection: OpenedConnection,
    params: SupervisorParams = {},
  ) {
    this.redis = connection.redis;
    this.redis.on("close", this.countDrop);
    this.supervisor = new ConnectionSupervisor(connection, params);
    this.commandTimeout = this.supervisor.commandTimeout;
  }

  connect(op: string): Promise<void> {
    return this.supervisor.connect(op);
  }

  resetConnection(reason: Error): void {
    this.supervisor.reset(reason);
  }

  /** Removed at close: many brokers may share a caller's connection, one after another. */
  private readonly countDrop = (): void => void this.drops++;

  /** Runs a Redis operation through the supervisor (see ConnectionSupervisor.run). */
  private run<T>(op: string, fn: () => Promise<T>, options?: RunOptions): Promise<T> {
    return this.supervisor.run(op, fn, options);
  }

  enqueue(req: EnqueueRequest, nowMs: number): Promise<EnqueueOutcome> {
    this.enqueuer ??= new Enqueuer(this.redis, () => this.drops);
    const enqueuer = this.enqueuer;
    return this.run("broker.enqueue", () => enqueuer.enqueue(req, nowMs));
  }

  async enqueueBatch(
    reqs: readonly EnqueueRequest[],
    nowMs: number,
  ): Promise<Array<EnqueueOutcome | BrokerError>> {
    this.enqueuer ??= new Enqueuer(this.redis, () => this.drops);
    const enqueuer = this.enqueuer;
    // Same nowMs (so pending_since) for every task of one call, as Go's BatchEnqueue does.
    const { outcomes, unregistered } = await this.run("broker.enqueueBatch", () =>
      enqueuer.write(
        reqs.map((req) => ({ req, nowMs })),
        "broker.enqueueBatch",
      ),
    );
    // A failed SADD fails the whole call: Redis refuses it only when it refuses writes.
    for (const error of unregistered.values()) throw error;
    return outcomes;
  }

  async getTaskRecord(queue: string, id: string): Promise<TaskRecord> {
    const op = "broker.getTaskRecord";
    const record = await this.run(op, () => readTaskRecord(this.redis, queue, id));
    if (record === "queue-not-found") throw new QueueNotFoundError(queue, { op });
    if (record === "task-not-found") throw new TaskNotFoundError(queue, id, { op });
    return record;
  }

  async queueSizes(queue: string): Promise<QueueSizes> {
    const op = "broker.queueSizes";
    const sizes = await this.run(op, () => readQueueSizes(this.redis, queue));
    if (sizes === "queue-not-found") throw new QueueNotFoundError(queue, { op });
    return sizes;
  }

  async queues(): Promise<string[]> {
    return this.run("broker.queues", () => this.redis.smembers(keys.ALL_QUEUES));
  }

  async dequeue(
    queue: string,
    max: number,
    leaseExpiresAtMs: number,
    finished: readonly FinishedTask[] = [],
    nowMs: number = Date.now(),
  ): Promise<DequeueResult> {
    let hint = this.hints.get(queue);
    if (hint === undefined) this.hints.set(queue, (hint = newHint()));
    const result = await this.run("broker.dequeue", () =>
      dequeue(this.redis, queue, max, leaseExpiresAtMs, hint, finished, nowMs),
    );
    return {
      tasks: result.tasks,
      paused: result.paused,
      dangling: result.dangling,
      finished: result.finished.map((ok) => (ok ? "ok" : "not-active")),
    };
  }

  done(
    queue: string,
    id: string,
    uniqueKey: string,
    nowMs: number,
    fence?: Uint8Array,
  ): Promise<LifecycleResult> {
    return this.run("broker.done", () => lifecycle.done(this.redis, queue, id, uniqueKey, nowMs, fence));
  }

  markComplete(
    queue: string,
    id: string,
    msg: TaskMessage,
    nowMs: number,
    expirySeconds: number,
    fence?: Uint8Array,
  ): Promise<LifecycleResult> {
    return this.run("broker.markComplete", () =>
      lifecycle.markComplete(
        this.redis,
        queue,
        id,
        encodeTaskMessage(msg),
        msg.uniqueKey,
        nowMs,
        expirySeconds,
        fence,
      ),
    );
  }

  retry(
    queue: string,
    id: string,
    msg: TaskMessage,
    retryAtMs: number,
    isFailure: boolean,
    nowMs: number,
    fence?: Uint8Array,
  ): Promise<LifecycleResult> {
    return this.run("broker.retry", () =>
      lifecycle.retry(this.redis, queue, id, encodeTaskMessage(msg), retryAtMs, isFailure, nowMs, fence),
    );
  }

  archive(
    queue: string,
    id: string,
    msg: TaskMessage,
    nowMs: number,
    fence?: Uint8Array,
  ): Promise<LifecycleResult> {
    return this.run("broker.archive", () =>
      lifecycle.archive(this.redis, queue, id, encodeTaskMessage(msg), msg.uniqueKey, nowMs, fence),
    );
  }

  trimArchive(queue: string, nowMs: number, maxSize: number, maxAgeMs: number): Promise<number> {
    return this.run("broker.trimArchive", () =>
      lifecycle.trimArchive(this.redis, queue, nowMs, maxSize, maxAgeMs),
    );
  }

  requeue(queue: string, id: string, fence?: Uint8Array): Promise<LifecycleResult> {
    return this.run("broker.requeue", () => lifecycle.requeue(this.redis, queue, id, fence));
  }

  quarantine(queue: string, id: string, nowMs: number): Promise<LifecycleResult> {
    return this.run("broker.quarantine", () => lifecycle.quarantine(this.redis, queue, id, nowMs));
  }

  deleteActive(
    queue: string,
    id: string,
    uniqueKey: string,
    nowMs: number,
    fence?: Uint8Array,
  ): Promise<LifecycleResult> {
    return this.run("broker.deleteActive", () =>
      lifecycle.deleteActive(this.redis, queue, id, uniqueKey, nowMs, fence),
    );
  }

  writeResult(queue: string, id: string, bytes: Uint8Array): Promise<"ok" | "not-found"> {
    return this.run("broker.writeResult", () => lifecycle.writeResult(this.redis, queue, id, bytes));
  }

  extendLease(queue: string, ids: readonly string[], leaseExpiresAtMs: number): Promise<void> {
    return this.run("broker.extendLease", () =>
      lifecycle.extendLease(this.redis, queue, ids, leaseExpiresAtMs),
    );
  }

  waitForPending(queues: readonly string[], timeoutMs: number): Promise<void> {
    this.waiter ??= new PendingWaiter(this.redis, this.commandTimeout);
    const waiter = this.waiter;
    // A blocking wait: bounded by the waiter itself (its wait plus commandTimeout), not by the call bound.
    return this.run("broker.waitForPending", () => waiter.wait(queues, timeoutMs), { bounded: false });
  }

  publishCancel(id: string): Promise<number> {
    return this.run("broker.publishCancel", () => publishCancel(this.redis, id));
  }

  subscribeCancel(
    onCancel: (id: string) => void,
    onState: (event: "subscribed" | "error", error?: Error) => void,
  ): CancelSubscription {
    const subscription = subscribeCancel(this.redis, onCancel, onState, this.commandTimeout);
    this.subscriptions.add(subscription);
    return {
      close: () => {
        this.subscriptions.delete(subscription);
        subscription.close();
      },
    };
  }

  listLeaseExpired(
    queue: string,
    cutoffMs: number,
    offset: number,
    limit: number,
  ): Promise<recover.OrphanCandidate[]> {
    return this.run("broker.listLeaseExpired", () =>
      recover.listLeaseExpired(this.redis, queue, cutoffMs, offset, limit),
    );
  }

  listUnleased(queue: string): Promise<string[]> {
    return this.run("broker.listUnleased", () => recover.listUnleased(this.redis, queue));
  }

  readMessages(queue: string, ids: readonly string[]): Promise<Array<Uint8Array | null>> {
    return this.run("broker.readMessages", () => recover.readMessages(this.redis, queue, ids));
  }

  recoverRetry(
    queue: string,
    id: string,
    msg: TaskMessage,
    retryAtMs: number,
    isFailure: boolean,
    nowMs: number,
    guard: recover.LeaseGuard,
  ): Promise<recover.RecoverWrite> {
    return this.run("broker.recoverRetry", () =>
      recover.recoverRetry(this.redis, queue, id, encodeTaskMessage(msg), retryAtMs, isFailure, nowMs, guard),
    );
  }

  recoverArchive(
    queue: string,
    id: string,
    msg: TaskMessage,
    nowMs: number,
    guard: recover.LeaseGuard,
  ): Promise<recover.RecoverWrite> {
    return this.run("broker.recoverArchive", () =>
      recover.recoverArchive(this.redis, queue, id, encodeTaskMessage(msg), msg.uniqueKey, nowMs, guard),
    );
  }

  recoverQuarantine(
    queue: string,
    id: string,
    nowMs: number,
    guard: recover.LeaseGuard,
  ): Promise<recover.QuarantineWrite> {
    return this.run("broker.recoverQuarantine", () =>
      recover.recoverQuarantine(this.redis, queue, id, nowMs, guard),
    );
  }

  writeServerState(
    info: ServerInfo,
    workers: readonly WorkerInfo[],
    nowMs: number,
    ttlSeconds: number,
  ): Promise<void> {
    return this.run("broker.writeServerState", () =>
      heartbeat.writeServerState(this.redis, info, workers, nowMs, ttlSeconds),
    );
  }

  clearServerState(host: string, pid: number, serverId: string): Promise<void> {
    return this.run("broker.clearServerState", () =>
      heartbeat.clearServerState(this.redis, host, pid, serverId),
    );
  }

  listTaskRecords(queue: string, source: inspectList.TaskSource, start: number, stop: number) {
    return this.run("broker.listTaskRecords", () =>
      inspectList.listTaskRecords(this.redis, queue, source, start, stop),
    );
  }

  seekTaskRecords(
    queue: string,
    source: inspectList.TaskSource,
    cursor: inspectList.SeekCursor | null,
    size: number,
  ) {
    return this.run("broker.seekTaskRecords", () =>
      inspectList.seekTaskRecords(this.redis, queue, source, cursor, size),
    );
  }

  mutateTasks(queue: string, op: inspectMutate.TaskOp, ids: readonly string[], nowMs: number) {
    return this.run("broker.mutateTasks", () => inspectMutate.mutateTasks(this.redis, queue, op, ids, nowMs));
  }

  mutateAllTasks(queue: string, op: inspectMutate.TaskOp, source: inspectMutate.BulkSource, nowMs: number) {
    return this.run("broker.mutateAllTasks", () =>
      inspectMutate.mutateAllTasks(this.redis, queue, op, source, nowMs),
    );
  }

  replaceTaskMessage(
    queue: string,
    id: string,
    expected: Uint8Array,
    next: Uint8Array,
    states: readonly string[],
  ) {
    return this.run("broker.replaceTaskMessage", () =>
      inspectMutate.replaceTaskMessage(this.redis, queue, id, expected, next, states),
    );
  }

  queueStats(queue: string, nowMs: number): Promise<inspectQueues.QueueStatsRecord | "queue-not-found"> {
    return this.run("broker.queueStats", () => inspectQueues.readQueueStats(this.redis, queue, nowMs));
  }

  queueHistory(
    queue: string,
    days: number,
    nowMs: number,
  ): Promise<inspectQueues.DayCounters[] | "queue-not-found"> {
    return this.run("broker.queueHistory", () =>
      inspectQueues.readQueueHistory(this.redis, queue, days, nowMs),
    );
  }

  pauseQueue(queue: string, nowMs: number): Promise<"ok" | "already-paused"> {
    return this.run("broker.pauseQueue", () => inspectQueues.pauseQueue(this.redis, queue, nowMs));
  }

  unpauseQueue(queue: string): Promise<"ok" | "not-paused"> {
    return this.run("broker.unpauseQueue", () => inspectQueues.unpauseQueue(this.redis, queue));
  }

  queueGroups(queue: string): Promise<inspectQueues.GroupSize[] | "queue-not-found"> {
    return this.run("broker.queueGroups", () => inspectQueues.readGroups(this.redis, queue));
  }

  removeQueue(queue: string, force: boolean, nowMs: number): Promise<QueueRemovalResult | RemovalRefusal> {
    return this.run("broker.removeQueue", () => removeQueue(this.redis, queue, force, nowMs));
  }

  serverState(nowMs: number): Promise<inspectServers.ServerStateRecords> {
    return this.run("broker.serverState", () => inspectServers.readServerState(this.redis, nowMs));
  }

  schedulerEntries(nowMs: number): Promise<inspectServers.RawRecord[]> {
    return this.run("broker.schedulerEntries", () => inspectServers.readSchedulerEntries(this.redis, nowMs));
  }

  schedulerEvents(entryId: string, start: number, stop: number): Promise<inspectServers.RawEvent[]> {
    return this.run("broker.schedulerEvents", () =>
      inspectServers.readSchedulerEvents(this.redis, entryId, start, stop),
    );
  }

  clusterKeySlot(queue: string): Promise<number | "not-cluster"> {
    return this.run("broker.clusterKeySlot", () => inspectServers.clusterKeySlot(this.redis, queue));
  }

  clusterNodes(queue: string): Promise<inspectServers.ClusterNode[] | "not-cluster" | "no-node"> {
    return this.run("broker.clusterNodes", () => inspectServers.clusterNodes(this.redis, queue));
  }

  forwardDue(queues: readonly string[], nowMs: number): Promise<ForwardResult> {
    return this.run("broker.forwardDue", () => forwardDue(this.redis, queues, nowMs));
  }

  deleteExpiredCompleted(queue: string, nowMs: number, batchSize: number): Promise<number> {
    return this.run("broker.deleteExpiredCompleted", () =>
      deleteExpiredCompleted(this.redis, queue, nowMs, batchSize),
    );
  }

  connectionDrops(): number {
    return this.drops;
  }

  async ping(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new BrokerError(`Redis did not answer PING within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.run("broker.ping", () => this.redis.ping(), { bounded: false }), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.supervisor.close();
    this.redis.off("close", this.countDrop);
    for (const subscription of this.subscriptions) subscription.close();
    this.subscriptions.clear();
    this.waiter?.close();
    await closeConnection(this.connection);
  }
}
