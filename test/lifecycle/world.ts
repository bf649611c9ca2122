// The runner of random lifecycle steps: applies each one through the real library code and checks
// the invariant after it.
import type { Redis } from "ioredis";
import type { Broker, DequeuedTask } from "../../src/broker/ports.js";
import type { Client } from "../../src/client/client.js";
import type { EnqueueOptions } from "../../src/client/options.js";
import {
  DuplicateTaskError,
  QueueNotFoundError,
  QueueStateError,
  RevokeTask,
  SkipRetry,
  TaskIdConflictError,
  TaskNotFoundError,
  TaskStateError,
} from "../../src/errors.js";
import type { ManualClock } from "../../src/internal/clock.js";
import type { Inspector } from "../../src/inspector/inspector.js";
import { TaskAbortedError } from "../../src/server/context.js";
import type { RunningTask } from "../../src/server/executor.js";
import type { Forwarder } from "../../src/server/forwarder.js";
import type { Janitor } from "../../src/server/janitor.js";
import type { Outcomes } from "../../src/server/outcomes.js";
import type { Recoverer } from "../../src/server/recoverer.js";
import { taskKey, type TaskState } from "../../src/wire/keys.js";
import type { TaskMessage } from "../../src/wire/messages.js";
import { decodeTaskMessage } from "../../src/wire/proto.js";
import { uniqueKey } from "../../src/wire/unique.js";
import { checkInvariant, expectedSettle, janitorExpectations } from "./invariant.js";
import type { Expect, Rule, Snapshot, TaskView } from "./invariant.js";
import { LEASE_MS, GRACE_MS, QUEUES, type Outcome, type StepData, type Step } from "./steps.js";

/** Everything a run drives, built fresh for each sequence (the connections are shared). */
export interface Env {
  redis: Redis;
  clock: ManualClock;
  client: Client;
  broker: Broker;
  inspector: Inspector;
  outcomes: Outcomes;
  recoverer: Recoverer;
  forwarder: Forwarder;
  janitor: Janitor;
  archive: { maxSize: number; maxAge: number };
  onExpired: "archive" | "delete";
  /** What the server's retryDelay returns now (set by each settle step). */
  retryDelay: { ms: number };
}

/** An error thrown by a step, with the trace of the run so far. */
export class LifecycleError extends Error {}

/** Applies steps one by one, checking the invariant and the allowed transitions after each. */
export class World {
  /** Tasks taken by the simulated worker and not settled yet. */
  readonly held: RunningTask[] = [];
  /** Every (queue, id) enqueued so far, in order. */
  readonly known: Array<{ queue: string; id: string }> = [];
  /** Lock key -> the task that took it and when its TTL runs out on the manual clock. */
  private readonly lockTtl = new Map<string, { id: string; expiresAt: number }>();
  readonly trace: string[] = [];
  /** `kind: tag` -> how many steps had that effect, while `counting`. */
  readonly coverage = new Map<string, number>();
  counting = true;
  private nextId = 1;
  private steps = 0;
  snapshot!: Snapshot;

  constructor(readonly env: Env) {}

  async start(): Promise<void> {
    this.snapshot = await checkInvariant(this.env.redis);
  }

  /**
   * Runs one step, then checks the invariant and that every task that changed did so as the step allows.
   * @throws LifecycleError naming the step and every problem found.
   */
  async apply(step: Step): Promise<void> {
    const n = ++this.steps;
    const text = step.toString();
    const before = this.snapshot;
    let effect: Expect;
    try {
      effect = await this.run(step.d, before);
    } catch (error) {
      this.trace.push(`${n}. ${text}  → threw`);
      throw new LifecycleError(
        `step ${n} (${text}) threw: ${error instanceof Error ? error.stack : String(error)}`,
      );
    }
    if (step.d.kind !== "noop") this.trace.push(`${n}. ${text}${effect.line ? `  → ${effect.line}` : ""}`);
    const tally = `${step.d.kind}: ${effect.tag ?? "-"}`;
    if (this.counting) this.coverage.set(tally, (this.coverage.get(tally) ?? 0) + 1);
    const after = await checkInvariant(this.env.redis);
    const problems = [...after.violations, ...(effect.post?.(after) ?? [])];
    for (const key of new Set([...before.tasks.keys(), ...after.tasks.keys()])) {
      const b = before.tasks.get(key);
      const a = after.tasks.get(key);
      if (b?.state !== a?.state && !effect.rule((a ?? b)!, b?.state, a?.state))
        problems.push(
          `unexpected transition of ${(a ?? b)!.queue}/${(a ?? b)!.id}: ${b?.state ?? "none"} → ${a?.state ?? "none"}`,
        );
    }
    this.snapshot = after;
    if (problems.length > 0)
      throw new LifecycleError(`after step ${n} (${text}):\n  ${problems.join("\n  ")}`);
  }

