// A client for tests that records what it is asked to enqueue instead of writing to Redis. It has
// the Client's enqueue surface (typed definitions included) and validates exactly as the Client
// does, so code under test gets the same TaskInfo and the same errors.
import { enqueuedTaskInfo, type BatchResult, type Client } from "../client/client.js";
import { resolveTask, type EnqueueOptions, type ResolvedTask } from "../client/options.js";
import { DuplicateTaskError, TaskIdConflictError, ValidationError } from "../errors.js";
import { systemClock, type Clock } from "../internal/clock.js";
import {
  resolveEnqueueArgs,
  type AnyTaskDefinition,
  type DefinitionArgs,
  type PlainTask,
  type TaskDefinition,
} from "../tasks/define.js";
import type { Task, TaskInfo } from "../task.js";

/** One recorded enqueue. */
export interface RecordedTask {
  /** The task's info, as `enqueue` returned it (ID, queue, state, payload bytes, …). */
  readonly info: TaskInfo;
  /** The task's own options with the call's over them, as given. */
  readonly options: Readonly<EnqueueOptions>;
  /** The payload parsed as JSON; undefined when the task has none. */
  json(): unknown;
}

/** Options of a {@link RecordingClient}. */
export interface RecordingClientOptions {
  /** Source of time (scheduling, deadlines, unique windows). @defaultValue the system clock */
  clock?: Clock;
}

/**
 * Records enqueues for assertions, without Redis. Tasks are validated and built exactly as by the
 * {@link Client} (a bad task throws the same ValidationError), and a `taskId` already recorded in
 * its queue, or a `unique` task whose lock is held, fails as it would on Redis (no task is ever
 * processed here, so locks last their whole window). Type your code's dependency as
 * `Pick<Client, "enqueue" | "enqueueBatch">` to pass either.
 *
 * @example
 * ```ts
 * const client = new RecordingClient();
 * await signUp(client, "ada@example.com"); // code under test
 * expect(await client.payloads(welcome)).toEqual([{ email: "ada@example.com" }]);
 * ```
 */
export class RecordingClient implements Pick<Client, "enqueue" | "enqueueBatch" | "close"> {
  /** Every task enqueued so far, in order. */
  readonly enqueued: RecordedTask[] = [];
  readonly #clock: Clock;
  /** `queue \0 id` of every recorded task. */
  readonly #ids = new Set<string>();
  /** Unique lock key → when it expires (ms). */
  readonly #locks = new Map<string, number>();

  constructor(options: RecordingClientOptions = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Records a task of a definition (validated and encoded as `Client.enqueue` does).
   * @throws ValidationError, DuplicateTaskError, TaskIdConflictError as `Client.enqueue`.
   */
  enqueue<Payload, Result, Input>(
    definition: TaskDefinition<Payload, Result, Input>,
    ...args: DefinitionArgs<Input>
  ): Promise<TaskInfo>;
  /**
   * Records a task.
   * @throws ValidationError, DuplicateTaskError, TaskIdConflictError as `Client.enqueue`.
   */
  enqueue(task: PlainTask, options?: EnqueueOptions): Promise<TaskInfo>;
  async enqueue(
    first: PlainTask | AnyTaskDefinition,
    second?: unknown,
    third?: EnqueueOptions,
  ): Promise<TaskInfo> {
    const args = resolveEnqueueArgs(first, second, third);
    const { task, options } = args instanceof Promise ? await args : args;
    const now = this.#clock.now();
    const result = this.#record(task, options, resolveTask(task, options, now), now, "client.enqueue");
    if (!result.ok) throw result.error;
    return result.info;
  }

  /**
   * Records many tasks: every task is validated first (a bad one throws, nothing is recorded), then
   * each is recorded or fails on its own, as `Client.enqueueBatch`.
   * @throws ValidationError for an invalid task.
   */
  // eslint-disable-next-line @typescript-eslint/require-await -- the Client's signature: errors reject
  async enqueueBatch(tasks: readonly Task[]): Promise<BatchResult[]> {
    const list: unknown = tasks;
    if (!Array.isArray(list)) throw new ValidationError("tasks", list, "expected an array of tasks");
    const now = this.#clock.now();
    const resolved = tasks.map((task, i) => resolveTask(task, undefined, now, `tasks[${i}]`));
    return resolved.map((r, i) => this.#record(tasks[i]!, undefined, r, now, "client.enqueueBatch"));
  }

  /** The recorded tasks of a type (or of a definition's type); all of them without a filter. */
  tasks(filter?: string | AnyTaskDefinition): RecordedTask[] {
    if (filter === undefined) return [...this.enqueued];
    const type = typeof filter === "string" ? filter : filter.type;
    return this.enqueued.filter((t) => t.info.type === type);
  }

  /**
   * The payloads of a definition's recorded tasks, decoded (and validated) as its handler gets them.
   * @throws ValidationError when a recorded payload does not decode.
   */
  async payloads<Payload, Result, Input>(
    definition: TaskDefinition<Payload, Result, Input>,
  ): Promise<Payload[]> {
    return Promise.all(this.tasks(definition.type).map((t) => definition.decode(t.info.payload)));
  }

  /** Forgets every recorded task, ID and lock. */
  clear(): void {
    this.enqueued.length = 0;
    this.#ids.clear();
    this.#locks.clear();
  }

  /** Nothing to close; here for the Client's surface. */
  async close(): Promise<void> {}

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #record(
    task: Task,
    options: EnqueueOptions | undefined,
    resolved: ResolvedTask,
    now: number,
    op: string,
  ): BatchResult {
    const { msg, uniqueTtlSeconds } = resolved.request;
    const idKey = `${msg.queue}\0${msg.id}`;
    if (msg.uniqueKey !== "" && (this.#locks.get(msg.uniqueKey) ?? -Infinity) > now) {
      return { ok: false, error: new DuplicateTaskError(msg.queue, msg.uniqueKey, { op }) };
    }
    if (this.#ids.has(idKey)) return { ok: false, error: new TaskIdConflictError(msg.queue, msg.id, { op }) };
    this.#ids.add(idKey);
    if (msg.uniqueKey !== "" && uniqueTtlSeconds !== undefined) {
      this.#locks.set(msg.uniqueKey, now + uniqueTtlSeconds * 1000);
    }
    const info = enqueuedTaskInfo(resolved, now);
    const payload = msg.payload;
    this.enqueued.push({
      info,
      options: Object.freeze({ ...task.options, ...options }),
      json: () =>
        payload.length === 0 ? undefined : (JSON.parse(Buffer.from(payload).toString("utf8")) as unknown),
    });
    return { ok: true, info };
  }
}
