// Connection strings for a Redis Cluster and for Sentinel (docs/deployment.md), on top of the plain
// `redis://` / `rediss://` URL that ioredis reads itself:
//
//   redis://[user:password@]host:port?cluster=true[&addr=host:port…]         a Cluster; every address a seed
//   redis://[user:password@]host:port[/db]?sentinel=<name>[&addr=host:port…]  Sentinel: the addresses are
//                                                                             sentinels, <name> the master
//
// The `addr` parameter names more seeds, as go-redis's ParseClusterURL does. The user name and password
// are those of the data nodes (not of the sentinels). `rediss://` turns TLS on for the data nodes (and,
// for Sentinel, for the sentinels too). A single-server URL goes to ioredis as it is.
import type { ClusterNode, ClusterOptions, RedisOptions } from "ioredis";
import { ValidationError } from "../../errors.js";

/** What a connection string asks for. */
export type ParsedUrl =
  | { kind: "standalone" }
  | { kind: "cluster"; nodes: ClusterNode[]; nodeOptions: RedisOptions; clusterOptions: ClusterOptions }
  | { kind: "sentinel"; options: RedisOptions };

/** Query parameters this module reads; any other goes to ioredis (single server) or is refused. */
const OWN_PARAMS = new Set(["cluster", "sentinel", "addr"]);

/**
 * Reads a `redis://` or `rediss://` URL (already checked by the caller).
 * @throws ValidationError for a malformed `addr`, a DB index on a Cluster (a Cluster has DB 0 only),
 *   both `cluster` and `sentinel`, or an unknown parameter next to them.
 */
export function parseConnectionUrl(url: URL, raw: string, op: string): ParsedUrl {
  const params = url.searchParams;
  const cluster = params.get("cluster");
  const sentinel = params.get("sentinel");
  if (cluster === null && sentinel === null) return { kind: "standalone" };
  const fail = (reason: string): never => {
    throw new ValidationError("redis", redact(raw), reason, { op });
  };
  if (cluster !== null && sentinel !== null)
    fail("a URL names either a cluster or a sentinel master, not both");
  if (cluster !== null && cluster !== "true" && cluster !== "1") fail('the "cluster" parameter must be true');
  if (sentinel === "") fail('the "sentinel" parameter must name the master (e.g. sentinel=mymaster)');
  for (const name of params.keys()) {
    if (!OWN_PARAMS.has(name)) fail(`unknown parameter "${name}" in a cluster or sentinel URL`);
  }
  const addresses = [hostPort(url.hostname, url.port), ...params.getAll("addr")].map((a) =>
    parseAddress(a, fail),
  );
  const tls = url.protocol === "rediss:";
  const auth: RedisOptions = {};
  if (url.username !== "") auth.username = decodeURIComponent(url.username);
  if (url.password !== "") auth.password = decodeURIComponent(url.password);
  const db = url.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db)) fail(`"${db}" is not a DB index`);
  if (cluster !== null) {
    if (db !== "" && db !== "0") fail("a Redis Cluster has only DB 0");
    return {
      kind: "cluster",
      nodes: addresses,
      nodeOptions: { ...auth, ...(tls ? { tls: {} } : {}) },
      clusterOptions: {},
    };
  }
  return {
    kind: "sentinel",
    options: {
      ...auth,
      sentinels: addresses,
      name: sentinel!,
      ...(db === "" ? {} : { db: Number(db) }),
      ...(tls ? { tls: {}, enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
    },
  };
}

function hostPort(host: string, port: string): string {
  return `${host}:${port === "" ? "6379" : port}`;
}

function parseAddress(text: string, fail: (reason: string) => never): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (match === null || port < 1 || port > 65535) return fail(`"${text}" is not a host:port address`);
  return { host: match[1]!.replace(/^\[|\]$/g, ""), port };
}

/** The URL without its password, for error messages. */
function redact(raw: string): string {
  return raw.replace(/(\/\/[^:/@]*:)[^@/]*@/, "$1***@");
}
