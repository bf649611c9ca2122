// Doctor's repairs (doctor --fix): each runs one doctor_* script that re-verifies the damage before it acts.
import type { Redis } from "ioredis";
import { unixSeconds } from "../../internal/clock.js";
import * as keys from "../../wire/keys.js";
import type { Companion, ContainerRef, ObservedOwner, ObservedTask, RestoreTarget } from "./port.js";
import { LuaScript, runScript, type ScriptArg } from "../scripts.js";

const scripts = {
  restore: LuaScript.fromFile("doctor/restore"),
  archiveAsIs: LuaScript.fromFile("doctor/archive_as_is"),
  removeDangling: LuaScript.fromFile("doctor/remove_dangling"),
  removeMisplaced: LuaScript.fromFile("doctor/remove_misplaced"),
  addLease: LuaScript.fromFile("doctor/add_lease"),
  removeLease: LuaScript.fromFile("doctor/remove_lease"),
  releaseLock: LuaScript.fromFile("doctor/release_lock"),
  group: LuaScript.fromFile("doctor/group"),
  registerSet: LuaScript.fromFile("doctor/register_set"),
  expire: LuaScript.fromFile("doctor/expire"),
  pruneRegistry: LuaScript.fromFile("doctor/prune_registry"),
};

async function code(redis: Redis, script: LuaScript, keyList: string[], args: ScriptArg[]): Promise<number> {
  const reply = await runScript(redis, script, keyList, args);
  if (typeof reply !== "number") throw new Error(`${script.name}: unexpected script reply ${String(reply)}`);
  return reply;
}

function companionParts(companion: Companion | undefined): { keys: string[]; args: string[] } {
  if (companion === undefined) return { keys: [], args: ["", ""] };
  return companion.kind === "lease"
    ? { keys: [companion.key], args: ["lease", ""] }
    : { keys: [companion.key], args: ["groups", companion.group] };
}

/**
 * Puts an orphaned task back into `target` while its state is still `state` and the container lacks it.
 * @throws the Redis error when a command fails.
 */
export async function restoreTask(
  redis: Redis,
  taskKey: string,
  id: string,
  state: string,
  target: RestoreTarget,
): Promise<boolean> {
  const extra =
    target.mode === "active" ? [target.leaseKey] : target.mode === "group" ? [target.groupsKey] : [];
  const score =
    target.mode === "active" ? target.leaseExpiresAtSeconds : target.mode === "list" ? 0 : target.score;
  const group = target.mode === "group" ? target.group : "";
  return (
    (await code(
      redis,
      scripts.restore,
      [taskKey, target.key, ...extra],
      [id, state, target.mode, score, group],
    )) === 1
  );
}

/**
 * Archives a corrupt task as it is, removing it from every container of its queue, while its state and
 * msg are still as observed and it is not held under a running lease.
 *
 * @param lockKey its uniqueness lock (released while it holds the ID), "" when unknown.
 * @returns "archived", "leased" (left alone: active with a lease not yet run out) or "changed".
 * @throws the Redis error when a command fails.
 */
export async function archiveAsIs(
  redis: Redis,
  queue: string,
  id: string,
  observed: ObservedTask,
  lockKey: string,
  nowMs: number,
): Promise<"archived" | "leased" | "changed"> {
  const group = observed.group ?? "";
  const reply = await code(
    redis,
    scripts.archiveAsIs,
    [
      keys.taskKey(queue, id),
      keys.archivedKey(queue),
      keys.pendingKey(queue),
      keys.activeKey(queue),
      keys.leaseKey(queue),
      keys.scheduledKey(queue),
      keys.retryKey(queue),
      keys.completedKey(queue),
      keys.allGroupsKey(queue),
      ...(group === "" ? [] : [keys.groupKey(queue, group)]),
      ...(lockKey === "" ? [] : [lockKey]),
    ],
    [id, unixSeconds(nowMs), observed.state ?? "", observed.msg ?? "", group, lockKey === "" ? "0" : "1"],
  );
  return reply === 1 ? "archived" : reply === 2 ? "leased" : "changed";
}

/**
 * Removes an ID with no task hash from `container` (and its companion entry) while the hash is still missing.
 * @throws the Redis error when a command fails.
 */
