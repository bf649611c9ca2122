// Events trimmed before a listener read them: the stream keeps about the last 10,000 events, and a
// listener that falls further behind loses the oldest. On Redis 7.0+ a QueueEvents hears `lost` (how
// many), and a waiting client settles its waits on what Redis holds now (their outcome may have been
// among the lost). The loss is made atomic here: a
// MULTI adds 600 entries and trims the stream to 500: the listener's read (500 at most) comes back
// full, starting after a gap of 100, which the check after a full read counts (XINFO STREAM's
// entries-added, Redis 7.0+).
import { describe, expect, it } from "vitest";
import { QueueEvents, type QueueLostEvent } from "../../src/events/queue-events.js";
import * as keys from "../../src/wire/keys.js";
import { useRedisFixture } from "../support/fixture.js";
import { sleep } from "../support/server-helpers.js";
import { waitFor } from "../support/server.js";

const { url, client, redis } = useRedisFixture({ client: true });

/** Whether this Redis reports trimmed entries (XINFO STREAM's max-deleted-entry-id, Redis 7.0+). */
async function reportsTrims(): Promise<boolean> {
  const info = await redis.info("server");
  const version = /(?:redis|valkey)_version:(\d+)/.exec(info)?.[1];
  return Number(version) >= 7;
}

/** Adds `n` completion entries (ids `<prefix><i>`) and trims the stream to `keep`, atomically. */
async function addAndTrim(queue: string, prefix: string, n: number, keep: number): Promise<string[]> {
  const multi = redis.multi();
  for (let i = 0; i < n; i++)
    multi.xadd(keys.eventsKey(queue), "*", "event", "completed", "id", `${prefix}${i}`);
  multi.xtrim(keys.eventsKey(queue), "MAXLEN", keep);
  const replies = (await multi.exec())!;
  return replies.slice(0, n).map(([, id]) => String(id));
}

describe("events trimmed before they were read", () => {
  it("a QueueEvents hears `lost` (what was trimmed), then the events that were kept, in order", async () => {
    await using events = new QueueEvents(url, "lq");
    const completed: string[] = [];
    const lost: QueueLostEvent[] = [];
    const order: string[] = [];
    events.on("completed", (e) => {
      completed.push(e.id);
      order.push("completed");
    });
    events.on("lost", (e) => {
      lost.push(e);
      order.push("lost");
    });
    await events.ready();
    const ids = await addAndTrim("lq", "t", 600, 500);
    await waitFor(() => completed.length === 500, "the 500 kept events");
    expect(completed).toEqual(Array.from({ length: 500 }, (_, i) => `t${i + 100}`));
    if (await reportsTrims()) {
      expect(lost).toEqual([{ queue: "lq", afterId: "0-0", count: 100, nextId: ids[100] }]);
      expect(order[0]).toBe("lost");
    } else {
      expect(lost).toEqual([]); // Redis 6.2 cannot say (docs/events.md)
    }
  });

  it("a waiting client settles on the task's state when its outcome may have been trimmed", async () => {
    if (!(await reportsTrims())) return; // Redis 6.2: the wait ends by its timeout (docs/events.md)
    const info = await client.enqueue({ type: "t" }, { queue: "lw", retention: 60_000 });
    const waiting = client.waitForResult("lw", info.id, { timeout: 20_000 });
    // The wait first checks the task (pending: it goes on waiting); give that check time to pass, so
    // that only the loss below can settle the wait.
    await sleep(300);
    // The task completes, and its completion is among the events trimmed before the wait read them
    // (written here by hand, as a worker would, with no entry of its own left in the stream).
    await redis.hset(keys.taskKey("lw", info.id), { state: "completed", result: "done" });
    await addAndTrim("lw", "other", 600, 500);
    const completed = await waiting;
    expect(completed.id).toBe(info.id);
    expect(Buffer.from(completed.result!).toString()).toBe("done");
  });
});
