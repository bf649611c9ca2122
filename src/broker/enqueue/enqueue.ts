// The Enqueuer (wire-format §4.1-§4.9): writes tasks with one enqueue_many call per queue (built by
// calls.ts) and registers queues.
import type { Redis } from "ioredis";
import { BrokerError } from "../../errors.js";
import { toError } from "../../internal/errors.js";
import * as keys from "../../wire/keys.js";
import { isNoScript, LuaScript, preloadScripts, runScript } from "../scripts.js";
import type { EnqueueOutcome, EnqueueRequest } from "../ports.js";
import {
  allIndexes,
  buildCalls,
  MAX_TASKS_PER_CALL,
  NOT_ENCODED,
  type Call,
  type Prepared,
} from "./calls.js";

/**
 * Writes many tasks of one queue; the client's only enqueue script. It writes what asynq's single-task
 * scripts (wire-format §4.2-§4.7) write, which test/broker/oracle/ keeps as the test oracle.
 */
export const enqueueManyScript = LuaScript.fromFile("enqueue/enqueue_many");

export type { EnqueueOutcome, EnqueueRequest, EnqueueTarget } from "../ports.js";
export { enqueueManyCalls, MAX_TASKS_PER_CALL } from "./calls.js";

/** Maps a script reply to an outcome. */
function enqueueOutcome(reply: unknown): EnqueueOutcome | undefined {
  switch (reply) {
    case 1:
      return "enqueued";
    case -1:
      return "duplicate";
    case 0:
      return "conflict";
    default:
      return undefined;
  }
}

// ---- Enqueuer -----------------------------------------------------------------------------------

/**
 * How long a queue registration (`SADD asynq:queues <q>`) is trusted before the next enqueue into
 * the queue sends it again (docs/compatibility.md, E3).
 */
export const REGISTRATION_REFRESH_MS = 5_000;
/** How many times calls that met NOSCRIPT are re-sent after SCRIPT LOAD (a SCRIPT FLUSH or failover). */
const NOSCRIPT_ROUNDS = 3;

/** A task's result: the script's code for it, or the error of its call. */
type Result = number | Error;
/** A call's reply, or why it failed. */
type Reply = [Error | null, unknown];

/** What a write did: one outcome per task, and the queues whose registration failed. */
interface Written {
  outcomes: Array<EnqueueOutcome | BrokerError>;
  /** Queue -> the error of its `SADD asynq:queues` (its tasks are reported failed with it). */
  unregistered: Map<string, BrokerError>;
}

