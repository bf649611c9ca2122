// Janitor I/O (wire-format §4.17): deletes completed tasks whose retention ran out, a batch per script call.
import type { Redis } from "ioredis";
import { unixSeconds } from "../../internal/clock.js";
import * as keys from "../../wire/keys.js";
import { LuaScript, runScript } from "../scripts.js";

const deleteExpiredScript = LuaScript.fromFile("upkeep/delete_expired_completed");

/** asynq's janitor batch (JanitorBatchSize, wire-format §5.1). */
const JANITOR_BATCH = 100;

/** How many rounds in a row may delete nothing (candidates changed under us) before the call stops. */
const MAX_STALLS = 3;

/**
 * Deletes the completed tasks of `queue` whose expiry (their completed-zset score, whole unix
 * seconds) is at or before `nowMs`: the zset member and the task hash. Works in rounds of at most
 * `batch` candidates, each re-verified atomically by one script call (so Redis stays responsive
 * between rounds), until none is left.
 *
 * @param batch the most candidates per script call, an integer >= 1 (the server's validated
 *   `janitorBatchSize`).
 * @returns the number of tasks deleted.
 */
export async function deleteExpiredCompleted(
  redis: Redis,
  queue: string,
  nowMs: number,
  batch = JANITOR_BATCH,
): Promise<number> {
  const key = keys.completedKey(queue);
  const now = unixSeconds(nowMs);
  let deleted = 0;
  let stalls = 0;
  while (stalls < MAX_STALLS) {
    const ids = await redis.zrangebyscore(key, "-inf", now, "LIMIT", 0, batch);
    if (ids.length === 0) break;
    const reply = await runScript(
      redis,
      deleteExpiredScript,
      [key, ...ids.map((id) => keys.taskKey(queue, id))],
      [now, ...ids],
    );
    if (typeof reply !== "number")
      throw new Error(`deleteExpiredCompleted: unexpected reply ${String(reply)}`);
    deleted += reply;
    stalls = reply === 0 ? stalls + 1 : 0;
    // A short batch fully deleted was everything expired: no need to ask again.
    if (ids.length < batch && reply === ids.length) break;
  }
  return deleted;
}
