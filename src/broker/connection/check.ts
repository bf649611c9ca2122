// The first connection, proved usable before any command is sent on it: connected, authenticated, and
// on the DB index asked for. ioredis alone would report a failed SELECT as an 'error' event and go on
// in DB 0, and would retry a refused or unknown host 20 times before failing with no address in the
// message; here the first failure ends the attempt with a ConnectionError that names both.
import type { Redis } from "ioredis";
import { ConnectionError } from "../../errors.js";
import { toError } from "../../internal/errors.js";
import { clusterSeeds, isCluster } from "./cluster.js";
import { endNow } from "./connection.js";

/** Which Redis a connection is for, as error messages and logs name it. */
export interface Target {
  /** `host:port`, `[v6]:port`, or a socket path. */
  address: string;
  db: number;
}

/**
 * Reads the target from the connection's own options (the same on every ioredis 5.x): `cluster
 * <seeds>` for a Cluster, `sentinel <master>@<sentinels>` for Sentinel.
 */
export function targetOf(redis: Redis): Target {
  if (isCluster(redis)) return { address: `cluster ${clusterSeeds(redis)}`, db: 0 };
  const o =
    (
      redis as {
        options?: {
          host?: string;
          port?: number;
          path?: string;
          db?: number;
          name?: string;
          sentinels?: Array<{ host?: string; port?: number }> | null;
        };
      }
    ).options ?? {};
  if (o.sentinels !== undefined && o.sentinels !== null && o.sentinels.length > 0) {
    const sentinels = o.sentinels.map((s) => `${s.host ?? "localhost"}:${s.port ?? 26379}`).join(",");
    return { address: `sentinel ${o.name ?? "mymaster"}@${sentinels}`, db: o.db ?? 0 };
  }
  const host = o.host ?? "localhost";
  const address = o.path ?? `${host.includes(":") ? `[${host}]` : host}:${o.port ?? 6379}`;
  return { address, db: o.db ?? 0 };
}

/**
 * Opens the connection if needed and checks it within `timeoutMs`. A connection asynq-ts owns is
 * opened now (it was created with `lazyConnect`) and, on failure, closed again so it does not go on
 * retrying; a connection passed in is only waited for, and its DB index checked with CLIENT INFO.
 * @throws ConnectionError naming the address, the DB and the cause (ECONNREFUSED, ENOTFOUND,
 *   WRONGPASS, NOAUTH, "DB index is out of range", or no answer within `timeoutMs`).
 */
export async function verifyConnection(
  redis: Redis,
  owned: boolean,
  timeoutMs: number,
  op: string,
): Promise<void> {
  const target = targetOf(redis);
  // A temporary listener: ioredis reports handshake failures (and a failed SELECT) only as events.
  const errors: Error[] = [];
  const onError = (error: Error): void => void errors.push(error);
  redis.on("error", onError);
  // One attempt only: a failed attempt ends the connection ("end") instead of leaving it reconnecting.
  // (A Cluster's own strategy is `clusterRetryStrategy`.)
  const options = redis.options as unknown as Record<string, unknown>;
  const strategyKey = isCluster(redis) ? "clusterRetryStrategy" : "retryStrategy";
  const retryStrategy = options[strategyKey];
  if (owned) options[strategyKey] = () => null;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(timeoutMs)), timeoutMs);
  });
  let step = "cannot connect";
  const cleanup: Array<() => void> = [];
  try {
    await Promise.race([ready(redis, owned, cleanup), timeout]);
    if (target.db !== 0) {
      step = `cannot use DB ${target.db}`;
      await Promise.race([checkDb(redis, owned, target.db), timeout]);
    }
  } catch (thrown) {
    // Ended at once, so that it does not go on retrying (the next call tries again).
    if (owned) endNow(redis);
    const cause = pickCause(thrown, errors);
    const reason =
      thrown instanceof TimeoutError
        ? `${step}: no answer within ${timeoutMs} ms (connectTimeout)` +
          (cause === thrown ? "" : `; last error: ${cause.message}`)
        : `${step}: ${cause.message}`;
    throw new ConnectionError(target.address, target.db, reason, { op, cause });
  } finally {
    clearTimeout(timer);
    for (const undo of cleanup) undo();
    redis.off("error", onError);
    if (owned) options[strategyKey] = retryStrategy;
  }
}

class TimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = "TimeoutError";
  }
}

const CLOSED = "Connection is closed.";

/**
 * Resolves once the connection is ready; rejects when an owned one fails its attempt. Pushes onto
 * `cleanup` what removes its listeners (the caller may stop waiting first, at its timeout).
 */
async function ready(redis: Redis, owned: boolean, cleanup: Array<() => void>): Promise<void> {
  const status = redis.status;
  if (status === "ready") return;
  if (!owned && status === "end") throw new Error("the connection passed in is closed");
  if (status === "wait" || status === "end") {
    // Resolves on 'ready'; rejects at the first 'close' (refused, unknown host, AUTH failed).
    const connecting = redis.connect();
    if (owned) return connecting;
    connecting.catch(() => {}); // the user's connection: it may reconnect by itself, so keep waiting
  }
  await new Promise<void>((resolve, reject) => {
    const off = (): void => {
      redis.off("ready", onReady);
      redis.off("close", onClose);
      redis.off("end", onEnd);
    };
    cleanup.push(off);
    const done = (error?: Error): void => {
      off();
      if (error === undefined) resolve();
      else reject(error);
    };
    const onReady = (): void => done();
    // An owned connection created without lazyConnect (the caller's options) fails at its first close.
    const onClose = (): void => (owned ? done(new Error(CLOSED)) : undefined);
    const onEnd = (): void => done(new Error(CLOSED));
    redis.on("ready", onReady);
    redis.on("close", onClose);
    redis.on("end", onEnd);
  });
}

/**
 * Checks the DB index. On a connection we own: SELECT it again (the one ioredis sent may have failed,
 * leaving the connection in DB 0). On the caller's: read it with CLIENT INFO (Redis >= 6.2), never
 * changing the connection's state; skipped where CLIENT INFO is not allowed.
 */
async function checkDb(redis: Redis, owned: boolean, db: number): Promise<void> {
  if (owned) {
    await redis.select(db);
    return;
  }
  let info: string;
  try {
    info = String(await redis.call("CLIENT", "INFO"));
  } catch {
    return;
  }
  const current = /(?:^|\s)db=(\d+)/.exec(info)?.[1];
  if (current !== undefined && Number(current) !== db) {
    throw new Error(`the connection is in DB ${current}, not DB ${db} (did its SELECT ${db} fail?)`);
  }
}

/** The most telling error: Redis's own answer, else the last error ioredis reported during the attempt. */
function pickCause(thrown: unknown, errors: readonly Error[]): Error {
  if (thrown instanceof Error && thrown.name === "ReplyError") return thrown;
  const reported = errors.findLast((e) => e.message !== CLOSED);
  return reported ?? toError(thrown);
}
