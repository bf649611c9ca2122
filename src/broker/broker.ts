// The broker: the only module that talks to Redis. Components depend on their port (ports.ts, no
// Redis types in it), so tests can wrap the real broker to inject faults. openBroker composes the
// Redis implementation of every port: the operations that keep state between calls (enqueue,
// dequeue, the idle wait, cancelation, health) live here; every other one is built by its domain
// (finish/ops.ts, upkeep/ops.ts, admin/ops.ts, scheduler/ops.ts) and run under the connection
// supervisor, which turns a Redis error into a BrokerError once (supervised.ts).
import type { Redis } from "ioredis";
import { BrokerError } from "../errors.js";
import { adminOps } from "./admin/ops.js";
import { closeConnection, type OpenedConnection } from "./connection/connection.js";
import { ConnectionSupervisor, type RunOptions, type SupervisorParams } from "./connection/supervisor.js";
import { Enqueuer, type EnqueueOutcome, type EnqueueRequest } from "./enqueue/enqueue.js";
import { EventStream } from "./events/stream.js";
import { eventsOps } from "./events/ops.js";
import { dequeue, newHint, type DequeueHint } from "./fetch/dequeue.js";
import { PendingWaiter } from "./fetch/waiter.js";
import { finishOps } from "./finish/ops.js";
import { groupOps } from "./group/ops.js";
import { schedulerOps } from "./scheduler/ops.js";
import type { Broker, DequeueRequest, DequeueResult, EventStreamPort } from "./ports.js";
import { supervise } from "./supervised.js";
import { subscribeCancel, type CancelSubscription } from "./upkeep/pubsub.js";
import { upkeepOps } from "./upkeep/ops.js";

/**
 * Opens the broker over a connection (opened or adopted by openConnection). Nothing is sent before
 * the first call (or `connect()`); `close()` closes the connection only if it is owned.
 * @param params how calls are bounded and outages logged; defaults suit a Client.
 */
export function openBroker(connection: OpenedConnection, params: SupervisorParams = {}): Broker {
  const stateful = new StatefulBroker(connection, params);
  const { redis } = connection;
  const ops = {
    ...finishOps(redis),
    ...upkeepOps(redis),
    ...adminOps(redis),
    ...schedulerOps(redis),
    ...groupOps(redis),
    ...eventsOps(redis),
  };
  return Object.assign(stateful, supervise(stateful.supervisor, ops));
}

/** The operations that keep state between calls, and the connection's lifecycle. */
class StatefulBroker {
  /** Opens and checks the connection, bounds calls, replaces a silent connection, logs outages. */
  readonly supervisor: ConnectionSupervisor;
  private readonly redis: Redis;
  private waiter: PendingWaiter | undefined;
  /** Per queue, the IDs the last peek saw next in line: the next dequeue tries them directly. */
  private readonly hints = new Map<string, DequeueHint>();
  /** Connection drops seen so far: a call that overlapped one may have been re-sent by ioredis. */
  private drops = 0;
  /** Writes tasks and registers queues (created on the first enqueue). */
  private enqueuer: Enqueuer | undefined;
  private readonly subscriptions = new Set<CancelSubscription>();
  private readonly streams = new Set<EventStream>();
  private readonly commandTimeout: number;

  constructor(
    private readonly connection: OpenedConnection,
    params: SupervisorParams,
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

  async dequeue(req: DequeueRequest): Promise<DequeueResult> {
    const { queue, max, leaseExpiresAtMs, finished = [], nowMs = Date.now(), withPendingSince = false } = req;
    let hint = this.hints.get(queue);
    if (hint === undefined) this.hints.set(queue, (hint = newHint()));
    const result = await this.run("broker.dequeue", () =>
      dequeue(this.redis, queue, max, leaseExpiresAtMs, hint, finished, nowMs, withPendingSince),
    );
    return {
      tasks: result.tasks,
      paused: result.paused,
      dangling: result.dangling,
      finished: result.finished.map((ok) => (ok ? "ok" : "not-active")),
    };
  }

  waitForPending(queues: readonly string[], timeoutMs: number): Promise<void> {
    this.waiter ??= new PendingWaiter(this.redis, this.commandTimeout);
    const waiter = this.waiter;
    // A blocking wait: bounded by the waiter itself (its wait plus commandTimeout), not by the call bound.
    return this.run("broker.waitForPending", () => waiter.wait(queues, timeoutMs), { bounded: false });
  }

  subscribeCancel(
    onCancel: (id: string) => void,
    onState: (event: "subscribed" | "error", error?: Error) => void,
  ): CancelSubscription {
    const subscription = subscribeCancel(this.redis, onCancel, onState, this.commandTimeout);
    this.subscriptions.add(subscription);
    return {
      subscribed: subscription.subscribed,
      close: () => {
        this.subscriptions.delete(subscription);
        subscription.close();
      },
    };
  }

  openEvents(queue: string): EventStreamPort {
    const stream = new EventStream(this.redis, queue, this.commandTimeout, (s) => this.streams.delete(s));
    this.streams.add(stream);
    return stream;
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
    for (const stream of [...this.streams]) stream.close();
    this.waiter?.close();
    await closeConnection(this.connection);
  }
}
