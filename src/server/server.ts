// The Server: processes tasks from Redis with a handler or a ServeMux, as a Go asynq server does.
// It wires the components; each has the same shape (built from params, start(), shutdown()).
import { randomUUID } from "node:crypto";
import { openBroker } from "../broker/broker.js";
import type { ServerPort } from "../broker/ports.js";
import { openConnection, type RedisConnection } from "../broker/connection/connection.js";
import { AsynqError, ValidationError } from "../errors.js";
import { DEFAULTS } from "../defaults.js";
import { Aggregator } from "./aggregator.js";
import { resolveServerConfig, type ResolvedServerConfig, type ServerConfig } from "./config.js";
import { EventHub, type ServerEventListener, type ServerEventName } from "./events.js";
import { Forwarder } from "./forwarder.js";
import { HealthChecker } from "./healthchecker.js";
import { Heartbeater } from "./heartbeater.js";
import { Janitor } from "./janitor.js";
import { ServeMux, type Handler } from "./mux.js";
import { Processor } from "./processor.js";
import { Recoverer } from "./recoverer.js";
import { Subscriber } from "./subscriber.js";

type State = "new" | "starting" | "active" | "stopped" | "closed";

/** Longest wait for one shutdown step other than the processor's drain. */
const STEP_TIMEOUT_MS = 1000;
/** What a step still gets once the shutdown budget is spent, so that steps that are quick finish. */
const MIN_STEP_MS = 50;

/** The components of a running server. */
interface Components {
  processor: Processor;
  heartbeater: Heartbeater;
  forwarder: Forwarder;
  recoverer: Recoverer;
  janitor: Janitor;
  aggregator: Aggregator;
  subscriber: Subscriber;
  healthChecker: HealthChecker | undefined;
}

/**
 * A worker server: takes tasks from its queues and runs them with your handler, at most
 * `concurrency` at a time, with retries, deadlines and archiving as asynq does. Go asynq servers
 * and asynq-ts servers can serve the same queues, and recover each other's tasks after a crash.
 *
 * Note: JavaScript cannot kill a promise. When a task's timeout or deadline passes, its signal is
 * aborted and the attempt fails at once, and its slot is freed; a handler that ignores the signal
 * keeps running in the background until it returns by itself.
 *
 * @example
 * ```ts
 * const mux = new ServeMux();
 * mux.handle("email:deliver", async (task, ctx) => {
 *   const { to } = JSON.parse(Buffer.from(task.payload).toString());
 *   await sendMail(to, { signal: ctx.signal });
 * });
 * const server = new Server("redis://127.0.0.1:6379", { concurrency: 10, queues: { critical: 6, default: 3, low: 1 } });
 * await server.run(mux); // until SIGTERM or SIGINT, then a graceful shutdown
 * ```
 */
export class Server {
  /** This server's ID (UUID v4), as listed by asynqmon and the `asynq` CLI. */
  readonly id = randomUUID();
  private readonly config: ResolvedServerConfig;
  private readonly broker: ServerPort;
  private readonly events: EventHub;
  private components: Components | undefined;
  private state: State = "new";
  private closing: Promise<void> | undefined;
  private markClosed: () => void = () => {};
  /** Resolves when shutdown has completed. */
  private readonly closed = new Promise<void>((resolve) => (this.markClosed = resolve));

  /**
   * @param redis a URL, ioredis options, or an ioredis connection you own (left open by `shutdown()`;
   *   replacing it when it goes silent is then your job: ioredis `socketTimeout` and `keepAlive`).
   *   Nothing connects before `start()`.
   * @param config see {@link ServerConfig}; every option has asynq's default.
   * @throws ValidationError for an invalid connection argument or option.
   */
  constructor(redis: RedisConnection, config: ServerConfig = {}) {
    this.config = resolveServerConfig(config);
    this.events = new EventHub(() => this.config.logger);
    // A server waits out Redis outages instead of failing commands after a few retries; a silent
    // connection is still replaced within commandTimeout, and outages are logged once each way.
    const { connection, logger } = this.config;
    this.broker = openBroker(
      openConnection(redis, "server.constructor", connection, { maxRetriesPerRequest: null }),
      { options: connection, waitOutOutages: true, logger },
    );
  }

