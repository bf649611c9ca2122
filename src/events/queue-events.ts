// QueueEvents: what happens to a queue's tasks, heard from any process (the workers write a bounded
// stream only while someone listens; see src/broker/lua/events.lua).
import { EventEmitter } from "node:events";
import { openBroker } from "../broker/broker.js";
import { openConnection, type RedisConnection } from "../broker/connection/connection.js";
import { resolveConnectionOptions, type ConnectionOptions } from "../broker/connection/options.js";
import type { Broker, StreamEntry } from "../broker/ports.js";
import { checkQueue } from "../client/options.js";
import { decodeEntry, type QueueEventMap } from "./entries.js";
import { StreamFollower } from "./follower.js";

export type {
  QueueEventMap,
  QueueTaskEvent,
  QueueCompletedEvent,
  QueueFailedEvent,
  QueueRetryEvent,
  QueueArchivedEvent,
  QueueProgressEvent,
  QueueLostEvent,
} from "./entries.js";

/** Options of {@link QueueEvents}: how to reach Redis. */
export type QueueEventsOptions = ConnectionOptions;

/**
 * Listens to one queue's task events from every asynq-ts worker, in any process: `completed` (with
 * a result of up to 4 KiB), `failed` (each failed attempt, with what comes next), `retry`,
 * `archived`, `expired`, `revoked` and `progress` (a failure gives `failed`, then the event of what
 * comes next).
 *
 * Delivery: every event written after {@link QueueEvents.ready} resolves is delivered once, in the
 * order the workers wrote them, while this listener keeps up: the stream keeps about the last 10,000
 * events of the queue, and expires 10 minutes after its last one. A listener that falls further
 * behind (or is cut off from Redis longer) misses the events trimmed meanwhile, and hears `lost`
 * (on Redis 7.0 and later); events are not replayed to a listener that starts later. Workers write the stream only while at least one listener
 * exists (each refreshes a marker key every 10 s, with a 30 s TTL), so a queue nobody listens to
 * costs nothing more than one `EXISTS` inside each finishing script. Go's asynq servers write no
 * events: tasks they process are not heard.
 *
 * @example
 * ```ts
 * import { QueueEvents } from "asynq-ts";
 * const events = new QueueEvents("redis://127.0.0.1:6379", "default");
 * events.on("completed", (e) => console.log(`${e.id} done`));
 * events.on("failed", (e) => console.warn(`${e.id}: ${e.error} → ${e.next}`));
 * await events.ready();
 * // … later
 * await events.close();
 * ```
 */
export class QueueEvents {
  /** The queue listened to. */
  readonly queue: string;
  private readonly emitter = new EventEmitter();
  private readonly broker: Broker;
  private readonly follower: StreamFollower;
  private closing: Promise<void> | undefined;

  /**
   * Starts listening at once.
   * @param redis a `redis://` / `rediss://` URL, ioredis options, or an ioredis connection you own.
   * @throws ValidationError for an invalid queue name or option.
   */
  constructor(redis: RedisConnection, queue: string, options: QueueEventsOptions = {}) {
    this.queue = checkQueue(queue, "queue");
    const connection = resolveConnectionOptions(options);
    this.broker = openBroker(openConnection(redis, "queueEvents.constructor", connection), {
      options: connection,
    });
    this.emitter.setMaxListeners(0);
    this.follower = new StreamFollower(
      this.broker.openEvents(this.queue),
      (entries) => this.deliver(entries),
      (error) => {
        if (this.emitter.listenerCount("error") > 0) this.emitter.emit("error", error);
      },
      undefined,
      (loss) => this.emit("lost", { queue: this.queue, ...loss }),
    );
  }

  /**
   * Resolves once listening: every event written after it is delivered.
   * @throws ConnectionError (a BrokerError) when Redis cannot be reached.
   */
  async ready(): Promise<void> {
    await this.follower.ready;
  }

  /** Adds a listener of `event`. */
  on<E extends keyof QueueEventMap>(event: E, listener: (e: QueueEventMap[E]) => void): this {
    this.emitter.on(event, listener);
    return this;
  }

  /** Adds a listener of the next `event` only. */
  once<E extends keyof QueueEventMap>(event: E, listener: (e: QueueEventMap[E]) => void): this {
    this.emitter.once(event, listener);
    return this;
  }

  /** Removes a listener added with `on` or `once`. */
  off<E extends keyof QueueEventMap>(event: E, listener: (e: QueueEventMap[E]) => void): this {
    this.emitter.off(event, listener);
    return this;
  }

  /** Stops listening and closes the connection (when it is one asynq-ts opened). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.follower.close();
      await this.broker.close();
    })();
    return this.closing;
  }

  /** Closes when an `await using` block ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private deliver(entries: StreamEntry[]): void {
    for (const entry of entries) {
      const decoded = decodeEntry(this.queue, entry);
      if (decoded === undefined) continue;
      // As the Server's events: `failed` first, then what happens next.
      if ("failed" in decoded && decoded.failed !== undefined) this.emit("failed", decoded.failed);
      this.emit(decoded.name, decoded.event);
    }
  }

  /** A listener that throws goes to the `error` listeners; it never stops the stream. */
  private emit(name: string, event: unknown): void {
    try {
      this.emitter.emit(name, event);
    } catch (error) {
      if (this.emitter.listenerCount("error") > 0) this.emitter.emit("error", error);
    }
  }
}
