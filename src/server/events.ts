// The Server's events (server.on("completed", …)): what happens to each task this server runs, for
// metrics, tracing and logs of your own. Free when nobody listens: every emitting site reads one
// number (`hub.count.<event>`) and builds nothing when it is 0: no event object, no clock read, no
// closure; the hot path (executor.ts, outcomes.ts) is otherwise unchanged.
import { errorMessage } from "../internal/errors.js";
import type { Logger } from "../internal/logger.js";
import type { RunningTask } from "./executor.js";
import type { RecoveredTask } from "./recoverer.js";

/** The fields of every task event. */
export interface TaskEvent {
  /** The task's type. */
  type: string;
  /** The task's ID. */
  id: string;
  /** Its queue. */
  queue: string;
  /** The attempt, from 1 (retries done + 1). */
  attempt: number;
  /** How many attempts the task may have in all (max retry + 1). */
  maxAttempts: number;
}

/** A task that starts on this server. */
export interface TaskActiveEvent extends TaskEvent {
  /**
   * How long it waited in pending, in ms: from when it became pending (enqueued, or moved there when
   * its scheduled or retry time came) to this start. Missing when Redis holds no such time (a task
   * put back in pending by a shutdown, or by asynq's tools).
   */
  wait?: number;
}

/** An attempt that ended: how long its handler ran. */
export interface TaskEndEvent extends TaskEvent {
  /** From the handler's start to its end, in ms. */
  duration: number;
}

/** A failed attempt, and what happens to the task next. */
export interface TaskFailedEvent extends TaskEndEvent {
  /** The handler's error (or the TaskAbortedError of a timeout, deadline, cancelation). */
  error: Error;
  /** What happens next: retried later, archived, archived as expired, or revoked (deleted). */
  next: "retry" | "archived" | "expired" | "revoked";
}

/** A task scheduled for another attempt after a failure. */
export interface TaskRetryEvent extends TaskEndEvent {
  error: Error;
  /** When it will be retried (ms since the epoch). */
  retryAt: number;
}

/** A task archived: its retries are exhausted, or it asked for no retry (SkipRetry). */
export interface TaskArchivedEvent extends TaskEndEvent {
  error: Error;
  reason: "retries-exhausted" | "skip-retry";
}

/**
 * A task whose deadline passed: before it could start (`duration` 0, no handler ran), or before its
 * next retry (after a `failed` event). Archived, or deleted with `onExpired: "delete"`.
 */
export interface TaskExpiredEvent extends TaskEndEvent {
  deadline: Date;
  /** True when the handler never ran: the deadline had passed when the task was dequeued. */
  beforeStart: boolean;
}

/** A task of a crashed or stalled worker (its lease ran out) settled by this server's recoverer. */
export type TaskRecoveredEvent = RecoveredTask;

/** Something the server could not do on its own, as logged at error level. */
export interface ServerErrorEvent {
  error: Error;
  /** What failed: `settle`, `write outcome`, `quarantine`. */
  operation: string;
  /** The task concerned, when there is one. */
  id?: string;
  queue?: string;
}

/** Every event of a {@link Server}, by name, with what its listeners receive. */
export interface ServerEvents {
  /** A task was dequeued and starts on this server (its handler runs next, unless its deadline has passed: `expired`). */
  active: TaskActiveEvent;
  /** A handler succeeded (its success write is queued: the task is done). */
  completed: TaskEndEvent;
  /** A handler failed (each failed attempt once), followed by `retry`, `archived` or `expired` (none when revoked). */
  failed: TaskFailedEvent;
  retry: TaskRetryEvent;
  archived: TaskArchivedEvent;
  expired: TaskExpiredEvent;
  recovered: TaskRecoveredEvent;
  /** Unlike Node's EventEmitter, an `error` event nobody listens to is not thrown. */
  error: ServerErrorEvent;
}

/** The name of a server event. */
export type ServerEventName = keyof ServerEvents;

