// Dequeue against a real Redis: FIFO claims, pause, dangling IDs, corrupt hashes, concurrent workers, NOSCRIPT.
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { dequeue, newHint } from "../../src/broker/fetch/dequeue.js";
import { unixSeconds } from "../../src/internal/clock.js";
import * as keys from "../../src/wire/keys.js";
import { decodeTaskMessage } from "../../src/wire/proto.js";
import { claimedIds, runClaim } from "../support/dequeue-script.js";
import { dumpDb } from "../support/redis-dump.js";
import { useRedisFixture } from "../support/fixture.js";
import { testRedisUrl } from "../support/redis.js";

const Q = "default";
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0, 250);
const LEASE = NOW + 30_000;

const { redis, client } = useRedisFixture({ clock: NOW, client: "shared" });

/** Enqueues tasks with the given IDs, in order (the first is the oldest). */
async function enqueue(...ids: string[]): Promise<void> {
  for (const id of ids) await client.enqueue({ type: "t", payload: id }, { taskId: id, queue: Q });
}

const base = { queue: Q, leaseMs: LEASE, nowMs: NOW };

/** Runs the dequeue script itself with one candidate, no finished task and `h` IDs asked for next. */
function claimScript(candidate: string, h: number): Promise<unknown> {
  return runClaim(redis, { ...base, candidates: [candidate], token: "test-token", h, buffers: true });
}

/** Runs the dequeue script on `conn` with `candidates` (in claim order) and `token`; returns the IDs claimed. */
async function claimMany(conn: Redis, token: string, candidates: readonly string[]): Promise<string[]> {
  return claimedIds(await runClaim(conn, { ...base, candidates, token }));
}

/** Runs the dequeue script with `candidates`, claiming at most `want`, listing `h` IDs `skip` deep. */
async function claimUpTo(
  candidates: readonly string[],
  want: number,
  h: number,
  skip: number,
): Promise<{ claimed: string[]; next: string[]; length: number; taken: number }> {
  const reply = await runClaim(redis, { ...base, candidates, token: "T-up-to", want, h, skip });
  return { claimed: claimedIds(reply), next: reply[4].map(String), length: reply[5], taken: reply[6] };
}