/** An enqueue waiting for the end of the current tick. */
interface Waiting {
  req: EnqueueRequest;
  nowMs: number;
  resolve: (outcome: EnqueueOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Writes tasks: one enqueue_many call per queue (in slices of {@link MAX_TASKS_PER_CALL}, each
 * sent as soon as it is built, so Redis runs one while the next is encoded), each task written or
 * refused on its own. Single enqueues made in the same tick are written together, in order.
 * Queues are registered in `asynq:queues` on the first enqueue into them, again every
 * {@link REGISTRATION_REFRESH_MS} (of the caller's clock) and after a reconnection, and again when
 * a call reports that it created the queue's list or zset (the queue was emptied or removed, or
 * Redis was flushed): at once, and then with every enqueue into the queue (in the same round trip)
 * until a call finds its list or zset in place.
 */
export class Enqueuer {
  /** Queue -> when its registration was sent, and the connection epoch it was sent on. */
  private readonly registered = new Map<string, { atMs: number; epoch: number }>();
  private waiting: Waiting[] = [];
  /** Queues whose last call created their list or zset: registered with every enqueue meanwhile. */
  private readonly emptied = new Set<string>();
  /** False until an enqueue_many call was sent: the first one sends the source (EVAL). */
  private scriptSent = false;

  /**
   * @param epoch the number of connection drops so far: a registration sent before a drop is not
   *   trusted after it, and a call that overlapped one may have been re-sent by ioredis.
   */
  constructor(
    private readonly redis: Redis,
    private readonly epoch: () => number,
  ) {}

  /**
   * Writes one task, together with the other enqueues of this tick (at the end of the tick, or as
   * soon as they fill a call).
   */
  enqueue(req: EnqueueRequest, nowMs: number): Promise<EnqueueOutcome> {
    return new Promise<EnqueueOutcome>((resolve, reject) => {
      if (this.waiting.length === 0) process.nextTick(() => this.flush());
      this.waiting.push({ req, nowMs, resolve, reject });
      if (this.waiting.length >= MAX_TASKS_PER_CALL) this.flush();
    });
  }

  private flush(): void {
    const batch = this.waiting;
    if (batch.length === 0) return;
    this.waiting = [];
    this.write(batch, "broker.enqueue").then(
      ({ outcomes, unregistered }) => {
        for (let i = 0; i < batch.length; i++) {
          const w = batch[i]!;
          const outcome = unregistered.get(w.req.msg.queue) ?? outcomes[i];
          if (outcome === undefined)
            w.reject(new BrokerError("no reply for enqueue", { op: "broker.enqueue" }));
          else if (outcome instanceof BrokerError) w.reject(outcome);
          else w.resolve(outcome);
        }
      },
      (error: unknown) => {
        for (const w of batch) w.reject(error);
      },
    );
  }

  /**
   * Writes tasks, each atomically on its own; the outcome at index i is task i's.
   * @throws BrokerError when no task got an answer from Redis.
   */
  async write(items: ReadonlyArray<{ req: EnqueueRequest; nowMs: number }>, op: string): Promise<Written> {
    const tasks = new Array<Prepared>(items.length);
    for (let i = 0; i < items.length; i++) {
      const { req, nowMs } = items[i]!;
      tasks[i] = { req, nowMs, taskKey: "", msg: NOT_ENCODED };
    }
    const epoch = this.epoch();
    const register = this.dueRegistrations(tasks, epoch);
    // The registrations go first on the connection (Redis runs its commands in order).
    const registrations = register.map((queue) =>
      this.redis.sadd(keys.ALL_QUEUES, queue).then(
        () => undefined,
        (error: unknown) => {
          this.registered.delete(queue);
          return [queue, toError(error)] as const;
        },
      ),
    );
    const { replies, fresh } = await this.send(tasks, allIndexes(tasks.length));
    const unregistered = new Map<string, BrokerError>();
    for (const failed of await Promise.all(registrations)) {
      if (failed !== undefined) {
        const [queue, error] = failed;
        unregistered.set(
          queue,
          new BrokerError(`cannot register queue: ${error.message}`, { op, cause: error }),
        );
      }
    }
    const settled = await this.settleUnknown(tasks, replies, this.epoch() !== epoch);
    if (!settled && replies.every((r) => r instanceof Error && !isReplyError(r))) {
      // Redis could not be reached at all: the call fails as a whole.
      const error = replies.find((_, i) => tasks[i]!.unsent === undefined) as Error | undefined;
      throw new BrokerError(`Redis failed: ${error?.message ?? "no reply"}`, { op, cause: error });
    }
    // A call that created the queue's list or zset: the queue may have been removed or flushed.
    // The next enqueue into it registers it up front (a queue its workers keep empty: one SADD
    // more per call, in the same round trip), until a call finds the list or zset there.
    const again: string[] = [];
    for (const [queue, created] of fresh) {
      if (!created) this.emptied.delete(queue);
      else {
        this.emptied.add(queue);
        if (!register.includes(queue) && !unregistered.has(queue)) again.push(queue);
      }
    }
    if (again.length > 0) await this.reregister(again, tasks[0]!.nowMs, epoch);
    const outcomes = new Array<EnqueueOutcome | BrokerError>(tasks.length);
    for (let i = 0; i < tasks.length; i++) outcomes[i] = toOutcome(replies[i]!, tasks[i]!.req, op);
    return { outcomes, unregistered };
  }

  /** Queues of these tasks whose registration is due; marked as registered (undone on failure). */
  private dueRegistrations(tasks: readonly Prepared[], epoch: number): string[] {
    const due: string[] = [];
    let last = "";
    for (const { req, nowMs } of tasks) {
      const queue = req.msg.queue;
      if (queue === last) continue;
      last = queue;
      const entry = this.registered.get(queue);
      if (
        entry !== undefined &&
        !this.emptied.has(queue) &&
        entry.epoch === epoch &&
        nowMs >= entry.atMs &&
        nowMs - entry.atMs < REGISTRATION_REFRESH_MS
      )
        continue;
      if (!due.includes(queue)) due.push(queue);
      this.registered.set(queue, { atMs: nowMs, epoch });
    }
    return due;
  }

  /**
   * Registers queues after their tasks were written. A failure is not the tasks' (they were
   * written): the registration is forgotten, so the next enqueue into the queue sends it again.
   */
  private async reregister(queues: readonly string[], nowMs: number, epoch: number): Promise<void> {
    await Promise.all(
      queues.map((queue) => {
        this.registered.set(queue, { atMs: nowMs, epoch });
        return this.redis.sadd(keys.ALL_QUEUES, queue).catch(() => {
          this.registered.delete(queue);
        });
      }),
    );
  }

  /**
   * Sends the tasks at `indexes` as enqueue_many calls and collects each task's reply; calls that
   * met NOSCRIPT are re-sent after loading the script. Never throws: a failed call is the error of
   * each of its tasks.
   */
  private async send(
    tasks: Prepared[],
    indexes: readonly number[],
  ): Promise<{ replies: Result[]; fresh: Map<string, boolean> }> {
    const replies = new Array<Result>(tasks.length);
    /** Queue -> whether a call of it created its list or zset. */
    const fresh = new Map<string, boolean>();
    let calls: Call[] = [];
    const sent: Array<Promise<Reply>> = [];
    buildCalls(
      tasks,
      indexes,
      (call) => {
        calls.push(call);
        sent.push(this.run(call, false));
      },
      MAX_TASKS_PER_CALL,
      this.redis.options.keyPrefix,
    );
    for (const i of indexes) {
      const unsent = tasks[i]!.unsent;
      if (unsent !== undefined) replies[i] = unsent;
    }
    let results = await Promise.all(sent);
    for (let round = 1; ; round++) {
      const retry: Call[] = [];
      for (let c = 0; c < calls.length; c++) {
        const call = calls[c]!;
        const [error, reply] = results[c]!;
        if (error !== null && isNoScript(error) && round <= NOSCRIPT_ROUNDS) {
          retry.push(call);
          continue;
        }
        const n = call.tasks.length;
        if (error === null && Array.isArray(reply) && reply.length === n + 1) {
          for (let k = 0; k < n; k++) {
            const code: unknown = reply[k];
            replies[call.tasks[k]!] =
              typeof code === "number" ? code : new Error(`unexpected enqueue_many reply ${String(code)}`);
          }
          if (fresh.get(call.queue) !== true) fresh.set(call.queue, reply[n] === 1);
          continue;
        }
        const failure = error ?? new Error(`unexpected enqueue_many reply ${String(reply)}`);
        for (const t of call.tasks) replies[t] = failure;
      }
      if (retry.length === 0) break;
      try {
        await preloadScripts(this.redis, [enqueueManyScript]);
      } catch {
        // The re-sent calls meet the same failure and report it.
      }
      calls = retry;
      results = await Promise.all(retry.map((call) => this.run(call, round === NOSCRIPT_ROUNDS)));
    }
    return { replies, fresh };
  }

  /**
   * Runs one call with EVALSHA; with EVAL an `ordered` call (one of several of a queue, which must
   * not meet NOSCRIPT) and the first call of this Enqueuer (Redis may not have the script yet, and
   * EVAL caches it for the calls sent after it); the last retry after NOSCRIPT with EVALSHA,
   * falling back to EVAL.
   */
  private run(call: Call, last: boolean): Promise<Reply> {
    let reply: Promise<unknown>;
    if (call.ordered) {
      this.scriptSent = true;
      reply = this.redis.eval(enqueueManyScript.source, call.numKeys, call.argv);
    } else if (last) {
      const callKeys = call.argv.slice(0, call.numKeys) as string[];
      reply = runScript(this.redis, enqueueManyScript, callKeys, call.argv.slice(call.numKeys));
    } else if (this.scriptSent) {
      reply = this.redis.evalsha(enqueueManyScript.sha, call.numKeys, call.argv);
    } else {
      this.scriptSent = true;
      reply = this.redis.eval(enqueueManyScript.source, call.numKeys, call.argv);
    }
    return reply.then(
      (value): Reply => [null, value],
      (error: unknown): Reply => [toError(error), null],
    );
  }

  /**
   * Settles tasks whose outcome is in doubt because the connection dropped while they were in
   * flight: an error without a reply (Redis may or may not have run the call), or, when ioredis
   * re-sent the call after reconnecting, a conflict or duplicate that may be the task meeting its
   * own first write. Reading the task back decides: the task's own message means it was written;
   * no task means it was not (an erred task is then sent once more); another message means another
   * task.
   * @returns false when Redis could not be read back.
   */
  private async settleUnknown(tasks: Prepared[], replies: Result[], dropped: boolean): Promise<boolean> {
    const inDoubt = (result: Result, task: Prepared): boolean =>
      result instanceof Error
        ? task.unsent === undefined && outcomeUnknown(result)
        : dropped && (result === 0 || result === -1);
    for (let round = 0; round < 2; round++) {
      const lost: number[] = [];
      for (let i = 0; i < replies.length; i++) if (inDoubt(replies[i]!, tasks[i]!)) lost.push(i);
      if (lost.length === 0) return true;
      let stored: Array<Buffer | null>;
      try {
        const pipeline = this.redis.pipeline();
        for (const i of lost) pipeline.hgetBuffer(tasks[i]!.taskKey, "msg");
        const results = await pipeline.exec();
        if (results === null) throw new Error("pipeline was discarded");
        stored = results.map(([error, value]) => (error ? null : (value as Buffer | null)));
      } catch {
        return false; // still unreachable: the lost tasks stay reported as errors of unknown outcome
      }
      const resend: number[] = [];
      lost.forEach((i, k) => {
        const msg = stored[k];
        if (msg?.equals(tasks[i]!.msg)) replies[i] = 1;
        else if (!(replies[i] instanceof Error))
          return; // a real conflict or duplicate: keep the reply
        else if (msg === null || msg === undefined) resend.push(i);
        else replies[i] = 0;
      });
      if (resend.length === 0) return true;
      const again = await this.send(tasks, resend);
      for (const i of resend) replies[i] = again.replies[i]!;
    }
    return true;
  }
}

/** A task's reply as an outcome; an error stays the error of its task. */
function toOutcome(reply: Result, req: EnqueueRequest, op: string): EnqueueOutcome | BrokerError {
  if (reply instanceof Error)
    return new BrokerError(`enqueue failed: ${reply.message}`, { op, cause: reply });
  const outcome = enqueueOutcome(reply);
  if (outcome !== undefined) return outcome;
  switch (reply) {
    case -2:
    case -3: {
      const q = req.msg.queue;
      const { target } = req;
      const key =
        reply === -3
          ? keys.allGroupsKey(q)
          : target.kind === "group"
            ? keys.groupKey(q, target.group)
            : target.kind === "scheduled"
              ? keys.scheduledKey(q)
              : keys.pendingKey(q);
      // What Redis itself would have answered had the script written to the key.
      const cause = new Error(`WRONGTYPE ${key} holds the wrong kind of value`);
      return new BrokerError(`enqueue failed: ${cause.message}`, { op, cause });
    }
    default:
      return new BrokerError(`unexpected enqueue reply ${String(reply)}`, { op });
  }
}

function isReplyError(error: Error): boolean {
  return error.name === "ReplyError";
}

/**
 * True for a failure after which Redis may or may not have run the command: the connection broke
 * while it was in flight. Not for an error Redis answered, nor for a command ioredis never sent
 * (it gave up reconnecting: MaxRetriesPerRequestError).
 */
function outcomeUnknown(error: unknown): boolean {
  if (error instanceof BrokerError) return outcomeUnknown(error.cause);
  return error instanceof Error && error.name !== "ReplyError" && error.name !== "MaxRetriesPerRequestError";
}
