// Doctor's atomic re-reads (MULTI): a suspect task, lock or group read together with its containers before it is reported.
import type { ChainableCommander, Redis } from "ioredis";
import * as keys from "../../wire/keys.js";
import type { ContainerRef, LockSnapshot, TaskSnapshot } from "./port.js";
import { run, TASK_FIELDS, taskFields } from "./reads.js";

/** Queues one container membership test: LINDEX at the known index or LPOS for a list, ZSCORE for a zset. */
function queueMembership(m: ChainableCommander, c: ContainerRef, id: string): void {
  if (c.type === "zset") m.zscore(c.key, id);
  else if (c.at !== undefined) m.lindex(c.key, c.at);
  else m.lpos(c.key, id);
}

/** Reads a membership reply queued by {@link queueMembership}. */
function isMember(c: ContainerRef, id: string, reply: unknown): boolean {
  if (reply === null || reply instanceof Error) return false;
  return c.type === "list" && c.at !== undefined ? reply === id : true;
}

/**
 * Reads each task's fields and its membership in the given containers in one MULTI per task, so
 * that a task moving meanwhile is seen either before or after the move, never half-way. The MULTI
 * blocks are sent together (pipelined). LPOS is O(N) on a long list: call this only for the few
 * candidates a cheaper check could not settle.
 * @throws the Redis error when a command fails.
 */
export async function snapshotTasks(
  redis: Redis,
  items: ReadonlyArray<{ taskKey: string; id: string; containers: readonly ContainerRef[] }>,
): Promise<TaskSnapshot[]> {
  return Promise.all(
    items.map(async ({ taskKey, id, containers }) => {
      const m = redis.multi();
      m.exists(taskKey).hmgetBuffer(taskKey, ...TASK_FIELDS);
      for (const c of containers) queueMembership(m, c, id);
      const replies = await run(m);
      return {
        ...taskFields(replies[1], replies[0] === 1),
        member: containers.map((c, k) => isMember(c, id, replies[2 + k])),
      };
    }),
  );
}

/**
 * Whether each ID is in each container, one MULTI per ID (see {@link snapshotTasks} on LPOS).
 * @throws the Redis error when a command fails.
 */
export async function memberships(
  redis: Redis,
  items: ReadonlyArray<{ id: string; containers: readonly ContainerRef[] }>,
): Promise<boolean[][]> {
  return Promise.all(
    items.map(async ({ id, containers }) => {
      const m = redis.multi();
      for (const c of containers) queueMembership(m, c, id);
      const replies = await run(m);
      return containers.map((c, k) => isMember(c, id, replies[k]));
    }),
  );
}

/**
 * Reads each lock and its owner's hash in one MULTI per lock (the owner is the ID the lock held when listed).
 * @throws the Redis error when a command fails.
 */
export async function snapshotLocks(
  redis: Redis,
  items: ReadonlyArray<{ lockKey: string; ownerKey: string }>,
): Promise<LockSnapshot[]> {
  return Promise.all(
    items.map(async ({ lockKey, ownerKey }) => {
      const replies = await run(
        redis
          .multi()
          .get(lockKey)
          .exists(ownerKey)
          .hmgetBuffer(ownerKey, ...TASK_FIELDS),
      );
      const value = typeof replies[0] === "string" ? replies[0] : null;
      return { value, owner: taskFields(replies[2], replies[1] === 1) };
    }),
  );
}

/**
 * For each group: whether `groups` names it and whether its zset exists, read together (MULTI).
 * @throws the Redis error when a command fails.
 */
export async function groupStates(
  redis: Redis,
  queue: string,
  names: readonly string[],
): Promise<Array<{ registered: boolean; filled: boolean }>> {
  return Promise.all(
    names.map(async (g) => {
      const [registered, filled] = await run(
        redis.multi().sismember(keys.allGroupsKey(queue), g).exists(keys.groupKey(queue, g)),
      );
      return { registered: registered === 1, filled: filled === 1 };
    }),
  );
}

/**
 * For each aggregation set: whether it exists and whether `aggregation_sets` holds it, read together (MULTI).
 * @throws the Redis error when a command fails.
 */
export async function aggregationSetStates(
  redis: Redis,
  queue: string,
  setKeys: readonly string[],
): Promise<Array<{ registered: boolean; exists: boolean; deadlineSeconds: number | null }>> {
  return Promise.all(
    setKeys.map(async (setKey) => {
      const [exists, score] = await run(
        redis.multi().exists(setKey).zscore(keys.allAggregationSetsKey(queue), setKey),
      );
      const deadlineSeconds =
        typeof score === "string" ? Number(score.replace(/^\+?inf$/, "Infinity")) : null;
      return { exists: exists === 1, registered: score !== null, deadlineSeconds };
    }),
  );
}
