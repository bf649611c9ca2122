// Client.enqueueAndWait and waitForResult on a real Redis with a real Server: results, failures,
// timeouts, tasks that finished before the wait, and what a closed client does to its waits.
import { describe, expect, it } from "vitest";
import {
  AsynqError,
  SkipRetry,
  TaskFailedError,
  TaskNotFoundError,
  WaitTimeoutError,
  ValidationError,
} from "../../src/errors.js";
import { Inspector } from "../../src/inspector/inspector.js";
import { Client } from "../../src/client/client.js";
import { useRedisFixture } from "../support/fixture.js";
import { deferred, startServer, waitFor } from "../support/server.js";
import * as keys from "../../src/wire/keys.js";

const { url, client, redis } = useRedisFixture({ client: true });

const text = (bytes: Uint8Array | undefined): string | undefined =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString("utf8");

describe("enqueueAndWait", () => {
  it("resolves with the handler's result (small in the stream, large from a retained hash)", async () => {
    await startServer(
      url,
      (task, ctx) => ctx.result.write(task.type === "big" ? "x".repeat(10_000) : { sum: 3 }),
      {
        concurrency: 2,
      },
    );
    const small = await client.enqueueAndWait({ type: "add", payload: [1, 2] }, {}, { timeout: 10_000 });
    expect(JSON.parse(text(small.result)!)).toEqual({ sum: 3 });
    expect(small.queue).toBe("default");
    // Over 4 KiB the stream carries no result: it is read from the task, retained here.
    const big = await client.enqueueAndWait({ type: "big" }, { retention: 60_000 }, { timeout: 10_000 });
    expect(text(big.result)).toBe("x".repeat(10_000));
    // Not retained: the hash is gone with it, so there is no result to give.
    const lost = await client.enqueueAndWait({ type: "big" }, {}, { timeout: 10_000 });
    expect(lost.result).toBeUndefined();
  });

  it("rejects with TaskFailedError when the task is archived, and leaves retries alone", async () => {
    let attempts = 0;
    await startServer(url, (task) => {
      attempts++;
      if (task.type === "skip") throw new SkipRetry("bad input");
      throw new Error("flaky");
    });
    const failed = await client
      .enqueueAndWait({ type: "skip" }, {}, { timeout: 10_000 })
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(TaskFailedError);
    expect(failed).toMatchObject({ code: "ERR_TASK_FAILED", outcome: "archived", lastError: "bad input" });
    // A failure that will be retried is not an outcome: the wait goes on until its timeout.
    const pending = await client
      .enqueueAndWait({ type: "flaky" }, { maxRetry: 5 }, { timeout: 1_500 })
      .catch((e: unknown) => e);
    expect(pending).toBeInstanceOf(WaitTimeoutError);
    expect(attempts).toBe(2);
  });

  it("rejects with WaitTimeoutError when nothing processes the task, which stays queued", async () => {
    const error = await client
      .enqueueAndWait({ type: "t" }, { taskId: "w1" }, { timeout: 200 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect(error).toMatchObject({ taskId: "w1", queue: "default", timeoutMs: 200 });
    const inspector = new Inspector(url);
    try {
      expect((await inspector.getTaskInfo("default", "w1")).state).toBe("pending");
    } finally {
      await inspector.close();
    }
  });

  it("refuses a bad timeout before writing anything", async () => {
    await expect(
      client.enqueueAndWait({ type: "t" }, { taskId: "nope" }, { timeout: -1 }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(client.waitForResult("default", "nope")).rejects.toBeInstanceOf(TaskNotFoundError);
  });
});

describe("waitForResult", () => {
  it("resolves at once for a completed, retained task; rejects for an archived or unknown one", async () => {
    await startServer(url, async (task, ctx) => {
      if (task.type === "bad") throw new SkipRetry("no");
      await ctx.result.write("done");
    });
    await client.enqueueAndWait({ type: "t" }, { taskId: "kept", retention: 60_000 });
    await expect(client.enqueueAndWait({ type: "bad" }, { taskId: "arch" })).rejects.toBeInstanceOf(
      TaskFailedError,
    );
    expect(text((await client.waitForResult("default", "kept")).result)).toBe("done");
    await expect(client.waitForResult("default", "arch")).rejects.toMatchObject({
      outcome: "archived",
      lastError: "no",
    });
    await expect(client.waitForResult("default", "missing")).rejects.toBeInstanceOf(TaskNotFoundError);
    await expect(client.waitForResult("", "x")).rejects.toBeInstanceOf(ValidationError);
  });

  it("waits for a task enqueued earlier, from another client", async () => {
    const hold = deferred();
    await startServer(url, async (_task, ctx) => {
      await hold.promise;
      await ctx.result.write("later");
    });
    await client.enqueue({ type: "t" }, { taskId: "slow" });
    const waiter = new Client(url);
    try {
      const result = waiter.waitForResult("default", "slow", { timeout: 10_000 });
      // Once the wait listens, the outcome is heard however soon it comes (before the wait has even
      // read the task: then the task is gone, and the stream has it).
      await waitFor(async () => (await redis.exists(keys.eventsListeningKey("default"))) === 1, "listening");
      hold.resolve();
      expect(text((await result).result)).toBe("later");
    } finally {
      await waiter.close();
    }
  });

  it("rejects every wait when the client is closed", async () => {
    await client.enqueue({ type: "t" }, { taskId: "never" });
    const waiter = new Client(url);
    const wait = waiter.waitForResult("default", "never");
    await waiter.close();
    const error = await wait.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AsynqError);
    expect(error).toMatchObject({ code: "ERR_CLOSED" });
  });
});