  /**
   * Connects to Redis, then starts processing with `handler` (a function or a ServeMux), and the
   * background components: heartbeats and leases, the forwarder of scheduled tasks and retries, the
   * recoverer of crashed workers' tasks, the janitor, cancelation, and the optional health check.
   * Resolves once they run and the cancelation channel is subscribed (so `cancelProcessing` from
   * then on reaches this server), or after `connectTimeout` if the subscription is slower. Outages
   * after that are waited out (and logged once each way).
   * @throws ValidationError (synchronously) when the handler is neither a function nor a ServeMux.
   * @throws AsynqError (`ERR_SERVER_STATE`, synchronously) when the server was started before.
   * @throws ConnectionError (rejected, within `connectTimeout`) when Redis cannot be reached or used:
   *   refused, unknown host, wrong password, DB index out of range. Nothing was written; `start()`
   *   may be called again.
   */
  start(handler: Handler | ServeMux): Promise<void> {
    const fn = handler instanceof ServeMux ? handler.process : handler;
    if (typeof fn !== "function") {
      throw new ValidationError("handler", handler, "expected a handler function or a ServeMux");
    }
    if (this.state !== "new") {
      throw new AsynqError("ERR_SERVER_STATE", `server cannot start: it is ${this.state}`, {
        op: "server.start",
      });
    }
    this.state = "starting";
    return this.begin(fn);
  }

  private async begin(fn: Handler): Promise<void> {
    try {
      await this.broker.connect("server.start");
    } catch (error) {
      if (this.state === "starting") this.state = "new";
      throw error;
    }
    if (this.state !== "starting") {
      throw new AsynqError("ERR_SERVER_STATE", `server cannot start: it is ${this.state}`, {
        op: "server.start",
      });
    }
    this.state = "active";
    const c = this.build(fn);
    this.components = c;
    c.heartbeater.start();
    // The cancelation channel first: a task taken from now on, and a cancelation sent once start()
    // has resolved, are heard. The SUBSCRIBE's answer comes one round trip later on the connection
    // just checked; bounded all the same (a slower subscription goes on by itself).
    c.subscriber.start();
    await c.subscriber.ready(this.config.connection.connectTimeout);
    const state = this.state as State; // shutdown() or stop() may have come meanwhile
    if (state === "closed") return;
    // After a stop(): no task is taken, and the rest runs as after a stop().
    if (state === "active") c.processor.start();
    for (const component of [c.forwarder, c.recoverer, c.janitor, c.aggregator]) component.start();
    c.healthChecker?.start();
    const queues = Object.entries(this.config.queues).map(([q, p]) => `${q}:${p}`);
    this.config.logger.info(
      `server ${this.id} started (concurrency ${this.config.concurrency}, queues ${queues.join(", ")})`,
      {
        component: "server",
        serverId: this.id,
        concurrency: this.config.concurrency,
        queues: queues.join(","),
      },
    );
  }

  /**
   * Starts the server (as `start`) and handles signals as asynq's `Run` does: SIGTERM and SIGINT shut
   * it down gracefully, SIGTSTP stops taking new tasks. Resolves once it has shut down.
   * @throws as `start`.
   */
  async run(handler: Handler | ServeMux): Promise<void> {
    await this.start(handler);
    const onShutdown = (signal: NodeJS.Signals): void => {
      this.config.logger.info(`${signal} received: shutting down`, {
        component: "server",
        serverId: this.id,
        signal,
      });
      void this.shutdown();
    };
    const onStop = (): void => {
      this.config.logger.info("SIGTSTP received: no new tasks will be taken", {
        component: "server",
        serverId: this.id,
        signal: "SIGTSTP",
      });
      void this.stop();
    };
    process.on("SIGTERM", onShutdown);
    process.on("SIGINT", onShutdown);
    process.on("SIGTSTP", onStop);
    try {
      await this.closed;
    } finally {
      process.off("SIGTERM", onShutdown);
      process.off("SIGINT", onShutdown);
      process.off("SIGTSTP", onStop);
    }
  }

