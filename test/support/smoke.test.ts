import { describe, expect, it } from "vitest";
import { freshRedis, testDb } from "./redis.js";

describe("test Redis", () => {
  it("selects the worker's own DB and starts empty", async () => {
    const redis = await freshRedis();
    expect(await redis.dbsize()).toBe(0);
    await redis.set("smoke", "1");
    const info = await redis.client("INFO");
    expect(String(info)).toContain(`db=${testDb()}`);
  });
});
