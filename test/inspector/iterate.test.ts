// Inspector iteration over a whole state: cursor pages that neither skip nor repeat tasks that stay, while others come and go.
import { describe, expect, it } from "vitest";
import {
  MAX_RESTARTS,
  seekTaskRecords,
  type SeekCursor,
  type TaskSource,
} from "../../src/broker/admin/list.js";
import { QueueNotFoundError, ValidationError, type CorruptTaskError } from "../../src/errors.js";
import * as keys from "../../src/wire/keys.js";
import { useRedisFixture } from "../support/fixture.js";
import { NOW, put, rejection, taskAdmin } from "./task-fixtures.js";

const { redis, clock } = useRedisFixture({ clock: NOW });
const admin = taskAdmin(redis, clock);

const name = (i: number): string => `t${String(i).padStart(4, "0")}`;

/** Writes n tasks t0000… in `state`; pending ones are pushed in order (t0000 is the tail). */
async function fill(
  state: "pending" | "archived",
  n: number,
  score = (i: number) => 1000 + i,
): Promise<string[]> {
  const all = Array.from({ length: n }, (_, i) => name(i));
  for (const [i, id] of all.entries()) await put(redis, "q", id, state, { score: score(i) });
  return all;
}

/** Collects an iteration, running `between` after every `every` tasks yielded. */
async function collect(
  iterator: AsyncIterableIterator<{ id: string }>,
  every = Infinity,
  between: (seen: string[]) => Promise<void> = async () => {},
): Promise<string[]> {
  const seen: string[] = [];
  for await (const task of iterator) {
    seen.push(task.id);
    if (seen.length % every === 0) await between(seen);
  }
  return seen;
}

describe("iterateTasks", () => {
  it("yields every task of a sorted set once, in order, across pages", async () => {
    const all = await fill("archived", 250);
    expect(await collect(admin.iterateTasks("q", "archived", { batch: 100 }))).toEqual(all);
    expect(await collect(admin.iterateTasks("q", "archived", { batch: 250 }))).toEqual(all);
  });

  it("yields every pending task once, next-to-run first", async () => {
    const all = await fill("pending", 95);
    expect(await collect(admin.iterateTasks("q", "pending", { batch: 10 }))).toEqual(all);
  });

  it("neither skips nor repeats when each yielded task is deleted at once (equal scores: cursor by member)", async () => {
    const all = await fill("archived", 300, () => 5000);
    const seen = await collect(admin.iterateTasks("q", "archived", { batch: 50 }), 1, async (s) => {
      await redis.zrem(keys.archivedKey("q"), s[s.length - 1]!);
    });
    expect(seen).toEqual(all);
  });

  it("neither skips nor repeats pending tasks when each page is deleted as it is read", async () => {
    const all = await fill("pending", 120);
    const seen = await collect(admin.iterateTasks("q", "pending", { batch: 10 }), 10, async (s) => {
      for (const id of s.slice(-10)) await redis.lrem(keys.pendingKey("q"), 0, id);
    });
    expect(seen).toEqual(all);
  });

  it("goes on after the last task yielded when the IDs read after the page are gone", async () => {
    const all = await fill("pending", 60);
    const seen = await collect(admin.iterateTasks("q", "pending", { batch: 10 }), 10, async (s) => {
      if (s.length === 10) for (const id of all.slice(10, 26)) await redis.lrem(keys.pendingKey("q"), 0, id);
    });
    expect(seen).toEqual([...all.slice(0, 10), ...all.slice(26)]);
  });

  it("goes on from the tail when workers took the page and the IDs after it, without skipping", async () => {
    const all = await fill("pending", 100);
    const seen = await collect(admin.iterateTasks("q", "pending", { batch: 10 }), 10, async (s) => {
      if (s.length === 10) for (let i = 0; i < 50; i++) await redis.rpop(keys.pendingKey("q"));
    });
    expect(seen).toEqual([...all.slice(0, 10), ...all.slice(50)]);
  });

  it("keeps its place when tasks are added at the head or the tail meanwhile", async () => {
    const all = await fill("pending", 40);
    const seen = await collect(admin.iterateTasks("q", "pending", { batch: 10 }), 10, async (s) => {
      if (s.length === 10) {
        await put(redis, "q", "new-head", "pending");
        await redis.rpush(keys.pendingKey("q"), "requeued-tail");
        for (let i = 0; i < 5; i++) await redis.lrem(keys.pendingKey("q"), 0, all[i]!);
      }
    });
    expect(seen).toEqual([...all, "new-head"]);
  });

  it("does not yield a task added behind the cursor of a sorted set, nor repeat one", async () => {
    const all = await fill("archived", 30);
    const seen = await collect(admin.iterateTasks("q", "archived", { batch: 10 }), 10, async (s) => {
      if (s.length === 10) {
        await put(redis, "q", "behind", "archived", { score: 1 });
        await put(redis, "q", "ahead", "archived", { score: 999_999 });
      }
    });
    expect(seen).toEqual([...all, "ahead"]);
  });

  it("iterates active tasks and a group's aggregating tasks", async () => {
    for (const id of ["a1", "a2", "a3"]) await put(redis, "q", id, "active");
    for (const [i, id] of ["g1", "g2", "g3"].entries())
      await put(redis, "q", id, "aggregating", { group: "G", score: i });
    expect(await collect(admin.iterateTasks("q", "active", { batch: 2 }))).toEqual(["a1", "a2", "a3"]);
    expect(await collect(admin.iterateTasks("q", "aggregating", { group: "G", batch: 2 }))).toEqual([
      "g1",
      "g2",
      "g3",
    ]);
  });

  it("skips corrupt records, reporting each to onCorrupt", async () => {
    await fill("archived", 3);
    await put(redis, "q", "bad", "archived", {
      score: 1001,
      fields: { msg: Buffer.from([0xff]), state: "archived" },
    });
    const corrupt: CorruptTaskError[] = [];
    const seen = await collect(
      admin.iterateTasks("q", "archived", { batch: 2, onCorrupt: (e) => corrupt.push(e) }),
    );
    expect(seen).toEqual(["t0000", "t0001", "t0002"]);
    expect(corrupt.map((e) => e.taskId)).toEqual(["bad"]);
  });

  it("yields nothing for an empty state; fails on the first next() for an unknown queue", async () => {
    await put(redis, "q", "x", "pending");
    expect(await collect(admin.iterateTasks("q", "retry"))).toEqual([]);
    const error = await rejection(admin.iterateTasks("nope", "retry").next());
    expect(error).toBeInstanceOf(QueueNotFoundError);
  });

  it("checks its arguments at the call", () => {
    expect(() => admin.iterateTasks("q", "pending", { batch: 0 })).toThrow(ValidationError);
    expect(() => admin.iterateTasks("", "pending")).toThrow(ValidationError);
    expect(() => admin.iterateTasks("q", "aggregating")).toThrow(/group/);
  });
});