  /**
   * Listens to an event of this server (see {@link ServerEvents}): `active`, `completed`, `failed`,
   * `retry`, `archived`, `expired`, `recovered`, `error`. Events cost nothing while nobody listens to
   * them. A listener runs synchronously on the task's path: keep it short (a throw or rejection is
   * logged, never seen by the task). An `error` event nobody listens to is not thrown.
   * @example
   * ```ts
   * server.on("completed", (e) => console.log(`${e.type} ${e.id} took ${e.duration} ms`));
   * server.on("failed", (e) => console.warn(`${e.type} ${e.id} attempt ${e.attempt}: ${e.error.message} → ${e.next}`));
   * ```
   */
  on<E extends ServerEventName>(event: E, listener: ServerEventListener<E>): this {
    this.events.on(event, listener);
    return this;
  }

  /** Removes a listener added with {@link Server.on} or {@link Server.once} (its last registration). */
  off<E extends ServerEventName>(event: E, listener: ServerEventListener<E>): this {
    this.events.off(event, listener);
    return this;
  }

  /** Listens to the next `event` only. */
  once<E extends ServerEventName>(event: E, listener: ServerEventListener<E>): this {
    this.events.once(event, listener);
    return this;
  }

  /** The number of listeners of `event`. */
  listenerCount(event: ServerEventName): number {
    return this.events.count[event] ?? 0;
  }

  /** Stops taking new tasks; running tasks go on until they finish. `shutdown()` still needs calling. */
  async stop(): Promise<void> {
    if (this.state !== "active") return;
    this.state = "stopped";
    await this.components?.processor.stop();
    this.config.logger.info("server stopped taking new tasks", { component: "server", serverId: this.id });
  }

  /**
   * Shuts down gracefully: stops taking tasks, waits up to `shutdownTimeout` for running ones, puts
   * those still running back at the front of their queues, removes the server's state from Redis,
   * and closes the connection if the server created it. Safe to call more than once.
   */
  shutdown(): Promise<void> {
    this.closing ??= this.close();
    return this.closing;
  }

  /**
   * Shuts the server down gracefully when an `await using` block ends (same as
   * {@link Server.shutdown}).
   * @example
   * ```ts
   * await using server = new Server("redis://127.0.0.1:6379", { concurrency: 5 });
   * await server.start(mux);
   * await doOtherWork();
   * // shut down here: running tasks get `shutdownTimeout`, then go back to their queue
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  /** Number of tasks running now. */
  get running(): number {
    let n = 0;
    for (const _ of this.components?.processor.runningTasks() ?? []) n++;
    return n;
  }

  // Shutdown order (wire-format §5.9; senders stop before receivers): the forwarder stops feeding pending;
  // the processor stops taking tasks and drains (requeueing what outlives shutdownTimeout); then the
  // recoverer, janitor, aggregator (a running groupAggregator call is given up: its set is left for
  // reclaim), subscriber and health checker; the heartbeater last, which removes the
  // server's state from Redis (its beats report "closed" meanwhile); then the connection.
  private async close(): Promise<void> {
    this.state = "closed";
    const c = this.components;
    // Each step is bounded: while Redis is unreachable the server's commands wait for it, and a
    // shutdown must not wait with them (what is left unwritten is the recoverer's, through leases).
    // All steps together get shutdownTimeout + STEP_TIMEOUT_MS (+ MIN_STEP_MS for each step left
    // once that is spent): 9.2 s at most with the default 8 s, Redis down or not.
    const deadline = Date.now() + this.config.shutdownTimeout + STEP_TIMEOUT_MS;
    const step = (what: string, work: Promise<unknown>, ms = STEP_TIMEOUT_MS) =>
      this.bounded(what, work, Math.max(MIN_STEP_MS, Math.min(ms, deadline - Date.now())));
    if (c !== undefined) {
      await step("forwarder", c.forwarder.shutdown());
      await step("processor", c.processor.shutdown(), this.config.shutdownTimeout + 2 * STEP_TIMEOUT_MS);
      await step(
        "background components",
        Promise.all([
          c.recoverer.shutdown(),
          c.janitor.shutdown(),
          c.aggregator.shutdown(),
          c.subscriber.shutdown(),
          c.healthChecker?.shutdown(),
        ]),
      );
      await step("heartbeater", c.heartbeater.shutdown());
    }
    await step("connection", this.broker.close());
    this.config.logger.info(`server ${this.id} shut down`, { component: "server", serverId: this.id });
    this.markClosed();
  }

