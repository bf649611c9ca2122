// The ACL user with the least permissions asynq-ts needs (documented in docs/deployment.md): keys and
// channels under `asynq:` only, and only the commands the library sends, directly or from its Lua
// scripts (Redis checks a script's commands against the caller's ACL too). The conformance suite's
// "acl" flavour runs the library as this user, so a missing command fails a test with NOPERM.

/** The user name and password of the test server. */
export const ACL_USER = "asynq";
export const ACL_PASSWORD = "asynq-test-password";

/**
 * The commands, by what needs them. `CLIENT SETNAME` names connections; `INFO` is ioredis's ready
 * check; `SELECT` picks the DB; `CLUSTER KEYSLOT`/`SLOTS` serve the Inspector's cluster views.
 */
export const ACL_COMMANDS: readonly string[] = [
  // connection
  "ping",
  "info",
  "select",
  "client|setname",
  "client|info",
  "quit",
  // transactions (the doctor reads a task and its containers in one MULTI)
  "multi",
  "exec",
  "discard",
  // scripts
  "evalsha",
  "eval",
  "script|load",
  "script|exists",
  // reads and writes (direct and in scripts)
  "get",
  "mget",
  "set",
  "setex",
  "del",
  "exists",
  "type",
  "ttl",
  "pttl",
  "expire",
  "expireat",
  "pexpire",
  "incr",
  "incrby",
  "scan",
  "memory|usage",
  "hget",
  "hmget",
  "hset",
  "hdel",
  "hgetall",
  "hstrlen",
  "lpush",
  "rpush",
  "rpop",
  "lrem",
  "lpos",
  "llen",
  "lindex",
  "lrange",
  "blmove",
  "lmove",
  "sadd",
  "srem",
  "scard",
  "smembers",
  "sismember",
  "zadd",
  "zrem",
  "zcard",
  "zcount",
  "zscore",
  "zmscore",
  "zrank",
  "zrange",
  "zrangebyscore",
  "zrevrange",
  "zrangestore",
  "zremrangebyrank",
  "zremrangebyscore",
  "zunionstore",
  "zscan",
  // the queues' event streams (QueueEvents, Client.waitForResult; written by the finishing scripts)
  "xadd",
  "xread",
  "xrevrange",
  "xinfo|stream",
  // cancelation channel (on a Cluster, cancelProcessing counts the subscribers of every node)
  "publish",
  "subscribe",
  "unsubscribe",
  "pubsub|numsub",
  // Inspector cluster views; CLUSTER SLOTS is also how ioredis finds a Cluster's slots
  "cluster|keyslot",
  "cluster|slots",
  "cluster|info",
];

/** The `user` directive's rules, as redis-server's `--user` argument takes them. */
export function aclRules(): string[] {
  return [
    ACL_USER,
    "on",
    `>${ACL_PASSWORD}`,
    "resetkeys",
    "~asynq:*",
    "resetchannels",
    "&asynq:cancel",
    "-@all",
    ...ACL_COMMANDS.map((c) => `+${c}`),
  ];
}