describe("seekTaskRecords (Redis side)", () => {
  const source: TaskSource = { state: "pending" };

  it("ends a list iteration on the page that reaches the head, and restarts from the tail when no cursor ID is left", async () => {
    await fill("pending", 12);
    const first = await seekTaskRecords(redis, "q", source, null, 5);
    if (first === "queue-not-found" || first.next?.kind !== "list") throw new Error("expected a list cursor");
    expect(first.records.map((r) => r.id)).toEqual(["t0000", "t0001", "t0002", "t0003", "t0004"]);
    expect(first.next).toMatchObject({
      position: 5,
      restarts: 0,
      anchors: ["t0004", "t0003", "t0002", "t0001", "t0000"],
    });
    expect(first.next.markers).toEqual(["t0005", "t0006", "t0007", "t0008", "t0009", "t0010", "t0011"]);
    await redis.del(keys.pendingKey("q"));
    await redis.lpush(keys.pendingKey("q"), "z1", "z2");
    const second = await seekTaskRecords(redis, "q", source, first.next, 5);
    if (second === "queue-not-found") throw new Error("queue vanished");
    expect(second.records.map((r) => r.id)).toEqual(["z1", "z2"]);
    expect(second.next).toBeNull();
  });

  it("counts restarts from the tail and ends the iteration after MAX_RESTARTS of them", async () => {
    const all = await fill("pending", 30);
    const lost: SeekCursor = {
      kind: "list",
      position: 5,
      markers: ["gone1"],
      anchors: ["gone2"],
      restarts: 0,
    };
    const again = await seekTaskRecords(redis, "q", source, lost, 5);
    if (again === "queue-not-found") throw new Error("queue vanished");
    expect(again.records.map((r) => r.id)).toEqual(all.slice(0, 5));
    expect(again.next).toMatchObject({ restarts: 1, position: 5 });
    const last = await seekTaskRecords(redis, "q", source, { ...lost, restarts: MAX_RESTARTS }, 5);
    if (last === "queue-not-found") throw new Error("queue vanished");
    expect(last.records.map((r) => r.id)).toEqual(all.slice(0, 5));
    expect(last.next).toBeNull();
  });
});
