// The scheduler port's Redis operations (ports.ts) over a connection: scheduler storage (wire-format
// §4.27) and the enqueue of one tick. openBroker (broker.ts) runs them under its supervisor.
import type { Redis } from "ioredis";
import { unixNanos, unixSeconds } from "../../internal/clock.js";
import * as keys from "../../wire/keys.js";
import type { SchedulerEnqueueEvent, SchedulerEntry } from "../../wire/messages.js";
import { encodeSchedulerEnqueueEvent, encodeSchedulerEntry, encodeTaskMessage } from "../../wire/proto.js";
import { execPipeline, toBuffer } from "../redis-values.js";
import { LuaScript, runScript, type ScriptArg } from "../scripts.js";
import type { SchedulerPort, TickOutcome, TickRequest } from "../ports.js";

const scripts = {
  writeEntries: LuaScript.fromFile("scheduler/write_entries"),
  recordEvent: LuaScript.fromFile("scheduler/record_event"),
  enqueueTick: LuaScript.fromFile("scheduler/enqueue_tick"),
};

/** The scheduler operations (those of SchedulerPort besides the connection's). */
export type SchedulerOps = Omit<SchedulerPort, "connect" | "close">;

/** The scheduler operations on `redis`, unsupervised. */
export function schedulerOps(redis: Redis): SchedulerOps {
  return {
    enqueueTick: (req) => enqueueTick(redis, req),
    writeSchedulerEntries: (schedulerId, entries, nowMs, ttlSeconds) =>
      writeSchedulerEntries(redis, { schedulerId, entries, nowMs, ttlSeconds }),
    clearSchedulerEntries: (schedulerId) => clearSchedulerEntries(redis, schedulerId),
    recordSchedulerEvent: (entryId, event, cap) => recordSchedulerEvent(redis, entryId, event, cap),
    clearSchedulerHistory: (entryIds) => clearSchedulerHistory(redis, entryIds),
  };
}

/** Maps enqueue_tick's reply to an outcome. */
function tickOutcome(reply: unknown): TickOutcome {
  switch (reply) {
    case 1:
    case 2:
      return "enqueued";
    case 3:
      return "already-enqueued";
    case -1:
      return "duplicate";
    case 0:
      return "conflict";
    default:
      throw new Error(`unexpected reply from enqueue_tick: ${String(reply)}`);
  }
}

/**
 * Registers the task's queue (`SADD asynq:queues`), then writes the task of one tick with its entry's
 * tick marker in one script (enqueue_tick.lua), unless that tick was enqueued already.
 * @throws the Redis error when a command fails.
 */
async function enqueueTick(redis: Redis, req: TickRequest): Promise<TickOutcome> {
  const { msg, target } = req.request;
  const queue = msg.queue;
  const unique = msg.uniqueKey !== "";
  const taskKeys = [
    keys.schedulerTickKey(queue, req.identity),
    keys.taskKey(queue, msg.id),
    target.kind === "pending"
      ? keys.pendingKey(queue)
      : target.kind === "scheduled"
        ? keys.scheduledKey(queue)
        : keys.groupKey(queue, target.group),
    keys.allGroupsKey(queue),
  ];
  if (unique) taskKeys.push(msg.uniqueKey);
  const kind = target.kind === "pending" ? "p" : target.kind === "scheduled" ? "s" : "g";
  const args: ScriptArg[] = [
    req.tickSeconds,
    req.gapSeconds,
    req.markerTtlSeconds,
    `${req.tickSeconds} ${msg.id}`,
    unique ? kind.toUpperCase() : kind,
    msg.id,
    toBuffer(encodeTaskMessage(msg)),
    target.kind === "pending"
      ? unixNanos(req.nowMs)
      : target.kind === "scheduled"
        ? target.processAtSeconds
        : unixSeconds(req.nowMs),
    target.kind === "group" ? target.group : "",
    unique ? (req.request.uniqueTtlSeconds ?? 1) : "",
    req.requireMarker === true ? 1 : 0,
  ];
  await redis.sadd(keys.ALL_QUEUES, queue);
  return tickOutcome(await runScript(redis, scripts.enqueueTick, taskKeys, args));
}

/**
 * One scheduler heartbeat (wire-format §4.27): `ZADD asynq:schedulers <now + TTL> <entries key>` (and,
 * as the server heartbeat does, the removal of members that expired a second ago or more), then the
 * script that replaces the entries list and sets its TTL.
 * @throws the Redis error when a command fails.
 * @throws ProtoEncodeError when an entry cannot be encoded.
 */
async function writeSchedulerEntries(
  redis: Redis,
  w: { schedulerId: string; entries: readonly SchedulerEntry[]; nowMs: number; ttlSeconds: number },
): Promise<void> {
  const key = keys.schedulerEntriesKey(w.schedulerId);
  // Encode first: an entry that cannot be encoded must not leave a registry member behind.
  const encoded = w.entries.map((e) => toBuffer(encodeSchedulerEntry(e)));
  const now = unixSeconds(w.nowMs);
  await execPipeline(
    redis
      .pipeline()
      .zadd(keys.ALL_SCHEDULERS, now + w.ttlSeconds, key)
      .zremrangebyscore(keys.ALL_SCHEDULERS, "-inf", now - 1),
  );
  await runScript(redis, scripts.writeEntries, [key], [w.ttlSeconds, ...encoded]);
}

/**
 * Removes a scheduler's entries at shutdown (wire-format §4.27): `ZREM asynq:schedulers`, then `DEL`.
 * @throws the Redis error when a command fails.
 */
async function clearSchedulerEntries(redis: Redis, schedulerId: string): Promise<void> {
  const key = keys.schedulerEntriesKey(schedulerId);
  await execPipeline(redis.pipeline().zrem(keys.ALL_SCHEDULERS, key).del(key));
}

/**
 * Records one enqueue in the entry's history, capped at `cap` events (wire-format §4.27). The score
 * is the event's enqueue time in whole unix seconds.
 * @throws the Redis error when the script fails.
 */
async function recordSchedulerEvent(
  redis: Redis,
  entryId: string,
  event: SchedulerEnqueueEvent,
  cap: number,
): Promise<void> {
  const score = event.enqueueTime === null ? 0 : Number(event.enqueueTime.seconds);
  await runScript(
    redis,
    scripts.recordEvent,
    [keys.schedulerHistoryKey(entryId)],
    [score, toBuffer(encodeSchedulerEnqueueEvent(event)), cap],
  );
}

/**
 * Deletes the history of each entry (wire-format §4.27, at shutdown): one `DEL` per key (the keys
 * have no hash tag, so they may live on different cluster nodes), pipelined.
 * @throws the Redis error when a command fails.
 */
async function clearSchedulerHistory(redis: Redis, entryIds: readonly string[]): Promise<void> {
  if (entryIds.length === 0) return;
  const pipeline = redis.pipeline();
  for (const id of entryIds) pipeline.del(keys.schedulerHistoryKey(id));
  await execPipeline(pipeline);
}
