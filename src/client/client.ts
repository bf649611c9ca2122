// The Client: validates tasks and writes them to Redis the way Go asynq's client does.
import { openBroker } from "../broker/broker.js";
import { openConnection, type RedisConnection } from "../broker/connection/connection.js";
import { resolveConnectionOptions, type ConnectionOptions } from "../broker/connection/options.js";
import {
  AsynqError,
  BrokerError,
  DuplicateTaskError,
  TaskIdConflictError,
  ValidationError,
} from "../errors.js";
import { systemClock, type Clock } from "../internal/clock.js";
import type { Task, TaskInfo, TaskState } from "../task.js";
import { taskInfoFromMessage } from "../task-info.js";
import { checkQueue, resolveTask, type EnqueueOptions, type ResolvedTask } from "./options.js";
import { ResultWaits, type CompletedTask } from "./wait.js";
import type { ClientPort, EnqueueOutcome } from "../broker/ports.js";
import { toError } from "../internal/errors.js";
import type { EnqueueSpanInfo, EnqueueTracer } from "./tracing.js";
import {
  resolveEnqueueArgs,
  type AnyTaskDefinition,
  type DefinitionArgs,
  type PlainTask,
  type TaskDefinition,
} from "../tasks/define.js";

/**
 * Client settings. `commandTimeout` and `connectTimeout` guard the connection (see
 * {@link ConnectionOptions}): with the defaults, a call settles within about 11 s even when its
 * connection went silent.
 */
export interface ClientOptions extends ConnectionOptions {
  /** Source of time; tests pass a ManualClock. @defaultValue the system clock */
  clock?: Clock;
  /**
   * Traces each enqueue (a producer span, its context written in the task's headers):
   * `otelTracer()` of `asynq-ts/otel`, or your own. @defaultValue none
   */
  tracer?: EnqueueTracer;
}

/** Result of one task of `enqueueBatch`: its info, or why it was not written. */
export type BatchResult =
  { ok: true; info: TaskInfo } | { ok: false; error: DuplicateTaskError | TaskIdConflictError | BrokerError };

/**
 * Enqueues tasks into Redis, readable and processable by Go asynq servers (v0.24 to v0.26) and by
 * asynq-ts servers.
 *
 * @example
 * ```ts
 * const client = new Client("redis://127.0.0.1:6379");
 * const info = await client.enqueue(
 *   { type: "email:deliver", payload: { userId: 42 } },
 *   { queue: "critical", maxRetry: 5, timeout: 60_000 },
 * );
 * console.log(info.id, info.state); // "…uuid…" "pending"
 * await client.close();
 * ```
 */
export class Client {
  private readonly broker: ClientPort;
  private readonly clock: Clock;
  private readonly tracer: EnqueueTracer | undefined;
  private waits: ResultWaits | undefined;

  /**
   * @param redis a `redis://` / `rediss://` URL, ioredis options, or an ioredis connection you own
   *   (then `close()` leaves it open, and replacing it when it goes silent is your job: ioredis
   *   `socketTimeout` and `keepAlive`). Nothing connects before the first call.
   * @throws ValidationError when `redis` is not one of those, or for an invalid option.
   */
  constructor(redis: RedisConnection, options: ClientOptions = {}) {
    const connection = resolveConnectionOptions(options);
    this.broker = openBroker(openConnection(redis, "client.constructor", connection), {
      options: connection,
    });
    this.clock = options.clock ?? systemClock;
    const tracer: unknown = options.tracer;
    if (tracer !== undefined && typeof (tracer as EnqueueTracer | null)?.startEnqueue !== "function") {
      throw new ValidationError("options.tracer", tracer, "expected an object with a startEnqueue method");
    }
    this.tracer = options.tracer;
  }

  /**
   * Enqueues a task of a definition (see `defineTask`): the payload is typed, validated by the
   * definition's schema (asynchronous schemas included) and encoded by its codec; the definition's
   * default options apply under `options`.
   *
   * @returns the task's info as written.
   * @throws ValidationError for an invalid payload or option (nothing is written).
   * @throws DuplicateTaskError, TaskIdConflictError, ConnectionError, BrokerError as for a plain task.
   * @example
   * ```ts
   * const welcome = defineTask<{ userId: number }>("email:welcome");
   * await client.enqueue(welcome, { userId: 42 }, { processIn: 60_000 });
   * ```
   */
  enqueue<Payload, Result, Input>(
    definition: TaskDefinition<Payload, Result, Input>,
    ...args: DefinitionArgs<Input>
  ): Promise<TaskInfo>;
  /**
   * Enqueues a task: to pending now, to scheduled for a later `processAt` / `processIn`, or to its
   * group. Options given here override the task's own options one by one.
   *
   * @returns the task's info as written.
   * @throws ValidationError for an invalid task or option (nothing is written).
   * @throws DuplicateTaskError when `unique` is set and the lock is held by another task.
   * @throws TaskIdConflictError when a task with the same `taskId` exists in the queue.
   * @throws ConnectionError (a BrokerError) when Redis cannot be reached or used (the first call
   *   connects: nothing is written when that fails), or when the connection answered nothing for
   *   2 × `commandTimeout` (the task may then have been written or not: retry with a `taskId`).
   * @throws BrokerError when Redis fails otherwise.
   * @example
   * ```ts
   * await client.enqueue({ type: "report:build", payload: "q3" }, { processIn: 60_000, unique: 3_600_000 });
   * ```
   */
  enqueue(task: PlainTask, options?: EnqueueOptions): Promise<TaskInfo>;
  async enqueue(
    first: PlainTask | AnyTaskDefinition,
    second?: unknown,
    third?: EnqueueOptions,
  ): Promise<TaskInfo> {
    const args = resolveEnqueueArgs(first, second, third);
    const { task, options } = args instanceof Promise ? await args : args;
    const now = this.clock.now();
    return this.enqueueResolved(resolveTask(task, options, now), now);
  }