export async function removeDangling(
  redis: Redis,
  container: ContainerRef,
  taskKey: string,
  id: string,
  companion?: Companion,
): Promise<boolean> {
  const c = companionParts(companion);
  return (
    (await code(
      redis,
      scripts.removeDangling,
      [container.key, taskKey, ...c.keys],
      [id, container.type, ...c.args],
    )) === 1
  );
}

/**
 * Removes an ID from `container` while the task's state is still `state` and `home` (its state's container) holds it.
 * @throws the Redis error when a command fails.
 */
export async function removeMisplaced(
  redis: Redis,
  container: ContainerRef,
  taskKey: string,
  id: string,
  state: string,
  home: ContainerRef,
  companion?: Companion,
): Promise<boolean> {
  const c = companionParts(companion);
  return (
    (await code(
      redis,
      scripts.removeMisplaced,
      [container.key, taskKey, home.key, ...c.keys],
      [id, container.type, state, home.type, ...c.args],
    )) === 1
  );
}

/**
 * Adds a lease expiring at `expiresAtMs` to an active task that has none.
 * @throws the Redis error when a command fails.
 */
export async function addLease(
  redis: Redis,
  queue: string,
  id: string,
  expiresAtMs: number,
): Promise<boolean> {
  return (
    (await code(
      redis,
      scripts.addLease,
      [keys.activeKey(queue), keys.leaseKey(queue), keys.taskKey(queue, id)],
      [id, unixSeconds(expiresAtMs)],
    )) === 1
  );
}

/**
 * Removes a lease entry while its ID is still not in active.
 * @throws the Redis error when a command fails.
 */
export async function removeLease(redis: Redis, queue: string, id: string): Promise<boolean> {
  return (await code(redis, scripts.removeLease, [keys.leaseKey(queue), keys.activeKey(queue)], [id])) === 1;
}

/**
 * Deletes a lock while it still holds `id` and the owner's hash is exactly as observed.
 * @throws the Redis error when a command fails.
 */
export async function releaseLock(
  redis: Redis,
  lockKey: string,
  ownerKey: string,
  id: string,
  owner: ObservedOwner,
): Promise<boolean> {
  return (
    (await code(
      redis,
      scripts.releaseLock,
      [lockKey, ownerKey],
      [id, owner.exists ? "1" : "0", owner.state ?? "", owner.msg ?? "", owner.uniqueKey ?? ""],
    )) === 1
  );
}

/**
 * Registers a non-empty group in `groups` ("add"), or drops the name of an empty one ("remove").
 * @throws the Redis error when a command fails.
 */
export async function fixGroup(
  redis: Redis,
  queue: string,
  group: string,
  mode: "add" | "remove",
): Promise<boolean> {
  return (
    (await code(
      redis,
      scripts.group,
      [keys.allGroupsKey(queue), keys.groupKey(queue, group)],
      [group, mode],
    )) === 1
  );
}

/**
 * Registers an aggregation set in `aggregation_sets` with a deadline of now (reclaimed at once).
 * @throws the Redis error when a command fails.
 */
export async function registerAggregationSet(
  redis: Redis,
  queue: string,
  setKey: string,
  nowMs: number,
): Promise<boolean> {
  return (
    (await code(
      redis,
      scripts.registerSet,
      [keys.allAggregationSetsKey(queue), setKey],
      [unixSeconds(nowMs)],
    )) === 1
  );
}

/**
 * Sets an expiry on a key that still has no TTL (a past time deletes it).
 * @throws the Redis error when a command fails.
 */
export async function expireAt(redis: Redis, key: string, atSeconds: number): Promise<boolean> {
  return (await code(redis, scripts.expire, [key], [atSeconds])) === 1;
}

/**
 * Removes a registry member while its expiry score is still `score` (the caller checked its key is gone).
 * @throws the Redis error when a command fails.
 */
export async function pruneRegistry(
  redis: Redis,
  registry: string,
  member: string,
  score: number,
): Promise<boolean> {
  return (await code(redis, scripts.pruneRegistry, [registry], [member, score])) === 1;
}

/**
 * Adds a queue to `asynq:queues`.
 * @throws the Redis error when a command fails.
 */
export async function registerQueue(redis: Redis, queue: string): Promise<boolean> {
  return (await redis.sadd(keys.ALL_QUEUES, queue)) === 1;
}