  /** Waits for `work` at most `ms`; logs when it had to give up. */
  private async bounded(what: string, work: Promise<unknown>, ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), ms)));
    const late = await Promise.race([
      work.then(
        () => false,
        () => false,
      ),
      timedOut,
    ]);
    clearTimeout(timer);
    if (late) {
      this.config.logger.warn(`shutdown: ${what} did not stop within ${ms} ms (is Redis reachable?)`, {
        component: "server",
        serverId: this.id,
        operation: `stop ${what}`,
        timeoutMs: ms,
      });
    }
  }

  private build(handler: Handler): Components {
    const { broker, config } = this;
    const { clock, logger } = config;
    const queues = Object.keys(config.queues);
    const { events } = this;
    const processor = new Processor(broker, config, handler, events);
    return {
      processor,
      heartbeater: new Heartbeater({
        broker,
        clock,
        logger,
        serverId: this.id,
        concurrency: config.concurrency,
        queues: config.queues,
        strictPriority: config.strictPriority,
        leaseDuration: config.leaseDuration,
        interval: config.heartbeatInterval,
        status: () => (this.state === "new" || this.state === "starting" ? "active" : this.state),
        tasks: () => processor.runningTasks(),
        onLeaseLost: (id) => processor.abort(id, "lease-lost"),
      }),
      forwarder: new Forwarder({ broker, clock, logger, queues }),
      recoverer: new Recoverer({
        broker,
        clock,
        logger,
        queues,
        retryDelay: config.retryDelay,
        isFailure: config.isFailure,
        interval: config.recoverInterval,
        grace: config.recoveryGrace,
        aggregation: { broker, pageSize: DEFAULTS.aggregator.pageSize },
        onRecovered: (task) => {
          if (events.count.recovered > 0) events.emit("recovered", { ...task });
        },
      }),
      janitor: new Janitor({
        broker,
        clock,
        logger,
        queues,
        interval: config.janitorInterval,
        batchSize: config.janitorBatchSize,
        archiveMaxSize: config.archiveMaxSize,
        archiveMaxAge: config.archiveMaxAge,
      }),
      aggregator: new Aggregator({
        broker,
        clock,
        logger,
        queues,
        aggregate: config.groupAggregator,
        gracePeriod: config.groupGracePeriod,
        maxDelay: config.groupMaxDelay,
        maxSize: config.groupMaxSize,
        interval: Math.min(DEFAULTS.aggregator.checkInterval, config.groupGracePeriod),
        setDeadline: DEFAULTS.aggregator.setDeadline,
        pageSize: DEFAULTS.aggregator.pageSize,
        errorHandler: config.errorHandler,
      }),
      subscriber: new Subscriber({ broker, logger, cancel: (id) => processor.abort(id, "canceled") }),
      healthChecker:
        config.healthCheck === undefined
          ? undefined
          : new HealthChecker({
              ping: () => broker.ping(Math.max(1000, config.healthCheckInterval / 2)),
              logger,
              callback: config.healthCheck,
              onFailure: (error) => broker.resetConnection(error),
              interval: config.healthCheckInterval,
            }),
    };
  }
}
