// The one place that creates Redis connections. Standalone today; Cluster and Sentinel plug in here.
import { Cluster, Redis, type RedisOptions } from "ioredis";
import { ValidationError } from "../errors.js";

/**
 * How to reach Redis: a `redis://` or `rediss://` URL, ioredis options, or an ioredis connection
 * that the caller owns (then asynq-ts never closes it).
 */
export type RedisConnection = string | RedisOptions | Redis;

/** A connection and whether we must close it. */
export interface OpenedConnection {
  redis: Redis;
  /** True when we created the connection and so must close it. */
  owned: boolean;
}

/**
 * Opens (or adopts) a Redis connection.
 * @throws ValidationError when a URL is not redis:// or rediss://, or the argument is of no known kind.
 */
export function openConnection(
  conn: RedisConnection,
  op: string,
  overrides: RedisOptions = {},
): OpenedConnection {
  if (conn instanceof Redis) return { redis: conn, owned: false };
  if ((conn as unknown) instanceof Cluster || isClientLike(conn)) {
    throw new ValidationError(
      "redis",
      conn,
      "Redis Cluster and clients other than an ioredis Redis are not supported yet",
      {
        op,
      },
    );
  }
  if (typeof conn === "string") {
    let url: URL;
    try {
      url = new URL(conn);
    } catch (cause) {
      throw new ValidationError("redis", conn, "not a valid URL", { op, cause });
    }
    if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
      throw new ValidationError("redis", conn, "the URL scheme must be redis:// or rediss://", { op });
    }
    return { redis: quiet(new Redis(conn, { ...DEFAULTS, ...overrides })), owned: true };
  }
  if (typeof conn === "object" && conn !== null && !Array.isArray(conn)) {
    return { redis: quiet(new Redis({ ...DEFAULTS, ...overrides, ...conn })), owned: true };
  }
  throw new ValidationError(
    "redis",
    conn,
    "expected a redis:// URL, ioredis options or an ioredis connection",
    {
      op,
    },
  );
}

/**
 * Options for connections we create. ioredis's defaults otherwise: a command fails after 20
 * reconnection attempts (a few seconds), so a producer hears of a Redis outage instead of hanging.
 */
const DEFAULTS: RedisOptions = {
  connectionName: "asynq-ts",
};

/** An object with a command method: a client of another library or another copy of ioredis. */
function isClientLike(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { sendCommand?: unknown }).sendCommand === "function"
  );
}

/**
 * Connection errors reach callers as rejected commands; without a listener ioredis would also print
 * "[ioredis] Unhandled error event" on every reconnect attempt of a connection we own.
 */
function quiet(redis: Redis): Redis {
  redis.on("error", () => {});
  return redis;
}

/** Closes a connection we own; leaves a borrowed one open. */
export async function closeConnection(opened: OpenedConnection): Promise<void> {
  if (!opened.owned) return;
  // QUIT waits for Redis; while it is unreachable, drop the connection instead (which also fails the
  // commands still waiting for it, so nothing hangs on a closed broker).
  if (opened.redis.status !== "ready") {
    opened.redis.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)));
  await Promise.race([opened.redis.quit().catch(() => undefined), timeout]);
  clearTimeout(timer);
  opened.redis.disconnect();
}