  private async run(d: StepData, before: Snapshot): Promise<Expect> {
    const { env } = this;
    const none: Rule = () => false;
    switch (d.kind) {
      case "noop":
        return { rule: none };
      case "enqueue":
        return this.enqueue(d, before);
      case "dequeue": {
        const res = await env.broker.dequeue({
          queue: d.queue,
          max: d.max,
          leaseExpiresAtMs: env.clock.now() + LEASE_MS,
        });
        const pending = [...before.tasks.values()].filter(
          (t) => t.queue === d.queue && t.state === "pending",
        );
        const want = before.paused.has(d.queue) ? 0 : Math.min(d.max, pending.length);
        for (const t of res.tasks) this.held.push(this.running(t));
        const taken = new Set(res.tasks.map((t) => taskKey(t.queue, t.id)));
        return {
          line: res.paused ? "paused" : res.tasks.map((t) => t.id).join(" ") || "empty",
          tag: res.paused ? "paused" : res.tasks.length > 0 ? "took" : "empty",
          rule: (v, b, a) => taken.has(taskKey(v.queue, v.id)) && b === "pending" && a === "active",
          post: () =>
            res.tasks.length === want && res.dangling.length === 0
              ? []
              : [`dequeued ${res.tasks.length} (${res.dangling.length} dangling), expected ${want}`],
        };
      }
      case "settle":
        return this.settle(d, before);
      case "crash": {
        const [task] = this.held.length === 0 ? [] : this.held.splice(d.pick % this.held.length, 1);
        const tag = task === undefined ? "nothing held" : "left active";
        return { line: task === undefined ? tag : `${task.queue}/${task.id} ${tag}`, tag, rule: none };
      }
      case "heartbeat": {
        const now = env.clock.now();
        const lost = this.held.filter((t) => t.leaseExpiresAt < now);
        this.drop(lost);
        const expiresAt = Math.floor((now + LEASE_MS) / 1000) * 1000;
        for (const q of QUEUES) {
          const tasks = this.held.filter((t) => t.queue === q);
          await env.broker.extendLease(
            q,
            tasks.map((t) => t.id),
            expiresAt,
          );
          for (const t of tasks) t.leaseExpiresAt = expiresAt;
        }
        const tag = lost.length > 0 ? "lost" : this.held.length > 0 ? "extended" : "idle";
        return { line: `extended ${this.held.length}, lost ${lost.length}`, tag, rule: none };
      }
      case "advance": {
        const line = await this.advance(d.ms);
        return { line, tag: line === "" ? "plain" : "locks expired", rule: none };
      }
      case "forward": {
        const due = [...before.tasks.values()].filter(
          (t) =>
            (t.state === "scheduled" || t.state === "retry") &&
            t.score! <= Math.floor(env.clock.now() / 1000),
        );
        const keys = new Set(due.map((t) => taskKey(t.queue, t.id)));
        const moved = await env.forwarder.runOnce();
        const to = (v: TaskView): TaskState => (v.group === "" ? "pending" : "aggregating");
        return {
          line: `moved ${moved}`,
          tag: moved > 0 ? "moved" : "none",
          rule: (v, b, a) => keys.has(taskKey(v.queue, v.id)) && a === to(v),
          post: (after) => [
            ...(moved === due.length ? [] : [`forwarder moved ${moved}, expected ${due.length}`]),
            ...due
              .filter((t) => after.tasks.get(taskKey(t.queue, t.id))?.state !== to(t))
              .map((t) => `${t.queue}/${t.id} not forwarded`),
          ],
        };
      }
      case "recover": {
        const cutoff = Math.floor((env.clock.now() - GRACE_MS) / 1000);
        const due = [...before.tasks.values()].filter((t) => t.state === "active" && t.score! <= cutoff);
        const keys = new Set(due.map((t) => taskKey(t.queue, t.id)));
        const written = await env.recoverer.runOnce();
        return {
          line: `recovered ${written}`,
          tag: written > 0 ? "recovered" : "none",
          rule: (v, b, a) => keys.has(taskKey(v.queue, v.id)) && (a === "retry" || a === "archived"),
          post: () => (written === due.length ? [] : [`recoverer wrote ${written}, expected ${due.length}`]),
        };
      }
      case "janitor": {
        const want = janitorExpectations(before, env.clock.now(), env.archive);
        const run = await env.janitor.runOnce();
        return {
          line: `deleted ${run.completed} completed, trimmed ${run.archived}`,
          tag: `${run.completed > 0 ? "deleted" : ""}${run.archived > 0 ? " trimmed" : ""}`.trim() || "none",
          rule: (v, b, a) => a === undefined && want.keys.has(taskKey(v.queue, v.id)),
          post: () =>
            run.completed === want.completed && run.archived === want.archived
              ? []
              : [
                  `janitor deleted ${run.completed}/${run.archived}, expected ${want.completed}/${want.archived}`,
                ],
        };
      }
      case "inspect":
        return this.inspect(d, before);
      case "inspectAll":
        return this.inspectAll(d, before);
      case "pause":
        try {
          await (d.paused ? env.inspector.pauseQueue(d.queue) : env.inspector.unpauseQueue(d.queue));
          return {
            line: "ok",
            tag: d.paused ? "paused" : "unpaused",
            rule: none,
            post: () => (before.paused.has(d.queue) !== d.paused ? [] : ["pause state was already so"]),
          };
        } catch (error) {
          if (error instanceof QueueStateError && before.paused.has(d.queue) === d.paused)
            return { line: "already", tag: "already", rule: none };
          throw error;
        }
    }
  }