describe("dequeue", () => {
  it("claims the oldest tasks first (FIFO) and moves each to active with a lease", async () => {
    await enqueue("a", "b", "c");
    const first = await dequeue(redis, Q, 2, LEASE);
    expect(first).toMatchObject({ paused: false, dangling: [] });
    expect(first.tasks.map((t) => t.id)).toEqual(["a", "b"]);
    expect(decodeTaskMessage(first.tasks[0]!.msg!)).toMatchObject({ id: "a", type: "t", queue: Q });

    expect(await redis.lrange(keys.pendingKey(Q), 0, -1)).toEqual(["c"]);
    expect(await redis.lrange(keys.activeKey(Q), 0, -1)).toEqual(["b", "a"]); // pushed onto the head
    expect(await redis.zrange(keys.leaseKey(Q), 0, -1, "WITHSCORES")).toEqual([
      "a",
      String(unixSeconds(LEASE)),
      "b",
      String(unixSeconds(LEASE)),
    ]);
    const hash = await redis.hgetallBuffer(keys.taskKey(Q, "a"));
    // pending_since is removed; claim is the dequeue's stamp (removed when the task leaves active)
    expect(Object.keys(hash).sort()).toEqual(["claim", "msg", "state"]);
    expect(hash.state!.toString()).toBe("active");
    expect(hash.msg!.equals(first.tasks[0]!.msg!)).toBe(true);

    const second = await dequeue(redis, Q, 5, LEASE);
    expect(second.tasks.map((t) => t.id)).toEqual(["c"]);
    expect(await dequeue(redis, Q, 5, LEASE)).toEqual({
      tasks: [],
      paused: false,
      dangling: [],
      finished: [],
    });
  });

  it("returns when each task became pending only when asked, read before it is removed", async () => {
    await enqueue("a", "b", "c");
    // The client's clock is NOW: pending_since is NOW in unix nanoseconds.
    expect(await redis.hget(keys.taskKey(Q, "a"), "pending_since")).toBe(String(BigInt(NOW) * 1_000_000n));
    await redis.hdel(keys.taskKey(Q, "b"), "pending_since");
    const plain = await dequeue(redis, Q, 1, LEASE);
    expect(plain.tasks.map((t) => t.id)).toEqual(["a"]);
    expect(plain.tasks[0]).not.toHaveProperty("pendingSince");
    const timed = await dequeue(redis, Q, 2, LEASE, undefined, [], NOW, true);
    expect(timed.tasks.map((t) => [t.id, t.pendingSince])).toEqual([
      ["b", undefined],
      ["c", NOW],
    ]);
    expect(await redis.hexists(keys.taskKey(Q, "c"), "pending_since")).toBe(0);
    // The script's own reply: id, msg, since per task.
    await enqueue("d");
    const reply = await runClaim(redis, { ...base, candidates: ["d"], token: "T-since", since: true });
    expect(reply[1]).toHaveLength(3);
    expect(reply[1][0]).toBe("d");
    expect(reply[1][2]).toBe(String(BigInt(NOW) * 1_000_000n));
  });

  it("returns msg as exact binary bytes", async () => {
    await client.enqueue({ type: "bin", payload: new Uint8Array([0, 0xff, 0x80, 0x0a]) }, { taskId: "b1" });
    const stored = await redis.hgetBuffer(keys.taskKey(Q, "b1"), "msg");
    const { tasks } = await dequeue(redis, Q, 1, LEASE);
    expect(tasks[0]!.msg!.equals(stored!)).toBe(true);
  });

  it("moves nothing from a paused queue", async () => {
    await enqueue("a", "b");
    await redis.set(keys.pausedKey(Q), String(unixSeconds(NOW)));
    const before = await dumpDb(redis);
    expect(await dequeue(redis, Q, 5, LEASE)).toEqual({
      tasks: [],
      paused: true,
      dangling: [],
      finished: [],
    });
    expect(await dumpDb(redis)).toEqual(before);
  });

  it("the script itself refuses a queue paused after the peek", async () => {
    await enqueue("a");
    await redis.set(keys.pausedKey(Q), "1");
    const before = await dumpDb(redis);
    const reply = await claimScript("a", 8);
    expect(reply).toEqual([[], [], [], 1, [], 1, 0]); // paused, pending holds one, nothing taken
    expect(await dumpDb(redis)).toEqual(before);
  });

  it("drops and reports a dangling pending ID without creating a hash", async () => {
    await redis.lpush(keys.pendingKey(Q), "ghost");
    await enqueue("a");
    const result = await dequeue(redis, Q, 5, LEASE);
    expect(result).toMatchObject({ paused: false, dangling: ["ghost"] });
    expect(result.tasks.map((t) => t.id)).toEqual(["a"]);
    expect(await redis.exists(keys.taskKey(Q, "ghost"))).toBe(0);
    expect(await redis.lrange(keys.activeKey(Q), 0, -1)).toEqual(["a"]);
    expect(await redis.zrange(keys.leaseKey(Q), 0, -1)).toEqual(["a"]);
    expect(await redis.exists(keys.pendingKey(Q))).toBe(0);
  });

  it("keeps going after a round made only of dangling IDs", async () => {
    await redis.lpush(keys.pendingKey(Q), "ghost1", "ghost2");
    await enqueue("a");
    const result = await dequeue(redis, Q, 2, LEASE);
    expect(result.dangling).toEqual(["ghost1", "ghost2"]);
    expect(result.tasks.map((t) => t.id)).toEqual(["a"]);
  });

  it("reports only dangling IDs when the queue holds nothing else", async () => {
    await redis.lpush(keys.pendingKey(Q), "ghost");
    expect(await dequeue(redis, Q, 1, LEASE)).toEqual({
      tasks: [],
      paused: false,
      dangling: ["ghost"],
      finished: [],
    });
    expect(await redis.keys("*")).toEqual([]);
  });

  it("claims a task whose hash has no msg field, with msg null", async () => {
    await redis.hset(keys.taskKey(Q, "x"), "state", "pending");
    await redis.lpush(keys.pendingKey(Q), "x");
    const result = await dequeue(redis, Q, 1, LEASE);
    // The lease as Redis stores it: whole seconds.
    const leaseExpiresAt = unixSeconds(LEASE) * 1000;
    expect(result.tasks).toEqual([{ queue: Q, id: "x", msg: null, leaseExpiresAt }]);
    expect(await redis.hgetall(keys.taskKey(Q, "x"))).toMatchObject({ state: "active" });
    expect(Object.keys(await redis.hgetall(keys.taskKey(Q, "x"))).sort()).toEqual(["claim", "state"]);
    expect(await redis.lrange(keys.activeKey(Q), 0, -1)).toEqual(["x"]);
  });

  it("the script claims a candidate that is not the tail of pending, and leaves the rest in order", async () => {
    await enqueue("a", "b", "c");
    // "b" is not the tail ("a" is): it is taken from where it is.
    const reply = (await claimScript("b", 8)) as [
      unknown[],
      Array<Buffer | null>,
      unknown[],
      number,
      Buffer[],
    ];
    expect(reply[1][0]!.toString()).toBe("b");
    expect(reply[3]).toBe(0);
    expect(reply[4].map(String)).toEqual(["c", "a"]); // next in line, newest first
    expect(await redis.lrange(keys.pendingKey(Q), 0, -1)).toEqual(["c", "a"]);
    expect(await redis.lrange(keys.activeKey(Q), 0, -1)).toEqual(["b"]);
    expect(await redis.hget(keys.taskKey(Q, "b"), "state")).toBe("active");
    expect(await redis.zrange(keys.leaseKey(Q), 0, -1)).toEqual(["b"]);
  });

  it("the script skips a candidate that is no longer in pending, writing nothing", async () => {
    await enqueue("a", "b");
    await dequeue(redis, Q, 1, LEASE); // another worker claims "a"
    const before = await dumpDb(redis);
    const reply = await claimScript("a", 0);
    expect(reply).toEqual([[], [], [], 0, [], 1, 1]); // pending holds "b"; one candidate found taken
    expect(await dumpDb(redis)).toEqual(before);
  });

  it("the script skips a candidate another call took and still claims the others", async () => {
    await enqueue("a", "b", "c", "d", "e");
    expect(await claimMany(redis, "T1", ["a", "c"])).toEqual(["a", "c"]);
    // The second call names the same tail: "a" and "c" are skipped, not a reason to stop.
    expect(await claimMany(redis, "T2", ["a", "b", "c", "d"])).toEqual(["b", "d"]);
    expect(await redis.lrange(keys.pendingKey(Q), 0, -1)).toEqual(["e"]);
    expect(await redis.lrange(keys.activeKey(Q), 0, -1)).toEqual(["d", "b", "c", "a"]);
    expect(await redis.hget(keys.taskKey(Q, "a"), "claim")).toBe("T1");
    expect(await redis.hget(keys.taskKey(Q, "b"), "claim")).toBe("T2");
    expect(await redis.zcard(keys.leaseKey(Q))).toBe(4);
  });

  it("calls naming the same candidates at once never both claim one", async () => {
    const ids = Array.from({ length: 400 }, (_, i) => `task-${i}`);
    const results = await client.enqueueBatch(
      ids.map((id) => ({ type: "t", payload: id, options: { taskId: id } })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    const conns = Array.from({ length: 6 }, () => new Redis(testRedisUrl()));
    try {
      const claimedBy = new Map<string, string[]>();
      let seq = 0;
      const worker = async (conn: Redis, w: number): Promise<void> => {
        for (;;) {
          // Every call names the same stretch of the tail (newest first in LRANGE), in a worker-dependent order.
          const tail = (await conn.lrange(keys.pendingKey(Q), -12, -1)).reverse();
          if (tail.length === 0) return;
          const candidates = w % 2 === 0 ? tail : [...tail].reverse();
          const token = `W${w}-${seq++}`;
          for (const id of await claimMany(conn, token, candidates))
            claimedBy.set(id, [...(claimedBy.get(id) ?? []), token]);
        }
      };
      await Promise.all(conns.map((c, w) => worker(c, w)));
      expect([...claimedBy.values()].filter((tokens) => tokens.length !== 1)).toEqual([]);
      expect([...claimedBy.keys()].sort()).toEqual([...ids].sort());
      expect(await redis.exists(keys.pendingKey(Q))).toBe(0);
      expect(await redis.llen(keys.activeKey(Q))).toBe(400);
      expect(await redis.zcard(keys.leaseKey(Q))).toBe(400);
      for (const [id, [token]] of claimedBy)
        expect(await redis.hmget(keys.taskKey(Q, id), "state", "claim")).toEqual(["active", token]);
    } finally {
      for (const c of conns) c.disconnect();
    }
  });

  it("two concurrent workers never claim the same task and claim all 200", async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `task-${i}`);
    const results = await client.enqueueBatch(
      ids.map((id) => ({ type: "t", payload: id, options: { taskId: id } })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    const second = new Redis(testRedisUrl());
    try {
      const worker = async (conn: Redis): Promise<string[]> => {
        const claimed: string[] = [];
        while ((await conn.llen(keys.pendingKey(Q))) > 0) {
          const { tasks } = await dequeue(conn, Q, 3, LEASE);
          claimed.push(...tasks.map((t) => t.id));
        }
        return claimed;
      };
      const [a, b] = await Promise.all([worker(redis), worker(second)]);
      const all = [...a, ...b];
      expect(new Set(all).size).toBe(all.length);
      expect(all.sort()).toEqual([...ids].sort());
      expect(await redis.llen(keys.activeKey(Q))).toBe(200);
      expect(await redis.zcard(keys.leaseKey(Q))).toBe(200);
      expect(a.length).toBeGreaterThan(0);
      expect(b.length).toBeGreaterThan(0);
    } finally {
      second.disconnect();
    }
  });

  it("the script stops once it has claimed what it wants; the extra candidates stay pending", async () => {
    await enqueue("a", "b", "c", "d", "e");
    await dequeue(redis, Q, 1, LEASE); // another worker takes "a"
    const reply = await claimUpTo(["a", "b", "c", "d"], 2, 0, 0);
    expect(reply).toEqual({ claimed: ["b", "c"], next: [], length: 2, taken: 1 });
    expect(await redis.lrange(keys.pendingKey(Q), 0, -1)).toEqual(["e", "d"]);
    expect(await redis.hget(keys.taskKey(Q, "d"), "state")).toBe("pending");
  });

  it("the script lists the stretch `skip` IDs deep from the tail, moved towards the tail when the list is short", async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `t${String(i).padStart(2, "0")}`);
    const results = await client.enqueueBatch(
      ids.map((id) => ({ type: "t", payload: id, options: { taskId: id } })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    // pending is newest first: t19 ... t00, the tail being t00. 4 IDs, 10 deep: t10..t13 (newest first).
    expect(await claimUpTo([], 0, 4, 10)).toEqual({
      claimed: [],
      next: ["t13", "t12", "t11", "t10"],
      length: 20,
      taken: 0,
    });
    // 18 deep would run past the head: the stretch ends at the head instead (the last 4 of 20).
    expect((await claimUpTo([], 0, 4, 18)).next).toEqual(["t19", "t18", "t17", "t16"]);
    // Asking for more than the list holds lists all of it.
    expect((await claimUpTo([], 0, 30, 5)).next).toHaveLength(20);
  });

  it("a worker that sees another drain the queue between its calls spreads its replies, and claims every task once", async () => {
    const ids = Array.from({ length: 400 }, (_, i) => `t${String(i).padStart(3, "0")}`);
    const results = await client.enqueueBatch(
      ids.map((id) => ({ type: "t", payload: id, options: { taskId: id } })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    const hint = newHint();
    const mine: string[] = [];
    mine.push(...(await dequeue(redis, Q, 4, LEASE, hint, [], NOW)).tasks.map((t) => t.id));
    expect(hint.others).toBe(0);
    const theirs: string[] = [];
    for (let round = 0; round < 20; round++) {
      // Another worker takes 10 from the tail between two of our calls: pending shrinks by more than we claim.
      theirs.push(...(await dequeue(redis, Q, 10, LEASE)).tasks.map((t) => t.id));
      const r = await dequeue(redis, Q, 4, LEASE, hint, [], NOW);
      mine.push(...r.tasks.map((t) => t.id));
      expect(hint.others).toBeGreaterThan(0);
    }
    // Spread: our claims are no longer all at the tail (with 200 IDs to spread over, the oldest
    // IDs we claimed are not the 80 oldest of ours).
    const ours = mine.slice(4);
    expect(ours.some((id) => Number(id.slice(1)) > 4 + 10 * 20 + 4 * 20)).toBe(true);
    const all = [...mine, ...theirs];
    expect(new Set(all).size).toBe(all.length);
    expect(await redis.llen(keys.pendingKey(Q))).toBe(400 - all.length);
  });

  it("falls back to EVAL after SCRIPT FLUSH", async () => {
    await enqueue("a");
    await redis.script("FLUSH");
    const { tasks } = await dequeue(redis, Q, 1, LEASE);
    expect(tasks.map((t) => t.id)).toEqual(["a"]);
  });

  it("rejects a max below 1", async () => {
    await expect(dequeue(redis, Q, 0, LEASE)).rejects.toThrow(Error);
    await expect(dequeue(redis, Q, 1.5, LEASE)).rejects.toThrow(Error);
  });
});
