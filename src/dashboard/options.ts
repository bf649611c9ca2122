// The dashboard's options (createDashboard), checked once, with their defaults.
import type { IncomingMessage } from "node:http";
import { Inspector, ValidationError, type RedisConnection } from "../index.js";

/**
 * The Inspector methods the dashboard calls. An Inspector of your own fits (it is typed structurally,
 * so an Inspector from `asynq-ts` is accepted whichever way the package was loaded).
 */
export type DashboardInspector = Pick<
  Inspector,
  | "queues"
  | "getQueueInfo"
  | "getQueueInfos"
  | "history"
  | "listGroups"
  | "listTaskPage"
  | "getTaskInfo"
  | "runTask"
  | "archiveTask"
  | "deleteTask"
  | "runTasks"
  | "archiveTasks"
  | "deleteTasks"
  | "runAllTasks"
  | "archiveAllTasks"
  | "deleteAllTasks"
  | "pauseQueue"
  | "unpauseQueue"
  | "cancelProcessing"
  | "listServers"
  | "listSchedulerEntries"
  | "listSchedulerEnqueueEvents"
  | "redisInfo"
  | "clusterRedisInfo"
  | "close"
>;

/** Decides whether a request may see the dashboard (true) or gets a 401 (false). */
export type AuthHook = (req: IncomingMessage) => boolean | Promise<boolean>;

/** Options of {@link createDashboard}. Give `redis` or `inspector`. */
export interface DashboardOptions {
  /**
   * Where to read: a URL, ioredis options or connection. The dashboard opens its own Inspector on it,
   * and the doctor view audits it (a dashboard given an `inspector` has no doctor view).
   */
  redis?: RedisConnection;
  /** An Inspector of yours (not closed by the dashboard's `close()`). */
  inspector?: DashboardInspector;
  /**
   * The path the dashboard is served under, e.g. `/admin` (no trailing slash). Requests whose path
   * starts with it have it removed; others (a framework that already removed its mount path) are
   * taken as they are. @defaultValue "" (the root)
   */
  basePath?: string;
  /** No mutating route (they answer 403) and no mutating control in the page. @defaultValue false */
  readOnly?: boolean;
  /** Called on every request before anything else; false answers 401. @defaultValue none */
  auth?: AuthHook;
  /** HTTP basic authentication (checked in constant time), after `auth` if both are given. */
  basicAuth?: { username: string; password: string };
  /** How often the page refreshes what it shows, in ms (1,000 to 60,000). @defaultValue 5000 */
  pollIntervalMs?: number;
}

/** The options, checked. */
export interface ResolvedOptions {
  inspector: DashboardInspector;
  /** The connection the doctor audits (`redis`), undefined when given an Inspector. */
  redis: RedisConnection | undefined;
  ownsInspector: boolean;
  basePath: string;
  readOnly: boolean;
  auth: AuthHook | undefined;
  basicAuth: { username: string; password: string } | undefined;
  pollIntervalMs: number;
}

const OP = { op: "dashboard.createDashboard" };

export function resolveOptions(options: DashboardOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) {
    throw new ValidationError("options", options, "must be an object", OP);
  }
  const basePath = options.basePath ?? "";
  if (typeof basePath !== "string" || (basePath !== "" && !/^(\/[\w.~-]+)+$/.test(basePath))) {
    throw new ValidationError(
      "options.basePath",
      basePath,
      'must be "" or a path like /admin (letters, digits, ._~-; no trailing slash)',
      OP,
    );
  }
  const poll = options.pollIntervalMs ?? 5000;
  if (!Number.isInteger(poll) || poll < 1000 || poll > 60_000) {
    throw new ValidationError("options.pollIntervalMs", poll, "must be an integer from 1000 to 60000", OP);
  }
  if (options.auth !== undefined && typeof options.auth !== "function") {
    throw new ValidationError("options.auth", options.auth, "must be a function", OP);
  }
  const basic = options.basicAuth;
  if (
    basic !== undefined &&
    (typeof basic !== "object" ||
      basic === null ||
      typeof basic.username !== "string" ||
      typeof basic.password !== "string" ||
      basic.username === "" ||
      basic.username.includes(":"))
  ) {
    throw new ValidationError(
      "options.basicAuth",
      basic,
      "must be { username, password } with a non-empty username without ':'",
      OP,
    );
  }
  if ((options.redis === undefined) === (options.inspector === undefined)) {
    throw new ValidationError("options", options, "give exactly one of redis and inspector", OP);
  }
  const inspector = options.inspector ?? new Inspector(options.redis!);
  return {
    inspector,
    redis: options.redis,
    ownsInspector: options.inspector === undefined,
    basePath,
    readOnly: options.readOnly === true,
    auth: options.auth,
    basicAuth: basic,
    pollIntervalMs: poll,
  };
}
