// drainQueue on a real Redis with a real Server: everything pending is processed, follow-up tasks
// too, the summary counts what happened, and a queue that cannot drain fails loud.
import { describe, expect, it } from "vitest";
import { AsynqError, SkipRetry } from "../../src/errors.js";
import { ServeMux } from "../../src/server/mux.js";
import { defineTask } from "../../src/tasks/define.js";
import { drainQueue } from "../../src/testing/index.js";
import { useRedisFixture } from "../support/fixture.js";

const { url, client, inspector } = useRedisFixture({ client: true, inspector: true });

const order = defineTask<{ id: number }>("order:process");
const receipt = defineTask<{ id: number }>("order:receipt");

describe("drainQueue", () => {
  it("processes every pending task, and the tasks they enqueue, then resolves", async () => {
    const seen: string[] = [];
    const mux = new ServeMux()
      .handle(order, async ({ id }) => {
        seen.push(`order ${id}`);
        await client.enqueue(receipt, { id });
      })
      .handle(receipt, ({ id }) => void seen.push(`receipt ${id}`));
    for (let id = 1; id <= 5; id++) await client.enqueue(order, { id });

    const summary = await drainQueue(url, "default", mux);
    expect(summary).toMatchObject({ completed: 10, failed: 0, retried: 0, archived: 0 });
    expect(seen.filter((s) => s.startsWith("order"))).toEqual([1, 2, 3, 4, 5].map((id) => `order ${id}`));
    expect(seen.filter((s) => s.startsWith("receipt")).sort()).toEqual(
      [1, 2, 3, 4, 5].map((id) => `receipt ${id}`),
    );
    expect(summary.left).toMatchObject({ pending: 0, active: 0 });
    expect(await inspector.queueSizes("default")).toMatchObject({ pending: 0, active: 0, size: 0 });
  });

  it("leaves retries and scheduled tasks alone by default, and reports them", async () => {
    await client.enqueue({ type: "fails" });
    await client.enqueue({ type: "later" }, { processIn: 3_600_000 });
    const summary = await drainQueue(url, "default", () => {
      throw new Error("boom");
    });
    expect(summary).toMatchObject({ completed: 0, failed: 1, retried: 1 });
    expect(summary.left).toMatchObject({ retry: 1, scheduled: 1, pending: 0 });
  });

  it("with scheduled: runs scheduled tasks and retries now, until each succeeds or is archived", async () => {
    await client.enqueue({ type: "fails" }, { maxRetry: 2 });
    await client.enqueue({ type: "later" }, { processIn: 3_600_000 });
    await client.enqueue({ type: "skip" });
    const mux = new ServeMux()
      .handle("fails", () => Promise.reject(new Error("boom")))
      .handle("later", () => "done")
      .handle("skip", () => {
        throw new SkipRetry("bad input");
      });
    const summary = await drainQueue(url, "default", mux, { scheduled: true });
    expect(summary).toMatchObject({ completed: 1, failed: 4, retried: 2, archived: 2 });
    expect(summary.left).toMatchObject({ pending: 0, scheduled: 0, retry: 0, archived: 2 });
  });

  it("resolves at once for a queue nothing was ever enqueued into", async () => {
    const summary = await drainQueue(url, "never-used", () => {});
    expect(summary).toMatchObject({ completed: 0, left: null });
  });

  it("rejects with ERR_DRAIN_TIMEOUT when the queue does not drain in time, and stops its server", async () => {
    await client.enqueue({ type: "slow" });
    const error = await drainQueue(url, "default", () => new Promise((r) => setTimeout(r, 2_000)), {
      timeout: 200,
      server: { shutdownTimeout: 100 },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AsynqError);
    expect((error as AsynqError).code).toBe("ERR_DRAIN_TIMEOUT");
    expect((error as AsynqError).message).toMatch(/"active":1/);
    // Its server is gone: the task went back to pending at its shutdown.
    expect(await inspector.queueSizes("default")).toMatchObject({ pending: 1, active: 0 });
    expect(await inspector.listServers()).toEqual([]);
  });

  it("refuses a blank queue name", async () => {
    await expect(drainQueue(url, " ", () => {})).rejects.toThrow(/invalid queue/);
  });
});
