// The entries of a queue's event stream (written by src/broker/lua/events.lua) as typed events.
import type { StreamEntry } from "../broker/ports.js";

/** A task event read from a queue's stream. */
export interface QueueTaskEvent {
  /** The task's ID. */
  id: string;
  /** Its queue. */
  queue: string;
}

/** A task that succeeded. */
export interface QueueCompletedEvent extends QueueTaskEvent {
  /**
   * Its result when it had one of at most 4 KiB (larger ones stay in the task hash, when the task is
   * retained).
   */
  result?: Uint8Array;
}

/** A failed attempt, and what happens to the task next. */
export interface QueueFailedEvent extends QueueTaskEvent {
  /** The attempt's error message ("" for a revoked task). */
  error: string;
  next: "retry" | "archived" | "expired" | "revoked";
}

/** A failed attempt scheduled for another try. */
export interface QueueRetryEvent extends QueueTaskEvent {
  error: string;
  /** When it will be tried again. */
  retryAt: Date;
}

/** A task archived (retries exhausted, SkipRetry) or expired (its deadline ended it). */
export interface QueueArchivedEvent extends QueueTaskEvent {
  error: string;
}

/** A task's progress, as its handler reported it (`ctx.progress`). */
export interface QueueProgressEvent extends QueueTaskEvent {
  progress: unknown;
}

/**
 * Events this listener never got: the stream keeps about the last 10,000 events, and the listener
 * fell further behind, so `count` events after `afterId` were trimmed before it read them. Heard on
 * Redis 7.0 and later (and Valkey 8); earlier versions cannot tell.
 */
export interface QueueLostEvent {
  queue: string;
  /** The stream ID of the last event read before the loss ("0-0": none yet). */
  afterId: string;
  /** How many events were lost. */
  count: number;
  /** The stream ID of the first event delivered after the loss. */
  nextId: string;
}

/** Every event of a {@link QueueEvents}, by name. */
export interface QueueEventMap {
  completed: QueueCompletedEvent;
  /** Each failed attempt, followed by nothing else (`next` says what happens). */
  failed: QueueFailedEvent;
  retry: QueueRetryEvent;
  archived: QueueArchivedEvent;
  expired: QueueArchivedEvent;
  revoked: QueueTaskEvent;
  progress: QueueProgressEvent;
  /** Events were trimmed before this listener read them (it fell ~10,000 events behind). */
  lost: QueueLostEvent;
  /** The stream could not be read (it is read again after a pause); nothing is thrown when nobody listens. */
  error: Error;
}

/** What one stream entry gives: its event, and the `failed` event that goes with a failure. */
export type DecodedEntry =
  | { name: "completed"; event: QueueCompletedEvent }
  | { name: "retry"; event: QueueRetryEvent; failed: QueueFailedEvent }
  | { name: "archived" | "expired"; event: QueueArchivedEvent; failed?: QueueFailedEvent }
  | { name: "revoked"; event: QueueTaskEvent; failed: QueueFailedEvent }
  | { name: "progress"; event: QueueProgressEvent };

/** Decodes an entry; undefined for one this version does not know (a newer writer's). */
export function decodeEntry(queue: string, entry: StreamEntry): DecodedEntry | undefined {
  const { fields } = entry;
  const text = (name: string): string =>
    fields[name] === undefined ? "" : Buffer.from(fields[name]).toString("utf8");
  const id = text("id");
  if (id === "") return undefined;
  const base = { id, queue };
  const name = text("event");
  switch (name) {
    case "completed":
      return { name, event: fields.result === undefined ? base : { ...base, result: fields.result } };
    case "retry": {
      const error = text("error");
      const retryAt = new Date(Number(text("retry_at")) * 1000);
      return { name, event: { ...base, error, retryAt }, failed: { ...base, error, next: "retry" } };
    }
    case "archived":
    case "expired": {
      const error = text("error");
      // A task whose deadline passed before it could start had no failed attempt.
      if (fields.failed !== undefined && text("failed") !== "1") return { name, event: { ...base, error } };
      return { name, event: { ...base, error }, failed: { ...base, error, next: name } };
    }
    case "revoked":
      return { name, event: base, failed: { ...base, error: "", next: "revoked" } };
    case "progress": {
      let progress: unknown;
      try {
        progress = JSON.parse(text("progress"));
      } catch {
        progress = text("progress");
      }
      return { name, event: { ...base, progress } };
    }
    default:
      return undefined;
  }
}
