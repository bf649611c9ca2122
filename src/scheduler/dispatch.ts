// Enqueues the task of one tick (wire-format §6.2, steps 1-4): the pre-enqueue hook, the enqueue with
// the entry's tick marker (one enqueue per tick across asynq-ts schedulers), the post-enqueue hook,
// and the history event of a successful enqueue. Every failure is reported, none is thrown.
import type { EnqueueRequest, SchedulerPort, TickOutcome } from "../broker/ports.js";
import { resolveTask } from "../client/options.js";
import { DuplicateTaskError, TaskIdConflictError } from "../errors.js";
import { errorMessage, toError } from "../internal/errors.js";
import { taskInfoFromMessage } from "../task-info.js";
import type { TaskInfo } from "../task.js";
import { newSchedulerEnqueueEvent } from "../wire/proto.js";
import { timestampOf, type Entry } from "./entry.js";
import type { ResolvedSchedulerOptions, TickInfo, TickResult } from "./options.js";

/** What a dispatch needs. */
export interface DispatchParams {
  broker: Pick<SchedulerPort, "enqueueTick" | "recordSchedulerEvent">;
  options: Pick<
    ResolvedSchedulerOptions,
    | "clock"
    | "logger"
    | "preEnqueue"
    | "postEnqueue"
    | "errorHandler"
    | "historySize"
    | "tickMarkerGrace"
    | "runOnceWithin"
  >;
}

/**
 * Enqueues the task of `entry`'s tick at `tickMs` unless an asynq-ts scheduler enqueued that tick
 * already. `overdueOnly` marks the run-once of a missed `@every` tick: it applies only while the
 * entry's marker exists (the entry ran before), and a refusal is no news (nothing was missed).
 * Never throws.
 * @returns what became of the tick.
 */
export async function dispatchTick(
  p: DispatchParams,
  entry: Entry,
  tickMs: number,
  overdueOnly = false,
): Promise<TickResult["status"]> {
  const { options } = p;
  const tick: TickInfo = { entryId: entry.id, spec: entry.schedule.spec, tick: new Date(tickMs) };
  await hook(p, "preEnqueue", () => options.preEnqueue?.(entry.task, entry.options, tick));
  const nowMs = options.clock.now();
  let outcome: TickOutcome;
  let request: EnqueueRequest;
  try {
    // Validated at register; an option relative to now (a deadline that has passed) may fail here.
    request = resolveTask(entry.task, entry.options, nowMs).request;
    outcome = await p.broker.enqueueTick({
      request,
      identity: entry.identity,
      tickSeconds: Math.floor(tickMs / 1000),
      gapSeconds: entry.schedule.everyMs === undefined ? 1 : entry.schedule.everyMs / 1000,
      markerTtlSeconds: markerTtlSeconds(p, entry, tickMs),
      nowMs,
      ...(overdueOnly ? { requireMarker: true } : {}),
    });
  } catch (thrown) {
    return failed(p, entry, tick, toError(thrown));
  }
  const { msg, target } = request;
  if (outcome === "duplicate") {
    return failed(
      p,
      entry,
      tick,
      new DuplicateTaskError(msg.queue, msg.uniqueKey, { op: "scheduler.enqueue" }),
    );
  }
  if (outcome === "conflict") {
    return failed(p, entry, tick, new TaskIdConflictError(msg.queue, msg.id, { op: "scheduler.enqueue" }));
  }
  // The run-once of an @every entry that was not overdue (or never ran): nothing was missed.
  if (outcome === "already-enqueued" && overdueOnly) return outcome;
  if (outcome === "already-enqueued") {
    options.logger.debug(
      `tick of entry ${entry.id} (${entry.schedule.spec}) was enqueued by another scheduler`,
      {
        entryId: entry.id,
        tick: tick.tick.toISOString(),
        outcome: "already-enqueued",
      },
    );
    await hook(p, "postEnqueue", () => options.postEnqueue?.({ ...tick, status: "already-enqueued" }));
    return "already-enqueued";
  }
  const nextProcessAt =
    target.kind === "scheduled"
      ? new Date(target.processAtSeconds * 1000)
      : target.kind === "pending"
        ? new Date(Math.floor(nowMs / 1000) * 1000)
        : null;
  const state =
    target.kind === "scheduled" ? "scheduled" : target.kind === "group" ? "aggregating" : "pending";
  const info: TaskInfo = taskInfoFromMessage(msg, state, nextProcessAt, null);
  options.logger.debug(`enqueued task ${msg.id} (${msg.type}) for entry ${entry.id}`, {
    entryId: entry.id,
    taskId: msg.id,
    type: msg.type,
    queue: msg.queue,
    tick: tick.tick.toISOString(),
  });
  try {
    const event = newSchedulerEnqueueEvent({ taskId: msg.id, enqueueTime: timestampOf(nowMs) });
    await p.broker.recordSchedulerEvent(entry.id, event, options.historySize);
  } catch (thrown) {
    options.logger.warn(
      `could not record the enqueue of task ${msg.id} in the history of entry ${entry.id}`,
      {
        entryId: entry.id,
        taskId: msg.id,
        operation: "record history",
        error: errorMessage(thrown),
      },
    );
  }
  await hook(p, "postEnqueue", () => options.postEnqueue?.({ ...tick, status: "enqueued", info }));
  return "enqueued";
}

/**
 * How long the entry's tick marker lives: until the entry's next tick, plus the grace for late
 * schedulers (or the missed-tick window, if longer), in whole seconds.
 */
function markerTtlSeconds(p: DispatchParams, entry: Entry, tickMs: number): number {
  const next = entry.schedule.next(tickMs) ?? tickMs;
  const extra = Math.max(p.options.tickMarkerGrace, p.options.runOnceWithin ?? 0);
  return Math.max(1, Math.ceil((next - tickMs + extra) / 1000));
}

async function failed(p: DispatchParams, entry: Entry, tick: TickInfo, error: Error): Promise<"failed"> {
  p.options.logger.warn(
    `could not enqueue the tick of entry ${entry.id} (${entry.schedule.spec}): ${error.message}`,
    {
      entryId: entry.id,
      type: entry.task.type,
      tick: tick.tick.toISOString(),
      operation: "enqueue",
      error: error.message,
    },
  );
  await hook(p, "errorHandler", () => p.options.errorHandler?.(error, entry.task, tick));
  await hook(p, "postEnqueue", () => p.options.postEnqueue?.({ ...tick, status: "failed", error }));
  return "failed";
}

/** Runs a user hook; what it throws (or rejects with) is logged, never passed on. */
async function hook(
  p: DispatchParams,
  name: string,
  call: () => void | Promise<void> | undefined,
): Promise<void> {
  try {
    await call();
  } catch (thrown) {
    p.options.logger.error(`the ${name} hook threw: ${errorMessage(thrown)}`, {
      operation: name,
      error: errorMessage(thrown),
    });
  }
}
