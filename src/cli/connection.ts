// Where the command line finds Redis: the global flags (--uri/-u, --db/-n, --password/-p, --username,
// TLS, --cluster and --cluster-addrs as in asynq's CLI), then REDIS_URL, then a JSON config file, then
// redis://127.0.0.1:6379 (asynq's default). A URL in the library's cluster or sentinel form
// (`?cluster=true`, `?sentinel=<master>`, docs/deployment.md) is passed to the library as it is.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import type { RedisOptions } from "ioredis";
import { Client, Inspector, type RedisConnection } from "../index.js";
import { CliError } from "./fail.js";

/** The global flags, as commander parses them. */
export interface GlobalFlags {
  uri?: string;
  db?: string;
  password?: string;
  username?: string;
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsServer?: string;
  insecure?: boolean;
  config?: string;
  cluster?: boolean;
  clusterAddrs?: string;
}

/** The config file (JSON): every key optional, the same meanings as the flags. */
interface ConfigFile {
  uri?: string;
  db?: number;
  password?: string;
  username?: string;
  tls?: { ca?: string; cert?: string; key?: string; serverName?: string; insecure?: boolean } | boolean;
}

const DEFAULT_URI = "redis://127.0.0.1:6379";
const CONFIG_KEYS = new Set(["uri", "db", "password", "username", "tls"]);
const TLS_KEYS = new Set(["ca", "cert", "key", "serverName", "insecure"]);

/** Registers the global connection flags on the root command. */
export function addConnectionFlags(program: Command): Command {
  return program
    .option("-u, --uri <uri>", "Redis URL or host:port (default: $REDIS_URL, else redis://127.0.0.1:6379)")
    .option("-n, --db <number>", "Redis DB index (default: the URL's, else 0)")
    .option("-p, --password <password>", "Redis password (default: the URL's)")
    .option("--username <name>", "Redis ACL user name (default: the URL's)")
    .option("--tls", "connect with TLS (implied by rediss:// and the --tls-* flags)")
    .option("--tls-ca <file>", "PEM file of the CA that signed the server's certificate")
    .option("--tls-cert <file>", "PEM client certificate (mutual TLS)")
    .option("--tls-key <file>", "PEM client key (mutual TLS)")
    .option("--tls-server <name>", "server name to verify the certificate against (SNI)")
    .option("--insecure", "do not verify the server's TLS certificate")
    .option("--cluster", "connect to a Redis Cluster (seeds: --cluster-addrs, else the --uri host:port)")
    .option(
      "--cluster-addrs <list>",
      "comma-separated host:port seed nodes of a Redis Cluster (implies --cluster)",
    )
    .option(
      "--config <file>",
      "JSON config file (default: $ASYNQ_TS_CONFIG, else ~/.asynq-ts.json if present)",
    );
}

