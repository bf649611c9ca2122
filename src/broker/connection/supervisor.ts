// The supervisor of the broker's connection: every broker call goes through it. It opens and checks
// the connection before the first command (a ConnectionError, and nothing written, when that fails),
// bounds the calls of a Client or Inspector, turns connection failures into ConnectionErrors that
// name the server, has the watchdog replace a silent connection, and logs an outage once when it
// starts and once when it ends (not at every reconnection attempt).
import type { Redis } from "ioredis";
import { AsynqError, BrokerError, ConnectionError } from "../../errors.js";
import { errorMessage, toError } from "../../internal/errors.js";
import type { Logger } from "../../internal/logger.js";
import { targetOf, verifyConnection, type Target } from "./check.js";
import type { OpenedConnection } from "./connection.js";
import { DEFAULT_CONNECTION_OPTIONS, type ResolvedConnectionOptions } from "./options.js";
import { Watchdog } from "./watchdog.js";

/** How the broker uses its connection. */
export interface SupervisorParams {
  /** @defaultValue {@link DEFAULT_CONNECTION_OPTIONS} */
  options?: ResolvedConnectionOptions;
  /**
   * True for a Server: its calls wait out outages (the connection is still replaced when silent).
   * False for a Client or Inspector: a call fails once its connection has answered nothing for
   * `callTimeout`. @defaultValue false
   */
  waitOutOutages?: boolean;
  /** Hears "connection lost" and "connection back". @defaultValue none */
  logger?: Logger;
}

/** Per call: whether the no-reply bound applies (not to blocking waits, which have their own). */
export interface RunOptions {
  bounded?: boolean;
}

/** Guards one connection of a broker; see the file header. */
export class ConnectionSupervisor {
  readonly target: Target;
  private readonly redis: Redis;
  private readonly options: ResolvedConnectionOptions;
  private readonly watchdog: Watchdog;
  private verified = false;
  private connecting: Promise<void> | undefined;
  private closed = false;
  /** The last error ioredis reported since the connection was last ready (owned connections only). */
  private lastError: Error | undefined;
  /** When the current outage started; undefined while connected. */
  private lostAt: number | undefined;
  private readonly listeners: Array<[string, (arg: Error) => void]> = [];
  private watching = false;

  constructor(
    private readonly connection: OpenedConnection,
    private readonly params: SupervisorParams = {},
  ) {
    this.redis = connection.redis;
    this.target = targetOf(this.redis);
    this.options = params.options ?? DEFAULT_CONNECTION_OPTIONS;
    this.watchdog = new Watchdog(this.redis, {
      stallMs: this.options.commandTimeout,
      destroy: connection.owned,
      onStall: (error) => (this.lastError = error),
    });
  }

  /** How long Redis may stay silent while commands wait (the `commandTimeout` option). */
  get commandTimeout(): number {
    return this.options.commandTimeout;
  }

