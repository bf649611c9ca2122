// Restores a golden snapshot (test/golden/redis-snapshots) into a Redis DB: the same keys, types,
// bytes (protobuf values from their hex), list order, set members, zset scores and TTLs.
import type { Redis } from "ioredis";
import type { Snapshot, StoredValue } from "./redis-dump.js";

/** The bytes a dumped value stands for: UTF-8 text, or the hex of non-text and protobuf values. */
export function storedBytes(value: StoredValue): Buffer {
  return typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value.hex, "hex");
}

/**
 * Writes every key of `snapshot` into the connection's DB (replacing keys of the same name), in one
 * MULTI. A key with a TTL gets `ttl_approx_seconds` (the dump's rounding).
 * @throws when a command fails or a key has a type the golden format lacks.
 */
export async function restoreSnapshot(redis: Redis, snapshot: Snapshot): Promise<void> {
  const tx = redis.multi();
  for (const k of snapshot.keys) {
    tx.del(k.key);
    switch (k.type) {
      case "string":
        tx.set(k.key, storedBytes(k.value));
        break;
      case "hash":
        tx.hset(k.key, ...Object.entries(k.value).flatMap(([f, v]) => [f, storedBytes(v)]));
        break;
      case "list":
        tx.rpush(k.key, ...k.value.map(storedBytes));
        break;
      case "set":
        tx.sadd(k.key, ...k.value.map(storedBytes));
        break;
      case "zset":
        tx.zadd(k.key, ...k.value.flatMap(([member, score]) => [score, storedBytes(member)]));
        break;
      default:
        throw new Error(`restoreSnapshot: unknown type of ${JSON.stringify(k)}`);
    }
    if (k.ttl === "positive") tx.expire(k.key, k.ttl_approx_seconds ?? 1);
  }
  const replies = await tx.exec();
  for (const [error] of replies ?? []) if (error !== null) throw error;
}