  private async enqueue(d: Extract<StepData, { kind: "enqueue" }>, before: Snapshot): Promise<Expect> {
    const { env } = this;
    const now = env.clock.now();
    const reused =
      d.reuse === undefined || this.known.length === 0 ? undefined : this.known[d.reuse % this.known.length];
    const id = reused?.id ?? `t${this.nextId++}`;
    const options: EnqueueOptions = {
      queue: d.queue,
      taskId: id,
      maxRetry: d.maxRetry,
      unique: d.unique,
      processIn: d.processIn,
      // Both given is a ValidationError: processIn wins.
      processAt: d.processAt === undefined || d.processIn !== undefined ? undefined : now + d.processAt,
      deadline: d.deadline === undefined ? undefined : now + d.deadline,
      retention: d.retention,
      group: d.group,
      timeout: d.timeout,
      headers: d.headers ? { trace: "x" } : undefined,
    };
    const payload = `p${d.payload}`;
    const key = taskKey(d.queue, id);
    const lock = d.unique === undefined ? undefined : uniqueKey(d.queue, d.type, Buffer.from(payload));
    const held = lock !== undefined && before.locks.has(lock);
    const existed = before.tasks.has(key);
    try {
      const info = await env.client.enqueue({ type: d.type, payload }, options);
      if (!this.known.some((k) => k.queue === d.queue && k.id === id))
        this.known.push({ queue: d.queue, id });
      if (lock !== undefined) {
        const ttl = Math.ceil((await env.redis.pttl(lock)) / 1000) * 1000;
        this.lockTtl.set(lock, { id, expiresAt: now + ttl });
      }
      return {
        line: `${id} ${info.state}`,
        tag: `${info.state}${reused === undefined ? "" : " (reused ID)"}`,
        rule: (v, b, a) => taskKey(v.queue, v.id) === key && b === undefined && a === info.state,
        post: () => [
          ...(existed ? ["enqueued over an existing task"] : []),
          ...(held ? ["enqueued while its lock was held"] : []),
        ],
      };
    } catch (error) {
      if (error instanceof DuplicateTaskError)
        return {
          line: `${id} duplicate`,
          tag: "duplicate",
          rule: () => false,
          post: () => (held ? [] : ["duplicate, yet the lock was free"]),
        };
      if (error instanceof TaskIdConflictError) {
        return {
          line: `${id} conflict`,
          tag: "conflict",
          rule: () => false,
          post: (after) => [
            ...(existed && !held ? [] : ["ID conflict, yet no such task (or the lock was held)"]),
            ...(lock !== undefined && after.locks.has(lock) ? ["the conflict left the lock taken"] : []),
          ],
        };
      }
      throw error;
    }
  }