  private async enqueueResolved(resolved: ResolvedTask, now: number): Promise<TaskInfo> {
    if (this.tracer !== undefined) return this.tracedEnqueue(this.tracer, resolved, now);
    const outcome = await this.broker.enqueue(resolved.request, now);
    const result = toResult(resolved, outcome, now, "client.enqueue");
    if (!result.ok) throw result.error;
    return result.info;
  }

  /** {@link enqueue} in a producer span of the tracer. */
  private async tracedEnqueue(tracer: EnqueueTracer, resolved: ResolvedTask, now: number): Promise<TaskInfo> {
    const end = startSpan(tracer, resolved, "enqueue");
    let result: BatchResult;
    try {
      result = toResult(resolved, await this.broker.enqueue(resolved.request, now), now, "client.enqueue");
    } catch (error) {
      end?.(toError(error));
      throw error;
    }
    end?.(result.ok ? undefined : result.error);
    if (!result.ok) throw result.error;
    return result.info;
  }

  /**
   * Enqueues many tasks in one round trip to Redis. Every task is validated first: if one is
   * invalid, a ValidationError naming it (`tasks[i]…`) is thrown and nothing is written. Then each
   * task is written atomically on its own; a duplicate or an ID conflict fails only that task.
   * Tasks may use every option, `unique` and `group` included. The tasks of one queue reach it in
   * the order given (the first is the first to be processed), also when Redis loses its script
   * cache during the call (a failover, SCRIPT FLUSH); only a connection lost in mid-call can make
   * the tasks it re-sends come after the others.
   *
   * @returns one result per task, in order.
   * @throws ValidationError for an invalid task (nothing is written).
   * @throws ConnectionError (a BrokerError) when Redis cannot be reached, as for `enqueue`.
   * @throws BrokerError when Redis fails as a whole.
   * @example
   * ```ts
   * const results = await client.enqueueBatch([
   *   { type: "email:deliver", payload: { to: "a@example.com" } },
   *   { type: "email:deliver", payload: { to: "b@example.com" }, options: { queue: "low" } },
   * ]);
   * const failed = results.filter((r) => !r.ok);
   * ```
   */
  async enqueueBatch(tasks: readonly Task[]): Promise<BatchResult[]> {
    const list: unknown = tasks;
    if (!Array.isArray(list)) throw new ValidationError("tasks", list, "expected an array of tasks");
    const now = this.clock.now();
    const resolved = tasks.map((task, i) => resolveTask(task, undefined, now, `tasks[${i}]`));
    if (resolved.length === 0) return [];
    const { tracer } = this;
    const ends = tracer === undefined ? undefined : resolved.map((r) => startSpan(tracer, r, "enqueueBatch"));
    let outcomes: Awaited<ReturnType<ClientPort["enqueueBatch"]>>;
    try {
      outcomes = await this.broker.enqueueBatch(
        resolved.map((r) => r.request),
        now,
      );
    } catch (error) {
      ends?.forEach((end) => end?.(toError(error)));
      throw error;
    }
    return resolved.map((r, i) => {
      const outcome = outcomes[i];
      const result: BatchResult =
        outcome === undefined || outcome instanceof BrokerError
          ? { ok: false, error: outcome ?? new BrokerError("no reply", { op: "client.enqueueBatch" }) }
          : toResult(r, outcome, now, "client.enqueueBatch");
      ends?.[i]?.(result.ok ? undefined : result.error);
      return result;
    });
  }

  /**
   * Enqueues a task and waits for its outcome: resolves with its result once it completes, rejects
   * once it is archived, expired or revoked. The wait listens to the queue's events before the task
   * is written, so no outcome is missed; it is told by a notification (the queue's event stream), not
   * by polling. The outcome must come from an asynq-ts server (Go's asynq writes no events).
   *
   * @param wait.timeout how long to wait, in ms (the task goes on after it). @defaultValue no limit
   * @throws ValidationError for an invalid task, option or timeout (nothing is written).
   * @throws TaskFailedError when the task is archived, expired or revoked (`outcome`, `lastError`).
   * @throws WaitTimeoutError when the timeout passes first.
   * @throws DuplicateTaskError, TaskIdConflictError, ConnectionError, BrokerError as {@link enqueue}.
   * @example
   * ```ts
   * const { result } = await client.enqueueAndWait({ type: "image:resize", payload: { w: 200 } }, {}, { timeout: 30_000 });
   * console.log(result === undefined ? "no result" : new TextDecoder().decode(result));
   * ```
   */
  async enqueueAndWait(
    task: Task,
    options?: EnqueueOptions,
    wait: { timeout?: number } = {},
  ): Promise<CompletedTask> {
    const timeout = waitTimeout(wait);
    const now = this.clock.now();
    const resolved = resolveTask(task, options, now);
    const { queue } = resolved.request.msg;
    const waits = (this.waits ??= new ResultWaits(this.broker));
    await waits.listen(queue);
    const info = await this.enqueueResolved(resolved, now);
    return waits.wait(queue, info.id, timeout, false, "client.enqueueAndWait");
  }

