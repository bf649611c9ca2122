// Connection options shared by the Client, the Server and the Inspector: how long a connection may
// take to open and how long Redis may stay silent, validated and resolved in this one place, and the
// ioredis options of the connections asynq-ts creates.
import type { RedisOptions } from "ioredis";
import { DEFAULTS } from "../../defaults.js";
import { ValidationError } from "../../errors.js";

/**
 * How asynq-ts guards its Redis connections. Durations are milliseconds.
 *
 * The bounds, with the defaults: a connection that goes silent (a NAT or load balancer dropped the
 * flow; the socket stays open and nothing comes back) is destroyed and replaced within about 6 s
 * (`commandTimeout` + two 500 ms sweeps), and what waited on it is sent again on the new connection;
 * a Server's cancelation subscription within about 8.5 s; a Client or Inspector call settles within
 * about 10.5 s whatever happens (resolved on the new connection, or rejected with a ConnectionError);
 * the first connection fails within `connectTimeout` (5 s) with a ConnectionError.
 *
 * On a connection you pass in, asynq-ts changes nothing and never destroys it: replacing it when it
 * goes silent is then your job (ioredis `socketTimeout` ≥ 5.4 and `keepAlive`); asynq-ts still checks
 * it before its first command, and the call bound of the Client and Inspector still applies.
 */
export interface ConnectionOptions {
  /**
   * How long Redis may stay silent while commands wait for replies. When a connection asynq-ts owns
   * has received nothing for this long with commands in flight (a half-open connection), it is
   * destroyed and reconnected, and the commands are sent again on the new connection. A Client or
   * Inspector call fails with a ConnectionError once its connection has answered nothing for twice
   * this long (a write may then have been applied or not). Blocking waits get their own bound: the
   * server's idle wait for new tasks its wait plus this, the cancelation subscription a PING every
   * half of this. Every command asynq-ts sends is short (big jobs go in batches, and Redis itself
   * flags a script busy after 5 s): raise this only for a Redis that is slower than that.
   * @defaultValue 5000
   */
  commandTimeout?: number;
  /**
   * How long opening the first connection may take (TCP connect, AUTH, SELECT, ready check) before
   * the first Client or Inspector call, or `Server.start()`, fails with a ConnectionError; also the
   * limit of each TCP connect attempt when reconnecting.
   * @defaultValue 5000
   */
  connectTimeout?: number;
}

/** The options with defaults applied; what the broker receives. */
export interface ResolvedConnectionOptions {
  readonly commandTimeout: number;
  readonly connectTimeout: number;
  /** How long a Client or Inspector call may see no reply at all: 2 × `commandTimeout`. */
  readonly callTimeout: number;
}

/** Names of the options, for callers that check for unknown keys. */
export const CONNECTION_OPTION_KEYS: readonly string[] = ["commandTimeout", "connectTimeout"];

/** setTimeout's own limit is 2^31 - 1 ms; an hour (the max) is already far past any useful bound. */
const { min: MIN_MS, max: MAX_MS } = DEFAULTS.connection;

/** TCP keepalive: probes after 10 s of idleness keep NAT and load balancer flows alive. */
const KEEPALIVE_MS = 10_000;

/**
 * Applies the defaults and validates.
 * @param path how the options are named in error messages (`options`, `config`).
 * @throws ValidationError naming the first invalid option.
 */
export function resolveConnectionOptions(
  options: ConnectionOptions = {},
  path = "options",
): ResolvedConnectionOptions {
  const commandTimeout =
    duration(options.commandTimeout, `${path}.commandTimeout`) ?? DEFAULTS.connection.commandTimeout;
  return Object.freeze({
    commandTimeout,
    connectTimeout:
      duration(options.connectTimeout, `${path}.connectTimeout`) ?? DEFAULTS.connection.connectTimeout,
    callTimeout: 2 * commandTimeout,
  });
}

/** The defaults, for brokers built without options (tests, the doctor). */
export const DEFAULT_CONNECTION_OPTIONS: ResolvedConnectionOptions = resolveConnectionOptions();

/**
 * ioredis options of a connection asynq-ts creates; what the caller passes goes over them.
 * `lazyConnect`: nothing is sent before the broker has checked the connection (AUTH, SELECT), so a
 * failed SELECT cannot let a write land in DB 0.
 */
export function ownedRedisOptions(options: ResolvedConnectionOptions): RedisOptions {
  return {
    connectionName: "asynq-ts",
    lazyConnect: true,
    connectTimeout: options.connectTimeout,
    keepAlive: KEEPALIVE_MS,
    noDelay: true,
  };
}

function duration(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < MIN_MS || value > MAX_MS) {
    throw new ValidationError(field, value, `expected an integer number of ms from ${MIN_MS} to ${MAX_MS}`);
  }
  return value;
}