  private running(d: DequeuedTask): RunningTask {
    const msg: TaskMessage = decodeTaskMessage(d.msg!);
    const now = this.env.clock.now();
    const timeout = Number(msg.timeout) * 1000;
    const deadline = Number(msg.deadline) * 1000;
    // The attempt's deadline as the executor computes it (wire-format §5.4).
    const attempt =
      timeout > 0 && deadline > 0
        ? Math.min(Math.floor(now / 1000) * 1000 + timeout, deadline)
        : timeout > 0
          ? now + timeout
          : deadline > 0
            ? deadline
            : now + 30 * 60_000;
    return {
      id: d.id,
      queue: d.queue,
      msg,
      raw: d.msg!,
      startedAt: now,
      deadline: attempt,
      leaseExpiresAt: d.leaseExpiresAt,
      phase: "handler",
      aborted: undefined,
      controller: undefined,
      onAbort: undefined,
      deadlineReason: deadline > 0 && deadline <= attempt ? "deadline" : "timeout",
      release: undefined,
    };
  }

  private drop(tasks: readonly RunningTask[]): void {
    for (const t of tasks) this.held.splice(this.held.indexOf(t), 1);
  }

  /** Settles a held task as the executor would: expired, aborted at its deadline, or the chosen outcome. */
  private async settle(d: Extract<StepData, { kind: "settle" }>, before: Snapshot): Promise<Expect> {
    const { env } = this;
    const none: Rule = () => false;
    if (this.held.length === 0) return { line: "nothing held", tag: "nothing held", rule: none };
    const [task] = this.held.splice(d.pick % this.held.length, 1) as [RunningTask];
    const now = env.clock.now();
    const where = `${task.queue}/${task.id}`;
    if (!d.late && now > task.leaseExpiresAt)
      return { line: `${where} lease lost: left to the recoverer`, tag: "lease lost", rule: none };
    env.retryDelay.ms = d.delay;
    const { msg } = task;
    let outcome: Outcome | "expired" | "aborted" = d.outcome;
    if (msg.deadline > 0n && task.startedAt >= Number(msg.deadline) * 1000) {
      outcome = "expired";
      await env.outcomes.expired(task);
    } else if (now >= task.deadline) {
      outcome = "aborted";
      await env.outcomes.failure(task, new TaskAbortedError("timeout", task.id));
    } else if (d.outcome === "success") await env.outcomes.success(task);
    else if (d.outcome === "requeue") await env.outcomes.requeue(task);
    else {
      const errors = {
        error: new Error("boom"),
        transient: new Error("transient: try again"),
        skip: new SkipRetry("bad input"),
        revoke: new RevokeTask(),
        timeout: new TaskAbortedError("timeout", task.id),
      };
      await env.outcomes.failure(task, errors[d.outcome]);
    }
    const key = taskKey(task.queue, task.id);
    const was = before.tasks.get(key);
    const fenced = was?.state !== "active" || !was.raw.equals(task.raw);
    const allowed = fenced ? [] : expectedSettle(task, outcome, now, d.delay, env.onExpired);
    return {
      line: `${where} ${outcome}${fenced ? " (fenced)" : ""}`,
      tag: `${outcome}${fenced ? " fenced" : ""}${d.late ? " late" : ""}`,
      rule: (v, b, a) =>
        (taskKey(v.queue, v.id) === key && allowed.includes(a)) ||
        (v.queue === task.queue && b === "archived" && a === undefined),
      post: (after) => {
        const a = after.tasks.get(key)?.state;
        // A fenced write changes nothing, but a failure still trims the archive (which may hold the task).
        if (fenced)
          return a === was?.state || (was?.state === "archived" && a === undefined)
            ? []
            : [`fenced settle changed ${where}`];
        return allowed.includes(a)
          ? []
          : [
              `${where} is ${a ?? "gone"} after ${outcome}, expected ${allowed.map((s) => s ?? "gone").join("|")}`,
            ];
      },
    };
  }

