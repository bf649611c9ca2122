// The one place that creates Redis connections, or adopts the caller's: a single server, a Redis
// Cluster (seen by the broker through clusterFacade, cluster.ts), or a master found through Sentinel.
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from "ioredis";
import { ValidationError } from "../../errors.js";
import { clusterFacade, isCluster } from "./cluster.js";
import { DEFAULT_CONNECTION_OPTIONS, ownedRedisOptions, type ResolvedConnectionOptions } from "./options.js";
import { parseConnectionUrl } from "./url.js";

/**
 * A Redis Cluster that asynq-ts creates (and closes): its seed nodes, and ioredis Cluster options.
 * Options for every node (password, TLS) go in `clusterOptions.redisOptions`.
 */
export interface ClusterConnectionOptions {
  /** Seed nodes: `{ host, port }`, `"host:port"` or a port; any one reachable master or replica will do. */
  clusterNodes: ClusterNode[];
  /** ioredis Cluster options (asynq-ts sets `lazyConnect` and its own node defaults under them). */
  clusterOptions?: ClusterOptions;
}

/**
 * How to reach Redis: a `redis://` or `rediss://` URL (with `?cluster=true` for a Redis Cluster, or
 * `?sentinel=<master>` for Sentinel: docs/deployment.md), ioredis options (with `sentinels` and
 * `name` for Sentinel), {@link ClusterConnectionOptions}, or an ioredis connection or Cluster that the
 * caller owns (then asynq-ts never closes it, and changes none of its options).
 *
 * A connection passed in may come from the application's own copy of ioredis 5.x. Replacing it when
 * it goes silent is then the application's job (ioredis `socketTimeout` and `keepAlive`; see
 * {@link ConnectionOptions}); asynq-ts still checks it before its first command, and still bounds the
 * calls of a Client or Inspector.
 */
export type RedisConnection = string | RedisOptions | ClusterConnectionOptions | Redis | Cluster;

/** A connection and whether we must close it. */
export interface OpenedConnection {
  /** The connection; for a Cluster, its facade (cluster.ts), typed as a single server's. */
  redis: Redis;
  /** True when we created the connection and so must close it. */
  owned: boolean;
  /** True for a Redis Cluster. @defaultValue false */
  cluster?: boolean;
}

/**
 * Opens (or adopts) a Redis connection. Connections it creates do not connect until the broker checks
 * them (`lazyConnect`); their options are {@link ownedRedisOptions}, then `overrides`, then the caller's
 * (for a Cluster: the options of every node).
 * @throws ValidationError when a URL is not redis:// or rediss:// or its cluster or sentinel form is
 *   malformed, or when the argument is of no known kind (naming what an ioredis connection lacks).
 */
export function openConnection(
  conn: RedisConnection,
  op: string,
  options: ResolvedConnectionOptions = DEFAULT_CONNECTION_OPTIONS,
  overrides: RedisOptions = {},
): OpenedConnection {
  const defaults = { ...ownedRedisOptions(options), ...overrides };
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
    const parsed = parseConnectionUrl(url, conn, op);
    if (parsed.kind === "cluster") {
      return ownedCluster(parsed.nodes, { ...parsed.clusterOptions }, { ...defaults, ...parsed.nodeOptions });
    }
    if (parsed.kind === "sentinel") {
      return { redis: quiet(new Redis({ ...defaults, ...parsed.options })), owned: true, cluster: false };
    }
    return { redis: quiet(new Redis(conn, defaults)), owned: true, cluster: false };
  }
  if (typeof conn !== "object" || conn === null || Array.isArray(conn)) {
    throw new ValidationError(
      "redis",
      conn,
      "expected a redis:// URL, ioredis options or an ioredis connection",
      {
        op,
      },
    );
  }
  if (isCluster(conn) || isClusterLike(conn)) {
    return { redis: clusterFacade(conn as Cluster), owned: false, cluster: true };
  }
  if (conn instanceof Redis) return { redis: conn, owned: false, cluster: false };
  if (isPlainObject(conn) && "clusterNodes" in conn) {
    const { clusterNodes, clusterOptions = {} } = conn;
    if (!Array.isArray(clusterNodes) || clusterNodes.length === 0) {
      throw new ValidationError("redis.clusterNodes", clusterNodes, "expected at least one seed node", {
        op,
      });
    }
    return ownedCluster(clusterNodes, clusterOptions, defaults);
  }
  if (isPlainObject(conn)) {
    return {
      redis: quiet(new Redis({ ...defaults, ...(conn as RedisOptions) })),
      owned: true,
      cluster: false,
    };
  }
  // Not a plain options object: a connection, perhaps from another copy of ioredis (instanceof fails
  // across copies), or a client of another library.
  const missing = missingMembers(conn);
  if (missing.length > 0) {
    throw new ValidationError(
      "redis",
      conn,
      `expected an ioredis Redis connection (5.x): missing ${missing.join(", ")}`,
      { op },
    );
  }
  return { redis: conn as unknown as Redis, owned: false, cluster: false };
}

