// Server state in Redis (wire-format §4.25): the heartbeat's ServerInfo and WorkerInfo keys, and their removal at shutdown.
import type { Redis } from "ioredis";
import { unixSeconds } from "../../internal/clock.js";
import * as keys from "../../wire/keys.js";
import type { ServerInfo, WorkerInfo } from "../../wire/messages.js";
import { encodeServerInfo, encodeWorkerInfo } from "../../wire/proto.js";
import { LuaScript, runScript, type ScriptArg } from "../scripts.js";

const scripts = {
  write: LuaScript.fromFile("upkeep/write_server_state"),
  clear: LuaScript.fromFile("upkeep/clear_server_state"),
};

/**
 * Writes one heartbeat (wire-format §4.25), as asynq does: `ZADD asynq:servers` and `ZADD asynq:workers`
 * (score = `nowMs` + TTL, whole unix seconds; pipelined, one round trip), then a script that
 * `SETEX`es the ServerInfo and replaces the workers hash (one field per task ID) with the same TTL.
 * The keys are named after `info.host`, `info.pid` and `info.serverId`.
 *
 * Unlike asynq, the same round trip also prunes the members of both zsets that expired a second ago
 * or more, as Go's ListServers / ListWorkers do when they read: a server killed without a shutdown
 * (SIGKILL, a lost machine) leaves its members behind, and with asynq only a lister ever removes
 * them. Any live server now does, within one heartbeat (docs/compatibility.md P17).
 *
 * @param workers one WorkerInfo per running task; the hash field is its `taskId`.
 * @param ttlSeconds TTL of both keys, an integer >= 1 (asynq: 10, twice the heartbeat interval; the
 *   Heartbeater computes it, at least 1).
 * @throws the Redis error when a write fails (the ZADDs may then have been applied without the
 *   script, as in asynq).
 * @throws ProtoEncodeError when a message cannot be encoded (e.g. a Timestamp out of range).
 */
export async function writeServerState(
  redis: Redis,
  info: ServerInfo,
  workers: readonly WorkerInfo[],
  nowMs: number,
  ttlSeconds: number,
): Promise<void> {
  const serverKey = keys.serverInfoKey(info.host, info.pid, info.serverId);
  const workersKey = keys.workersKey(info.host, info.pid, info.serverId);
  // Encode first: a message that cannot be encoded must not leave zset members behind.
  const args: ScriptArg[] = [ttlSeconds, toBuffer(encodeServerInfo(info))];
  for (const w of workers) args.push(w.taskId, toBuffer(encodeWorkerInfo(w)));
  const expiresAt = unixSeconds(nowMs) + ttlSeconds;
  const stale = unixSeconds(nowMs) - 1;
  await execPipeline(
    redis
      .pipeline()
      .zadd(keys.ALL_SERVERS, expiresAt, serverKey)
      .zadd(keys.ALL_WORKERS, expiresAt, workersKey)
      .zremrangebyscore(keys.ALL_SERVERS, "-inf", stale)
      .zremrangebyscore(keys.ALL_WORKERS, "-inf", stale),
  );
  await runScript(redis, scripts.write, [serverKey, workersKey], args);
}

/**
 * Removes a server's state (wire-format §4.25, at shutdown): `ZREM asynq:servers`, `ZREM asynq:workers`
 * (pipelined), then a script that deletes the ServerInfo and workers keys.
 *
 * @throws the Redis error when a command fails.
 */
export async function clearServerState(
  redis: Redis,
  host: string,
  pid: number,
  serverId: string,
): Promise<void> {
  const serverKey = keys.serverInfoKey(host, pid, serverId);
  const workersKey = keys.workersKey(host, pid, serverId);
  await execPipeline(redis.pipeline().zrem(keys.ALL_SERVERS, serverKey).zrem(keys.ALL_WORKERS, workersKey));
  await runScript(redis, scripts.clear, [serverKey, workersKey], []);
}

/** Runs a pipeline, throwing the first error. */
async function execPipeline(pipeline: ReturnType<Redis["pipeline"]>): Promise<void> {
  const replies = await pipeline.exec();
  if (replies === null) throw new Error("pipeline aborted");
  for (const [error] of replies) if (error !== null) throw error;
}

/** A Buffer view of the bytes (no copy). */
function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
