// A queue with a key of the wrong type (issue 12, item 5): its dequeues and forwards back off on their
// own, 1 s, 2 s, 4 s … with one error line per step instead of a flood, while the other queue keeps
// being served at full speed; one info line says when the queue works again.
import { describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import * as keys from "../../src/wire/keys.js";
import { useRedisFixture } from "../support/fixture.js";
import { startServer, waitFor } from "../support/server.js";

const { redis } = useRedisFixture();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a queue whose keys hold the wrong type", () => {
  it("is backed off alone, one error line per step, and logged once when it works again", async () => {
    await redis.sadd(keys.ALL_QUEUES, "broken", "default");
    await redis.set(keys.pendingKey("broken"), "not a list");
    await redis.set(keys.scheduledKey("broken"), "not a zset");
    const done = new Map<string, number>(); // task ID -> latency (ms)
    const enqueuedAt = new Map<string, number>();
    const client = new Client(redis);
    // Two fetch lanes (20 slots) share the back-off: a step is logged once, not once per lane.
    const { logs } = await startServer(
      redis,
      (_task, ctx) => {
        done.set(ctx.id, Date.now() - enqueuedAt.get(ctx.id)!);
      },
      { queues: { broken: 1, default: 1 }, concurrency: 20, logLevel: "info", pollInterval: 1000 },
    );
    const startedAt = Date.now();

    // 5.5 s of work on the healthy queue: the broken one fails at about 0, 1 and 3 s (next at 7 s).
    while (Date.now() - startedAt < 5500) {
      const info = await client.enqueue({ type: "ok" });
      enqueuedAt.set(info.id, Date.now());
      await sleep(100);
    }
    await waitFor(() => done.size === enqueuedAt.size, "every task of the healthy queue processed");

    const dequeueErrors = logs.filter((l) => l.level === "error" && l.fields.operation === "dequeue");
    expect(
      dequeueErrors.map((l) => [l.fields.queue, l.fields.failures, l.fields.delayMs]),
      dequeueErrors.map((l) => l.message).join("\n"),
    ).toEqual([
      ["broken", 1, 1000],
      ["broken", 2, 2000],
      ["broken", 3, 4000],
    ]);
    expect(dequeueErrors[2]!.message).toMatch(
      /^asynq: cannot dequeue from queue "broken": WRONGTYPE .*; retrying in 4 s \(3rd failure\)$/,
    );
    expect(dequeueErrors[0]!.fields.error).toMatch(/^WRONGTYPE /);
    // The forwarder backs the queue off the same way (its checks are aligned on whole seconds).
    const forwardErrors = logs.filter((l) => l.level === "error" && l.fields.operation === "forward");
    expect(forwardErrors.length).toBeGreaterThanOrEqual(2);
    expect(forwardErrors.length).toBeLessThanOrEqual(3);
    expect(forwardErrors.map((l) => l.fields.delayMs)).toEqual(
      [1000, 2000, 4000].slice(0, forwardErrors.length),
    );
    // Nothing else went wrong, and the healthy queue was served promptly throughout.
    expect(logs.filter((l) => l.level === "error").length).toBe(dequeueErrors.length + forwardErrors.length);
    expect(done.size).toBeGreaterThan(40);
    expect(Math.max(...done.values())).toBeLessThan(500);

    // Repaired: the next step's try (at about 7 s) succeeds, says so once, and serves the queue.
    await redis.del(keys.pendingKey("broken"), keys.scheduledKey("broken"));
    const repaired = await client.enqueue({ type: "ok" }, { queue: "broken" });
    enqueuedAt.set(repaired.id, Date.now());
    await waitFor(() => done.has(repaired.id), "the repaired queue served", { timeoutMs: 4000 });
    const recovered = logs.filter((l) => l.fields.operation === "dequeue" && l.level === "info");
    expect(recovered.map((l) => l.message)).toEqual([
      'asynq: queue "broken": dequeue working again after 3 failure(s)',
    ]);
    expect(recovered[0]!.fields).toMatchObject({ queue: "broken", failures: 3, component: "processor" });
    await client.close();
  }, 20_000);
});
