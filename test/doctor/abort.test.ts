// doctor()'s AbortSignal: an aborted audit rejects with the signal's reason and issues no command after
// the abort, on a connection it opened (closed at once) as on one it was given (left open).
import { describe, expect, it } from "vitest";
import { doctor } from "../../src/doctor/index.js";
import { ValidationError } from "../../src/errors.js";
import * as keys from "../../src/wire/keys.js";
import { useRedisFixture } from "../support/fixture.js";
import { newTestRedis } from "../support/redis.js";

const { redis, url } = useRedisFixture();

/** 2,000 task hashes: an audit in SCAN steps of 10 runs long enough to be aborted midway. */
async function seed(): Promise<void> {
  const pipeline = redis.pipeline();
  for (let i = 0; i < 2000; i++) pipeline.hset(keys.taskKey("big", `t${i}`), "state", "pending");
  await pipeline.exec();
}

describe("doctor() with an AbortSignal", () => {
  it("rejects with the reason of a signal aborted before it starts, reading nothing", async () => {
    const reason = new Error("not now");
    await expect(doctor(url, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  it("stops midway on a connection it opened, rejecting with the reason", async () => {
    await seed();
    const controller = new AbortController();
    const audit = doctor(url, { signal: controller.signal, batch: 10 });
    setImmediate(() => controller.abort());
    await expect(audit).rejects.toMatchObject({ name: "AbortError" });
  });

  it("stops midway on a connection it was given, which stays open and usable", async () => {
    await seed();
    const own = newTestRedis();
    await own.connect();
    try {
      const controller = new AbortController();
      const reason = new Error("closing");
      const audit = doctor(own, { signal: controller.signal, batch: 10 });
      setImmediate(() => controller.abort(reason));
      await expect(audit).rejects.toBe(reason);
      expect(own.status).toBe("ready");
      expect(await own.ping()).toBe("PONG");
      // And it serves a whole audit afterwards.
      const full = await doctor(own, { batch: 10 });
      expect(full.scannedKeys).toBeGreaterThanOrEqual(2000);
    } finally {
      own.disconnect();
    }
  });

  it("refuses a signal that is not an AbortSignal", async () => {
    await expect(doctor(url, { signal: {} as AbortSignal })).rejects.toBeInstanceOf(ValidationError);
  });
});
