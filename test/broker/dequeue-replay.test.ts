// A dequeue whose reply is lost runs again with the same claim token and gets back the tasks its first
// run claimed (wire-format §4.10; docs/compatibility.md P16): at the script level, and end to end
// through a proxy that drops the replies.
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { dequeue, newHint } from "../../src/broker/fetch/dequeue.js";
import { requeue } from "../../src/broker/finish/lifecycle.js";
import { LuaScript } from "../../src/broker/scripts.js";
import { unixSeconds } from "../../src/internal/clock.js";
import * as keys from "../../src/wire/keys.js";
import { FaultProxy } from "../support/fault-proxy.js";
import { claimedIds, runClaim } from "../support/dequeue-script.js";
import { useRedisFixture } from "../support/fixture.js";
import { testDb, testRedisUrl } from "../support/redis.js";

const Q = "default";
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0, 250);
const LEASE = NOW + 30_000;
const script = LuaScript.fromFile("fetch/dequeue");

const { redis, client } = useRedisFixture({ clock: NOW, client: "shared" });

async function enqueue(...ids: string[]): Promise<void> {
  for (const id of ids) await client.enqueue({ type: "t", payload: id }, { taskId: id, queue: Q });
}

/** One run of the dequeue script: claim `candidates` (oldest first) with `token`, no finished task. */
async function run(
  token: string,
  candidates: string[],
  leaseMs = LEASE,
): Promise<{ claimed: string[]; paused: number }> {
  const reply = await runClaim(redis, { queue: Q, candidates, token, leaseMs, nowMs: NOW });
  return { claimed: claimedIds(reply), paused: reply[3] };
}

describe("the dequeue script, run twice with one token", () => {
  it("returns the tasks its first run claimed, once in active, with the lease it asks for", async () => {
    await enqueue("a", "b", "c");
    expect((await run("T1", ["a", "b"])).claimed).toEqual(["a", "b"]);
    expect((await run("T1", ["a", "b"], LEASE + 7_000)).claimed).toEqual(["a", "b"]);
    expect(await redis.lrange(keys.activeKey(Q), 0, -1)).toEqual(["b", "a"]);
    expect(await redis.lrange(keys.pendingKey(Q), 0, -1)).toEqual(["c"]);
    expect(await redis.zrange(keys.leaseKey(Q), 0, -1, "WITHSCORES")).toEqual([
      "a",
      String(unixSeconds(LEASE + 7_000)),
      "b",
      String(unixSeconds(LEASE + 7_000)),
    ]);
    expect(await redis.hget(keys.taskKey(Q, "a"), "claim")).toBe("T1");
  });

  it("gives another call naming the same candidates (another worker) only those still pending", async () => {
    await enqueue("a", "b");
    expect((await run("T1", ["a"])).claimed).toEqual(["a"]);
    expect((await run("T2", ["a", "b"])).claimed).toEqual(["b"]);
    expect(await redis.exists(keys.pendingKey(Q))).toBe(0);
    expect(await redis.hget(keys.taskKey(Q, "a"), "claim")).toBe("T1");
    expect(await redis.hget(keys.taskKey(Q, "b"), "claim")).toBe("T2");
  });

  it("claims the rest normally when the first run stopped short", async () => {
    await enqueue("a", "b", "c");
    expect((await run("T1", ["a"])).claimed).toEqual(["a"]);
    // The replay names one more candidate than the first run took (as a later round would).
    expect((await run("T1", ["a", "b"])).claimed).toEqual(["a", "b"]);
    expect(await redis.lrange(keys.activeKey(Q), 0, -1)).toEqual(["b", "a"]);
  });

  it("does not return a task that has left active since (its stamp is gone)", async () => {
    await enqueue("a");
    expect((await run("T1", ["a"])).claimed).toEqual(["a"]);
    expect(await requeue(redis, Q, "a")).toBe("ok");
    expect(await redis.hexists(keys.taskKey(Q, "a"), "claim")).toBe(0);
    // Back at the tail of pending: the replay claims it again, as a new claim.
    expect((await run("T1", ["a"])).claimed).toEqual(["a"]);
    expect(await redis.lrange(keys.activeKey(Q), 0, -1)).toEqual(["a"]);
  });

  it("on a queue paused in between, returns what the first run claimed and nothing new", async () => {
    await enqueue("a", "b");
    expect((await run("T1", ["a"])).claimed).toEqual(["a"]);
    await redis.set(keys.pausedKey(Q), "1");
    expect(await run("T1", ["a", "b"])).toEqual({ claimed: ["a"], paused: 1 });
    expect(await redis.lrange(keys.pendingKey(Q), 0, -1)).toEqual(["b"]);
  });
});

describe("a lost dequeue reply, end to end", () => {
  let proxy: FaultProxy;
  let viaProxy: Redis;

  beforeAll(async () => {
    proxy = await FaultProxy.start({ target: testRedisUrl() });
  });
  afterAll(async () => {
    await proxy.close();
  });
  beforeEach(() => {
    // As the Server's connection: commands wait through a reconnect, and ioredis re-sends the ones
    // in flight when the connection broke.
    viaProxy = new Redis(proxy.url(testDb()), { maxRetriesPerRequest: null, retryStrategy: () => 20 });
    viaProxy.on("error", () => {});
  });

  it("returns the claimed tasks although the reply was dropped and the connection reset", async () => {
    await enqueue("a", "b", "c", "d");
    const hint = newHint();
    await dequeue(viaProxy, Q, 1, LEASE, hint); // learns the tail: the next call claims by ID
    proxy.dropReplies({ count: 1, match: (c) => c.name === "evalsha" && c.args[0] === script.sha });
    const result = await dequeue(viaProxy, Q, 2, LEASE, hint);
    expect(result.tasks.map((t) => t.id)).toEqual(["b", "c"]);
    // Nothing claimed that the worker does not know of.
    expect((await redis.lrange(keys.activeKey(Q), 0, -1)).sort()).toEqual(["a", "b", "c"]);
    expect(proxy.stats.droppedReplies).toBeGreaterThanOrEqual(1);
    viaProxy.disconnect();
  });

  it("returns them when the call fails with the reply lost and is replayed by the caller", async () => {
    await enqueue("a", "b", "c");
    // No re-send by ioredis: the lost call fails, and dequeue replays it itself.
    const strict = new Redis(proxy.url(testDb()), {
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: () => 20,
    });
    strict.on("error", () => {});
    try {
      const hint = newHint();
      await dequeue(strict, Q, 1, LEASE, hint);
      proxy.dropReplies({ count: 1, match: (c) => c.name === "evalsha" && c.args[0] === script.sha });
      const result = await dequeue(strict, Q, 2, LEASE, hint);
      expect(result.tasks.map((t) => t.id)).toEqual(["b", "c"]);
      expect(await redis.lrange(keys.pendingKey(Q), 0, -1)).toEqual([]);
    } finally {
      strict.disconnect();
      viaProxy.disconnect();
    }
  });
});
