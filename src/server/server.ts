// The Server: processes tasks from Redis with a handler or a ServeMux, as a Go asynq server does.
// It wires the components; each has the same shape (built from params, start(), shutdown()).
import { RedisBroker, type Broker } from "../broker/broker.js";
import { openConnection, type RedisConnection } from "../broker/connection.js";
import { AsynqError, ValidationError } from "../errors.js";
import { resolveServerConfig, type ResolvedServerConfig, type ServerConfig } from "./config.js";
import { ServeMux, type Handler } from "./mux.js";
import { Processor } from "./processor.js";

type State = "new" | "active" | "stopped" | "closed";

/**
 * A worker server: takes tasks from its queues and runs them with your handler, at most
 * `concurrency` at a time, with retries, deadlines and archiving as asynq does. Go asynq servers
 * and asynq-ts servers can serve the same queues.
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
 * await server.start(mux);
 * // …
 * await server.shutdown();
 * ```
 */
export class Server {
  private readonly config: ResolvedServerConfig;
  private readonly broker: Broker;
  private processor: Processor | undefined;
  private state: State = "new";

  /**
   * @param redis a URL, ioredis options, or an ioredis connection you own (left open by `shutdown()`).
   * @param config see {@link ServerConfig}; every option has asynq's default.
   * @throws ValidationError for an invalid connection argument or option.
   */
  constructor(redis: RedisConnection, config: ServerConfig = {}) {
    this.config = resolveServerConfig(config);
    // A server waits out Redis outages instead of failing commands after a few retries.
    this.broker = new RedisBroker(
      openConnection(redis, "server.constructor", { maxRetriesPerRequest: null }),
    );
  }

  /**
   * Starts processing with `handler` (a function or a ServeMux). Returns once the server runs.
   * @throws ValidationError when the handler is neither a function nor a ServeMux.
   * @throws AsynqError (`ERR_SERVER_STATE`) when the server was started before.
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
    this.state = "active";
    this.processor = new Processor(this.broker, this.config, fn);
    this.processor.start();
    const queues = Object.entries(this.config.queues).map(([q, p]) => `${q}:${p}`);
    this.config.logger.info(
      `server started (concurrency ${this.config.concurrency}, queues ${queues.join(", ")})`,
    );
    return Promise.resolve();
  }

  /** Stops taking new tasks; running tasks go on until they finish. `shutdown()` still needs calling. */
  async stop(): Promise<void> {
    if (this.state !== "active") return;
    this.state = "stopped";
    await this.processor?.stop();
    this.config.logger.info("server stopped taking new tasks");
  }

  /**
   * Shuts down: stops taking tasks, waits up to `shutdownTimeout` for running ones, puts those still
   * running back at the front of their queues, and closes the connection if the server created it.
   * Order (senders stop before receivers, as in asynq): processor, then the broker connection.
   */
  async shutdown(): Promise<void> {
    if (this.state === "closed") return;
    this.state = "closed";
    await this.processor?.shutdown();
    await this.broker.close();
    this.config.logger.info("server shut down");
  }

  /** Number of tasks running now. */
  get running(): number {
    return this.processor?.running ?? 0;
  }
}