/** A listener of a server event; what it returns is ignored (a rejected promise is logged). */
export type ServerEventListener<E extends ServerEventName> = (event: ServerEvents[E]) => unknown;

const NAMES: readonly ServerEventName[] = [
  "active",
  "completed",
  "failed",
  "retry",
  "archived",
  "expired",
  "recovered",
  "error",
];

type AnyListener = (event: never) => unknown;

/** A registration: what emit calls, and the listener given to on/once (what off looks for). */
interface Entry {
  call: AnyListener;
  listener: AnyListener;
}

/**
 * The listeners of a server's events. Emitting sites check `count[name] > 0` before they build an
 * event; a listener that throws (or rejects) is logged and never disturbs the task.
 */
export class EventHub {
  /** Listeners per event, read by the emitting sites before anything is built. */
  readonly count: Record<ServerEventName, number> = {
    active: 0,
    completed: 0,
    failed: 0,
    retry: 0,
    archived: 0,
    expired: 0,
    recovered: 0,
    error: 0,
  };
  private readonly listeners = new Map<ServerEventName, Entry[]>();

  constructor(private readonly logger: () => Logger | undefined = () => undefined) {}

  on<E extends ServerEventName>(name: E, listener: ServerEventListener<E>): void {
    this.add(name, { call: listener, listener });
  }

  /** Like {@link on}, for the next event only; {@link off} with the same listener removes it too. */
  once<E extends ServerEventName>(name: E, listener: ServerEventListener<E>): void {
    const entry: Entry = {
      call: (event: ServerEvents[E]) => {
        this.remove(name, entry);
        return listener(event);
      },
      listener,
    };
    this.add(name, entry);
  }

  /** Removes the last registration of `listener` (by on or once); nothing when there is none. */
  off<E extends ServerEventName>(name: E, listener: ServerEventListener<E>): void {
    const list = this.listeners.get(name);
    if (list === undefined) return;
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i]!.listener === listener) return this.remove(name, list[i]!);
    }
  }

  private add(name: ServerEventName, entry: Entry): void {
    if (!NAMES.includes(name)) throw new TypeError(`unknown server event "${String(name)}"`);
    if (typeof entry.listener !== "function") throw new TypeError("an event listener must be a function");
    // Copied on write: an emit going on keeps the list it started with.
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), entry]);
    this.count[name]++;
  }

  private remove(name: ServerEventName, entry: Entry): void {
    const list = this.listeners.get(name);
    const i = list?.indexOf(entry) ?? -1;
    if (list === undefined || i < 0) return; // a once entry removed by off before its event
    this.listeners.set(name, list.toSpliced(i, 1));
    this.count[name]--;
  }

  /** Calls every listener of `name`; callers check `count[name] > 0` first, so as to build nothing otherwise. */
  emit<E extends ServerEventName>(name: E, event: ServerEvents[E]): void {
    for (const { call } of this.listeners.get(name) ?? []) {
      try {
        const returned = (call as (event: ServerEvents[E]) => unknown)(event);
        if (returned instanceof Promise) returned.catch((error: unknown) => this.listenerFailed(name, error));
      } catch (error) {
        this.listenerFailed(name, error);
      }
    }
  }

  private listenerFailed(name: ServerEventName, error: unknown): void {
    this.logger()?.error(`a "${name}" event listener threw: ${errorMessage(error)}`, {
      component: "server",
      operation: `event ${name}`,
      error: errorMessage(error),
    });
  }
}

/** The fields of every event about a task (built only when someone listens). */
export function taskEvent(task: RunningTask): TaskEvent {
  const { msg } = task;
  return {
    type: msg.type,
    id: task.id,
    queue: task.queue,
    attempt: msg.retried + 1,
    maxAttempts: msg.retry + 1,
  };
}

/** The hub of components built without one (tests): nobody ever listens. */
export const NO_EVENTS = new EventHub();
