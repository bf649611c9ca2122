// Fencing: an outcome write carries the message as dequeued, and applies only while the stored
// message is still that one, so a late write after a recovery cannot apply twice.
import { describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import { dequeue } from "../../src/broker/fetch/dequeue.js";
import * as lifecycle from "../../src/broker/finish/lifecycle.js";
import { decodeTaskMessage, encodeTaskMessage } from "../../src/wire/proto.js";
import { useRedisFixture } from "../support/fixture.js";
import { testRedisUrl } from "../support/redis.js";

const { redis } = useRedisFixture();

async function activeTask(id: string): Promise<Buffer> {
  const client = new Client(testRedisUrl());
  await client.enqueue({ type: "t", payload: "p" }, { taskId: id });
  await client.close();
  const { tasks } = await dequeue(redis, "default", 1, Date.now() + 30_000);
  expect(tasks.map((t) => t.id)).toEqual([id]);
  return tasks[0]!.msg!;
}

/** What a recovery followed by a new dequeue elsewhere leaves: active again, with another message. */
async function recoveredAndTakenElsewhere(id: string, raw: Buffer): Promise<void> {
  const msg = decodeTaskMessage(raw);
  const retried = encodeTaskMessage({ ...msg, retried: 1, errorMsg: "asynq: task lease expired" });
  await redis.hset(`asynq:{default}:t:${id}`, "msg", Buffer.from(retried));
}

describe("fenced outcome writes", () => {
  it("apply while the stored message is the dequeued one", async () => {
    const raw = await activeTask("f-1");
    expect(await lifecycle.done(redis, "default", "f-1", "", Date.now(), raw)).toBe("ok");
    expect(await redis.exists("asynq:{default}:t:f-1")).toBe(0);
  });

  it.each([
    ["done", (raw: Buffer) => lifecycle.done(redis, "default", "f-2", "", Date.now(), raw)],
    ["requeue", (raw: Buffer) => lifecycle.requeue(redis, "default", "f-2", raw)],
    [
      "retry",
      (raw: Buffer) =>
        lifecycle.retry(redis, "default", "f-2", raw, Date.now() + 60_000, true, Date.now(), raw),
    ],
    [
      "archive",
      (raw: Buffer) =>
        lifecycle.archive(redis, {
          queue: "default",
          id: "f-2",
          msg: decodeTaskMessage(raw),
          nowMs: Date.now(),
          fence: raw,
        }),
    ],
    ["deleteActive", (raw: Buffer) => lifecycle.deleteActive(redis, "default", "f-2", "", Date.now(), raw)],
    [
      "markComplete",
      (raw: Buffer) => lifecycle.markComplete(redis, "default", "f-2", raw, "", Date.now(), 2e9, raw),
    ],
  ])("%s writes nothing once the task was recovered and taken again", async (_name, write) => {
    const raw = await activeTask("f-2");
    await recoveredAndTakenElsewhere("f-2", raw);
    const before = await redis.hgetallBuffer("asynq:{default}:t:f-2");
    expect(await write(raw)).toBe("not-active");
    expect(await redis.lrange("asynq:{default}:active", 0, -1)).toEqual(["f-2"]);
    expect(await redis.hgetallBuffer("asynq:{default}:t:f-2")).toEqual(before);
    expect(await redis.exists("asynq:{default}:processed", "asynq:{default}:retry")).toBe(0);
  });
});