/**
 * How long a command of a Cluster we own waits out a slot migration: a queue's scripts name keys
 * that may not exist yet (a new task's hash), which Redis refuses with TRYAGAIN until the slot's
 * keys are all on one side; ioredis retries every `retryDelayOnTryAgain` ms, up to `maxRedirections`
 * retries and redirections in all. ioredis's 16 would fail an enqueue after about 1.6 s; 64 waits
 * out a migration of about 6 s. Options given by the caller win.
 */
const CLUSTER_DEFAULTS: ClusterOptions = { maxRedirections: 64, retryDelayOnTryAgain: 100 };

/**
 * A Cluster we own: lazy like our single-server connections; our node defaults go under the node
 * options given (the Cluster connects its nodes lazily itself, so `lazyConnect` is the Cluster's).
 */
function ownedCluster(
  nodes: ClusterNode[],
  options: ClusterOptions,
  nodeDefaults: RedisOptions,
): OpenedConnection {
  const { lazyConnect: _, ...nodeOptions } = { ...nodeDefaults, ...options.redisOptions };
  const cluster = new Cluster(nodes, {
    ...CLUSTER_DEFAULTS,
    ...options,
    lazyConnect: true,
    redisOptions: nodeOptions,
  });
  cluster.on("error", () => {}); // see quiet()
  return { redis: clusterFacade(cluster), owned: true, cluster: true };
}

/**
 * What asynq-ts uses of a connection: the commands it sends by name, `duplicate` for its blocking and
 * subscriber connections, the event emitter, and `status` / `options`.
 */
const METHODS = [
  "call",
  "eval",
  "evalsha",
  "pipeline",
  "multi",
  "duplicate",
  "subscribe",
  "publish",
  "blmove",
  "disconnect",
  "quit",
  "on",
  "off",
] as const;

function missingMembers(value: object): string[] {
  const v = value as Record<string, unknown>;
  const missing: string[] = METHODS.filter((m) => typeof v[m] !== "function").map((m) => `${m}()`);
  if (typeof v.status !== "string") missing.push("status");
  if (typeof v.options !== "object" || v.options === null) missing.push("options");
  return missing;
}

/** An ioredis Cluster of any copy of ioredis: it has cluster-only members. */
function isClusterLike(value: object): boolean {
  const v = value as Record<string, unknown>;
  return v.isCluster === true || (typeof v.nodes === "function" && typeof v.refreshSlotsCache === "function");
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Connection errors reach callers as rejected commands (and the supervisor's logs); without a listener
 * ioredis would also print "[ioredis] Unhandled error event" on every reconnect attempt of a
 * connection we own.
 */
function quiet(redis: Redis): Redis {
  redis.on("error", () => {});
  return redis;
}

/** Closes a connection we own; leaves a borrowed one open. */
export async function closeConnection(opened: OpenedConnection): Promise<void> {
  if (!opened.owned) return;
  const { redis } = opened;
  if (redis.status === "ready") {
    // QUIT lets Redis answer what is in flight first; bounded, as a silent server never answers it.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)));
    await Promise.race([redis.quit().catch(() => undefined), timeout]);
    clearTimeout(timer);
  }
  endNow(redis);
}

/**
 * Ends a connection we own at once, and fails the commands still waiting on it (so nothing hangs on a
 * closed broker, and no timer of it keeps the process alive).
 *
 * `disconnect()` alone is not enough: it waits up to ioredis's disconnectTimeout (2 s) for a silent
 * server to close the socket, and while ioredis waits to reconnect ("reconnecting") it only cancels
 * the reconnection, leaving queued commands pending forever (a shutdown with Redis down would then
 * wait for its own timers). A connection already ended is left as it is: `disconnect()` would leave a
 * flag behind that stops the next outage's reconnection.
 */
export function endNow(redis: Redis): void {
  if (redis.status === "end") return;
  if (isCluster(redis)) {
    // A Cluster ends its node connections (and fails what waits on them) itself.
    redis.disconnect();
    return;
  }
  // ioredis's disconnect arms a 2 s timer that only its socket's "close" event clears; a socket that
  // has already closed (Redis down, reconnecting) never emits it again, and the timer would keep the
  // process alive 2 s after a shutdown. Such a socket is forgotten first (nothing is left to end).
  const connector = (redis as unknown as { connector?: { stream?: { destroyed?: boolean } } }).connector;
  if (connector?.stream?.destroyed === true) connector.stream = undefined;
  if (redis.status === "reconnecting" || redis.status === "close") {
    const closed = new Error("Connection is closed.");
    redis.recoverFromFatalError(closed, closed, { offlineQueue: true, commandQueue: true });
  }
  redis.disconnect();
  redis.stream?.destroy();
}