  /**
   * Waits for the outcome of a task already enqueued: resolves with its result once it completes (at
   * once when it is completed and retained), rejects once it is archived, expired or revoked. Told
   * by the queue's event stream (see {@link enqueueAndWait}). A task that completed before the wait
   * began and was not retained no longer exists: it rejects with TaskNotFoundError.
   *
   * @param wait.timeout how long to wait, in ms. @defaultValue no limit
   * @throws ValidationError for an invalid queue name, ID or timeout.
   * @throws TaskNotFoundError when no such task exists.
   * @throws TaskFailedError when it is (or becomes) archived, expired or revoked.
   * @throws WaitTimeoutError when the timeout passes first.
   * @throws ConnectionError (a BrokerError) when Redis cannot be reached.
   * @example
   * ```ts
   * const info = await client.enqueue({ type: "report:build" }, { retention: 3_600_000 });
   * const { result } = await client.waitForResult(info.queue, info.id, { timeout: 60_000 });
   * ```
   */
  async waitForResult(queue: string, id: string, wait: { timeout?: number } = {}): Promise<CompletedTask> {
    checkQueue(queue, "queue");
    if (typeof id !== "string" || id === "") throw new ValidationError("id", id, "a task ID is required");
    const timeout = waitTimeout(wait);
    const waits = (this.waits ??= new ResultWaits(this.broker));
    return waits.wait(queue, id, timeout, true, "client.waitForResult");
  }

  /**
   * Closes the Redis connection if the client created it. Until then the connection keeps the
   * process alive, as any open socket does: close the client, or declare it with `await using`.
   */
  async close(): Promise<void> {
    this.waits?.close(
      new AsynqError("ERR_CLOSED", "the client was closed during the wait", { op: "client.close" }),
    );
    await this.broker.close();
  }

  /**
   * Closes the client when an `await using` block ends (same as {@link Client.close}).
   * @example
   * ```ts
   * await using client = new Client("redis://127.0.0.1:6379");
   * await client.enqueue({ type: "email:deliver", payload: { userId: 42 } });
   * // closed here
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The `timeout` of a wait, checked: a positive number of ms, or Infinity when not given. */
function waitTimeout(wait: { timeout?: number }): number {
  const { timeout } = wait ?? {};
  if (timeout === undefined) return Infinity;
  if (typeof timeout !== "number" || !(timeout > 0)) {
    throw new ValidationError("wait.timeout", timeout, "expected a positive number of milliseconds");
  }
  return timeout;
}

/** Starts the producer span of a resolved task; its headers get the span's context. */
function startSpan(
  tracer: EnqueueTracer,
  resolved: ResolvedTask,
  operation: EnqueueSpanInfo["operation"],
): ((error?: Error) => void) | undefined {
  const { msg, target } = resolved.request;
  try {
    return tracer.startEnqueue(
      {
        type: msg.type,
        id: msg.id,
        queue: msg.queue,
        payloadSize: msg.payload.length,
        target: target.kind,
        operation,
      },
      msg.headers,
    );
  } catch {
    // A tracer must never stop an enqueue.
    return undefined;
  }
}

function toResult(resolved: ResolvedTask, outcome: EnqueueOutcome, nowMs: number, op: string): BatchResult {
  const { msg } = resolved.request;
  if (outcome === "duplicate")
    return { ok: false, error: new DuplicateTaskError(msg.queue, msg.uniqueKey, { op }) };
  if (outcome === "conflict") return { ok: false, error: new TaskIdConflictError(msg.queue, msg.id, { op }) };
  return { ok: true, info: enqueuedTaskInfo(resolved, nowMs) };
}

/** The info of a task as its enqueue at `nowMs` wrote it: pending, scheduled or aggregating. */
export function enqueuedTaskInfo(resolved: ResolvedTask, nowMs: number): TaskInfo {
  const { msg, target } = resolved.request;
  const state: TaskState =
    target.kind === "scheduled" ? "scheduled" : target.kind === "group" ? "aggregating" : "pending";
  const nextProcessAt =
    target.kind === "scheduled"
      ? new Date(target.processAtSeconds * 1000)
      : target.kind === "pending"
        ? new Date(Math.floor(nowMs / 1000) * 1000)
        : null;
  return taskInfoFromMessage(msg, state, nextProcessAt, null);
}