  /**
   * Opens and checks the connection unless that was done; concurrent callers share one attempt, and
   * a failed attempt is tried again by the next call.
   * @throws ConnectionError when Redis cannot be reached or used (see verifyConnection).
   * @throws BrokerError after close().
   */
  connect(op: string): Promise<void> {
    if (this.closed) return Promise.reject(closedError(op));
    if (this.verified && this.redis.status !== "end") return Promise.resolve();
    this.connecting ??= verifyConnection(this.redis, this.connection.owned, this.options.connectTimeout, op)
      .then(() => this.onVerified())
      .finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /**
   * Runs one broker operation: after connect(), bounded (Client, Inspector) unless `bounded` is false,
   * with its failure turned into a BrokerError (a ConnectionError when the connection failed).
   */
  async run<T>(op: string, fn: () => Promise<T>, { bounded = true }: RunOptions = {}): Promise<T> {
    if (this.closed) throw closedError(op);
    if (!this.verified || this.redis.status === "end") await this.connect(op);
    try {
      const work = fn();
      return await (bounded && this.params.waitOutOutages !== true ? this.bound(op, work) : work);
    } catch (error) {
      throw this.toBrokerError(op, error);
    }
  }

  /**
   * Replaces the connection if it looks alive but did not answer (a failed health check), at most
   * once per `commandTimeout`, and only a connection asynq-ts owns.
   */
  reset(reason: Error): void {
    if (this.verified && !this.closed) this.watchdog.reset(reason);
  }

  /** Stops watching; the broker closes the connection itself. */
  close(): void {
    this.closed = true;
    this.watchdog.stop();
    for (const [event, listener] of this.listeners.splice(0)) this.redis.off(event, listener);
  }

  private onVerified(): void {
    this.verified = true;
    if (this.watching) return;
    this.watching = true;
    this.watchdog.start();
    const on = (event: string, listener: (arg: Error) => void): void => {
      this.redis.on(event, listener);
      this.listeners.push([event, listener]);
    };
    // Listeners only where they serve: many brokers may share the caller's connection. An 'error'
    // listener on the caller's connection would also silence ioredis's own report: owned only.
    const logging = this.params.logger !== undefined;
    if (this.connection.owned) on("error", (error: Error) => (this.lastError = error));
    if (logging) on("close", () => this.onClose());
    if (logging || this.connection.owned) on("ready", () => this.onReady());
  }

  private onClose(): void {
    if (this.closed || this.lostAt !== undefined) return;
    this.lostAt = Date.now();
    const cause = this.lastError?.message ?? "the connection was closed";
    this.params.logger?.warn(`connection lost: ${cause}; reconnecting to ${this.target.address}`, {
      component: "connection",
      address: this.target.address,
      db: this.target.db,
      error: cause,
    });
  }

  private onReady(): void {
    this.lastError = undefined;
    if (this.lostAt === undefined || this.closed) return;
    const durationMs = Date.now() - this.lostAt;
    this.lostAt = undefined;
    this.params.logger?.info(
      `connection back after ${(durationMs / 1000).toFixed(1)} s (${this.target.address})`,
      { component: "connection", address: this.target.address, db: this.target.db, durationMs },
    );
  }

  /**
   * Fails `work` once Redis has sent nothing on this connection for `callTimeout` since the call
   * started: replies to other calls count, so a long operation that keeps getting answers goes on.
   */
  private bound<T>(op: string, work: Promise<T>): Promise<T> {
    const limit = this.options.callTimeout;
    const started = Date.now();
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const check = (): void => {
        const silent = Date.now() - Math.max(started, this.watchdog.lastHeardAt());
        if (silent >= limit) reject(this.silenceError(op, silent));
        else timer = setTimeout(check, limit - silent);
      };
      timer = setTimeout(check, limit);
      work.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(toError(error));
        },
      );
    });
  }

  private silenceError(op: string, silentMs: number): ConnectionError {
    const last = this.lastError === undefined ? "" : `; last error: ${this.lastError.message}`;
    return new ConnectionError(
      this.target.address,
      this.target.db,
      `no reply for ${silentMs} ms (connection ${this.redis.status}${last}); ` +
        "the call may or may not have been applied",
      { op, cause: this.lastError },
    );
  }

  /** A BrokerError for a failed operation; a ConnectionError when the connection was the cause. */
  private toBrokerError(op: string, error: unknown): AsynqError {
    if (error instanceof ConnectionError) return error;
    if (error instanceof AsynqError && !(error instanceof BrokerError)) return error;
    const root = error instanceof BrokerError ? error.cause : error;
    const message = errorMessage(error);
    if (isConnectionFailure(root)) {
      const last =
        this.lastError === undefined || this.lastError === root
          ? ""
          : `; last error: ${this.lastError.message}`;
      return new ConnectionError(this.target.address, this.target.db, `${message}${last}`, {
        op,
        cause: error,
      });
    }
    if (error instanceof BrokerError) return error;
    return new BrokerError(`Redis command failed: ${message}`, { op, cause: error });
  }
}

function closedError(op: string): BrokerError {
  return new BrokerError("the connection is closed (close() or shutdown() was called)", { op });
}

/**
 * True for errors of the connection rather than of a command: ioredis gave up (max retries), the
 * connection was closed or not writable, a command timed out, or a socket error (ECONNREFUSED…).
 */
function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error) || error.name === "ReplyError") return false;
  if (error.name === "MaxRetriesPerRequestError") return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return true;
  return (
    error.message === "Connection is closed." ||
    error.message === "Command timed out" ||
    error.message.startsWith("Stream isn't writeable")
  );
}