  /** Moves the manual clock; unique locks whose TTL ran out on it are deleted, as Redis would. */
  private async advance(ms: number): Promise<string> {
    this.env.clock.advance(ms);
    const now = this.env.clock.now();
    let expired = 0;
    for (const [lock, { id, expiresAt }] of this.lockTtl) {
      if (expiresAt > now) continue;
      this.lockTtl.delete(lock);
      if ((await this.env.redis.get(lock)) === id) expired += await this.env.redis.del(lock);
    }
    return expired > 0 ? `${expired} lock(s) expired` : "";
  }

  private async inspect(d: Extract<StepData, { kind: "inspect" }>, before: Snapshot): Promise<Expect> {
    if (this.known.length === 0)
      return { line: "no task known", tag: `${d.op} none known`, rule: () => false };
    const { queue, id } = this.known[d.pick % this.known.length]!;
    const key = taskKey(queue, id);
    const b = before.tasks.get(key)?.state;
    const applies =
      b !== undefined &&
      b !== "active" &&
      !(d.op === "archive" && b === "archived") &&
      !(d.op === "run" && b === "pending");
    const to: Array<TaskState | undefined> =
      d.op === "delete" ? [undefined] : d.op === "run" ? ["pending"] : ["archived", undefined];
    let line = `${queue}/${id} (${b ?? "none"}) ok`;
    try {
      const inspector = this.env.inspector;
      await (d.op === "delete"
        ? inspector.deleteTask(queue, id)
        : d.op === "run"
          ? inspector.runTask(queue, id)
          : inspector.archiveTask(queue, id));
    } catch (error) {
      if (!(error instanceof TaskNotFoundError || error instanceof TaskStateError) || applies) throw error;
      if (error instanceof TaskNotFoundError !== (b === undefined)) throw error;
      line = `${queue}/${id} (${b ?? "none"}) ${error.name}`;
      return { line, tag: `${d.op} ${b ?? "missing"}: ${error.name}`, rule: () => false };
    }
    return {
      line,
      tag: `${d.op} ${b}: ok`,
      rule: (v, vb, va) =>
        (taskKey(v.queue, v.id) === key && to.includes(va)) ||
        (d.op === "archive" && v.queue === queue && vb === "archived" && va === undefined),
      post: (after) => [
        ...(applies ? [] : [`${d.op} succeeded on a ${b ?? "missing"} task`]),
        ...(to.includes(after.tasks.get(key)?.state) ? [] : [`${queue}/${id} not ${d.op}d`]),
      ],
    };
  }

  private async inspectAll(d: Extract<StepData, { kind: "inspectAll" }>, before: Snapshot): Promise<Expect> {
    const [op, state] = d.bulk;
    const group = state === "aggregating" ? d.group : undefined;
    const targets = [...before.tasks.values()].filter(
      (t) => t.queue === d.queue && t.state === state && (group === undefined || t.group === group),
    );
    const keys = new Set(targets.map((t) => taskKey(t.queue, t.id)));
    const to: Array<TaskState | undefined> =
      op === "delete" ? [undefined] : op === "run" ? ["pending"] : ["archived", undefined];
    let count: number;
    try {
      const inspector = this.env.inspector;
      count = await (op === "delete"
        ? inspector.deleteAllTasks(d.queue, state, group)
        : op === "run"
          ? inspector.runAllTasks(d.queue, state, group)
          : inspector.archiveAllTasks(d.queue, state, group));
    } catch (error) {
      if (error instanceof QueueNotFoundError && !before.registered.has(d.queue))
        return { line: "no such queue", tag: `${op} ${state}: no queue`, rule: () => false };
      throw error;
    }
    return {
      line: `${count}`,
      tag: `${op} ${state}: ${count > 0 ? "some" : "none"}`,
      rule: (v, b, a) =>
        (keys.has(taskKey(v.queue, v.id)) && to.includes(a)) ||
        (op === "archive" && v.queue === d.queue && b === "archived" && a === undefined),
      post: (after) => [
        ...(count === targets.length ? [] : [`${op}All reported ${count}, expected ${targets.length}`]),
        ...targets
          .filter((t) => !to.includes(after.tasks.get(taskKey(t.queue, t.id))?.state))
          .map((t) => `${t.id} left ${state}`),
      ],
    };
  }
}
