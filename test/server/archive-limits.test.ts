// Archive limits end to end: with asynq's defaults an archive of 10,000 tasks plus one is trimmed back
// to 10,000 and the dropped task's hash is deleted; a configured limit is honoured the same way.
import { describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import * as keys from "../../src/wire/keys.js";
import { encodeTaskMessage, newTaskMessage } from "../../src/wire/proto.js";
import { useRedisFixture } from "../support/fixture.js";
import { testRedisUrl } from "../support/redis.js";
import { startServer, waitFor } from "../support/server.js";

const Q = "default";
const { redis } = useRedisFixture();

/** Archives `n` tasks directly (as earlier failures would have), oldest first: IDs old-0 … old-(n-1). */
async function fillArchive(n: number, nowSeconds: number): Promise<void> {
  for (let start = 0; start < n; start += 1000) {
    const pipeline = redis.pipeline();
    for (let i = start; i < Math.min(n, start + 1000); i++) {
      const id = `old-${i}`;
      const msg = newTaskMessage({
        type: "t",
        id,
        queue: Q,
        retry: 0,
        errorMsg: "boom",
        lastFailedAt: BigInt(nowSeconds),
      });
      pipeline.hset(keys.taskKey(Q, id), "msg", Buffer.from(encodeTaskMessage(msg)), "state", "archived");
      // Older tasks have lower scores (archived earlier), all within the 90-day age limit.
      pipeline.zadd(keys.archivedKey(Q), nowSeconds - n + i, id);
    }
    await pipeline.exec();
  }
  await redis.sadd(keys.ALL_QUEUES, Q);
}

/** Fails one task with maxRetry 0 through a real Server, which archives it and trims the archive. */
async function archiveOneMore(config: Parameters<typeof startServer>[2]): Promise<void> {
  const client = new Client(testRedisUrl());
  await client.enqueue({ type: "fails" }, { taskId: "new-1", maxRetry: 0 });
  await client.close();
  await startServer(
    testRedisUrl(),
    () => {
      throw new Error("always");
    },
    config,
  );
  await waitFor(async () => (await redis.zscore(keys.archivedKey(Q), "new-1")) !== null, "new-1 archived");
}

describe("archive limits", () => {
  it("with asynq's defaults, 10,000 archived tasks plus one trim back to 10,000 and the dropped hash is deleted", async () => {
    await fillArchive(10_000, Math.floor(Date.now() / 1000));
    await archiveOneMore({});
    await waitFor(
      async () => (await redis.zcard(keys.archivedKey(Q))) === 10_000,
      "the archive trimmed to 10,000",
    );
    expect(await redis.zscore(keys.archivedKey(Q), "old-0")).toBeNull(); // the oldest went
    expect(await redis.exists(keys.taskKey(Q, "old-0"))).toBe(0); // with its hash
    expect(await redis.exists(keys.taskKey(Q, "old-1"), keys.taskKey(Q, "new-1"))).toBe(2);
    // No archived hash is left without its zset entry.
    let cursor = "0";
    let hashes = 0;
    do {
      const [next, found] = await redis.scan(cursor, "MATCH", "asynq:{default}:t:*", "COUNT", 1000);
      cursor = next;
      hashes += found.length;
    } while (cursor !== "0");
    expect(hashes).toBe(10_000);
  }, 60_000);

  it("honours a configured size limit", async () => {
    await fillArchive(30, Math.floor(Date.now() / 1000));
    await archiveOneMore({ archive: { maxSize: 25 } });
    await waitFor(async () => (await redis.zcard(keys.archivedKey(Q))) === 25, "the archive trimmed to 25");
    const kept = await redis.zrange(keys.archivedKey(Q), 0, -1);
    expect(kept[0]).toBe("old-6"); // old-0 … old-5 (the six oldest) were dropped
    expect(kept).toContain("new-1");
    for (let i = 0; i < 6; i++) expect(await redis.exists(keys.taskKey(Q, `old-${i}`))).toBe(0);
  });

  it("honours a configured age limit", async () => {
    const now = Math.floor(Date.now() / 1000);
    await fillArchive(10, now - 7200); // archived two hours ago and more
    await archiveOneMore({ archive: { maxAge: 3600 * 1000 } });
    await waitFor(async () => (await redis.zcard(keys.archivedKey(Q))) === 1, "old tasks trimmed by age");
    expect(await redis.zrange(keys.archivedKey(Q), 0, -1)).toEqual(["new-1"]);
    expect(await redis.exists(keys.taskKey(Q, "old-9"))).toBe(0);
  });
});