/** Reads the config file named by the flag or $ASYNQ_TS_CONFIG, or ~/.asynq-ts.json when it exists. */
function readConfig(flag: string | undefined): ConfigFile {
  const named = flag ?? process.env.ASYNQ_TS_CONFIG;
  const path = named ?? join(homedir(), ".asynq-ts.json");
  if (named === undefined && !existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (cause) {
    throw new CliError(`cannot read config file ${path}: ${(cause as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new CliError(`config file ${path}: expected a JSON object`);
  }
  for (const key of Object.keys(parsed)) {
    if (!CONFIG_KEYS.has(key)) throw new CliError(`config file ${path}: unknown key ${JSON.stringify(key)}`);
  }
  const config = parsed as ConfigFile;
  if (typeof config.tls === "object" && config.tls !== null) {
    for (const key of Object.keys(config.tls)) {
      if (!TLS_KEYS.has(key)) throw new CliError(`config file ${path}: unknown key "tls.${key}"`);
    }
  }
  return config;
}

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (cause) {
    throw new CliError(`${flag}: cannot read ${file}: ${(cause as Error).message}`);
  }
}

/** The Redis URL the flags, the environment or the config file name (host:port becomes a redis:// URL). */
function chosenUri(flags: GlobalFlags, config: ConfigFile): string {
  const uri = flags.uri ?? process.env.REDIS_URL ?? config.uri ?? DEFAULT_URI;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(uri) ? uri : `redis://${uri}`;
}

/**
 * What the library is given: the ioredis options of {@link connectionOptions}; with `--cluster` or
 * `--cluster-addrs`, a Cluster of those seeds whose nodes get the same options (user, password, TLS);
 * a URL in the library's cluster or sentinel form, as it is.
 * @throws CliError for a bad flag (a DB index other than 0 on a Cluster, a malformed address).
 */
export function redisConnection(flags: GlobalFlags): RedisConnection {
  const uri = chosenUri(flags, readConfig(flags.config));
  if (/[?&](cluster|sentinel)=/.test(uri) && flags.cluster !== true && flags.clusterAddrs === undefined)
    return uri;
  const options = connectionOptions(flags);
  if (flags.cluster !== true && flags.clusterAddrs === undefined) return options;
  const { host, port, db, ...nodeOptions } = options;
  if (db !== undefined && db !== 0) throw new CliError(`--db: a Redis Cluster has only DB 0, got ${db}`);
  const seeds = (flags.clusterAddrs ?? `${host ?? "127.0.0.1"}:${port ?? 6379}`).split(",").map((text) => {
    const match = /^\s*(\[[^\]]+\]|[^:\s]+):(\d{1,5})\s*$/.exec(text);
    if (match === null)
      throw new CliError(`--cluster-addrs: expected host:port[,host:port…], got ${JSON.stringify(text)}`);
    return { host: match[1]!.replace(/^\[|\]$/g, ""), port: Number(match[2]) };
  });
  return { clusterNodes: seeds, clusterOptions: { redisOptions: nodeOptions } };
}

/** The ioredis options the flags, the environment and the config file give. */
export function connectionOptions(flags: GlobalFlags): RedisOptions {
  const config = readConfig(flags.config);
  const uri = chosenUri(flags, config);
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new CliError(`--uri: not a valid Redis URL or host:port: ${JSON.stringify(uri)}`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new CliError(`--uri: the scheme must be redis:// or rediss://, not ${url.protocol}//`);
  }
  const options: RedisOptions = {
    host: url.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1",
    port: url.port === "" ? 6379 : Number(url.port),
  };
  const dbText =
    flags.db ?? (config.db === undefined ? undefined : String(config.db)) ?? url.pathname.slice(1);
  if (dbText !== "" && dbText !== undefined) {
    if (!/^\d+$/.test(dbText))
      throw new CliError(`--db: expected a DB index (0, 1, ...), got ${JSON.stringify(dbText)}`);
    options.db = Number(dbText);
  }
  const username = flags.username ?? config.username ?? decodeURIComponent(url.username);
  const password = flags.password ?? config.password ?? decodeURIComponent(url.password);
  if (username !== "") options.username = username;
  if (password !== "") options.password = password;

  const fileTls = typeof config.tls === "object" && config.tls !== null ? config.tls : {};
  const wantsTls =
    url.protocol === "rediss:" ||
    flags.tls === true ||
    config.tls === true ||
    Object.keys(fileTls).length > 0 ||
    [flags.tlsCa, flags.tlsCert, flags.tlsKey, flags.tlsServer].some((v) => v !== undefined) ||
    flags.insecure === true;
  if (wantsTls) {
    const ca = flags.tlsCa ?? fileTls.ca;
    const cert = flags.tlsCert ?? fileTls.cert;
    const key = flags.tlsKey ?? fileTls.key;
    const serverName = flags.tlsServer ?? fileTls.serverName;
    options.tls = {
      ...(ca === undefined ? {} : { ca: readPem(ca, "--tls-ca") }),
      ...(cert === undefined ? {} : { cert: readPem(cert, "--tls-cert") }),
      ...(key === undefined ? {} : { key: readPem(key, "--tls-key") }),
      ...(serverName === undefined ? {} : { servername: serverName }),
      rejectUnauthorized: !(flags.insecure === true || fileTls.insecure === true),
    };
  }
  return options;
}

/** The global flags of the command being run. */
export function globalFlags(command: Command): GlobalFlags {
  return command.optsWithGlobals<GlobalFlags>();
}

/** Bounds for a command line: fail fast when Redis is not there. */
const TIMEOUTS = { connectTimeout: 3000, commandTimeout: 5000 };

/** An Inspector on the command's Redis (the caller closes it). */
export function openInspector(command: Command): Inspector {
  return new Inspector(redisConnection(globalFlags(command)), TIMEOUTS);
}

/** Runs `fn` with an Inspector on the command's Redis, closed afterwards. */
export async function withInspector<T>(
  command: Command,
  fn: (inspector: Inspector) => Promise<T>,
): Promise<T> {
  const inspector = openInspector(command);
  try {
    return await fn(inspector);
  } finally {
    await inspector.close().catch(() => {});
  }
}

/** Runs `fn` with a Client on the command's Redis, closed afterwards. */
export async function withClient<T>(command: Command, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client(redisConnection(globalFlags(command)), TIMEOUTS);
  try {
    return await fn(client);
  } finally {
    await client.close().catch(() => {});
  }
}
