// doctor and aggregation sets: a set more than a minute past its deadline (no live recoverer
// reclaimed it) is reported, and `fix` reclaims it as the recoverer would; a set within its deadline,
// or finished (its task written), is not reported.
import { describe, expect, it } from "vitest";
import { doctor } from "../../src/doctor/index.js";
import * as keys from "../../src/wire/keys.js";
import { useRedisFixture } from "../support/fixture.js";

const Q = "default";
const { redis, client } = useRedisFixture({ client: true });

/** Two tasks of group g moved into a set registered with this deadline (unix s), as a check does. */
async function openSet(deadlineSeconds: number): Promise<string> {
  await client.enqueue({ type: "t", payload: 1 }, { group: "g", taskId: "a" });
  await client.enqueue({ type: "t", payload: 2 }, { group: "g", taskId: "b" });
  const setKey = keys.aggregationSetKey(Q, "g", "2b7c6a0e-8d7f-4a55-9a0c-1f2e3d4c5b6a");
  await redis.zrangestore(setKey, keys.groupKey(Q, "g"), 0, -1);
  await redis.del(keys.groupKey(Q, "g"));
  await redis.srem(keys.allGroupsKey(Q), "g");
  await redis.zadd(keys.allAggregationSetsKey(Q), deadlineSeconds, setKey);
  return setKey;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

describe("doctor and aggregation sets", () => {
  it("reports a set long past its deadline, and fix puts its tasks back into their group", async () => {
    const setKey = await openSet(nowSeconds() - 120);
    const report = await doctor(redis);
    const issues = report.queues.flatMap((q) => q.issues);
    expect(issues.map((i) => `${i.kind} ${i.key}`)).toEqual([`stale-aggregation-set ${setKey}`]);
    const fixed = await doctor(redis, { fix: true });
    expect(fixed.queues.flatMap((q) => q.issues)[0]!.repair).toMatchObject({ outcome: "repaired" });
    expect(await redis.zrange(keys.groupKey(Q, "g"), 0, -1)).toEqual(["a", "b"]);
    expect(await redis.smembers(keys.allGroupsKey(Q))).toEqual(["g"]);
    expect(await redis.exists(setKey, keys.allAggregationSetsKey(Q))).toBe(0);
    expect((await doctor(redis)).clean).toBe(true);
  });

  it("leaves a set within its deadline (plus a minute) and a finished set alone", async () => {
    await openSet(nowSeconds() - 30);
    expect((await doctor(redis)).clean).toBe(true);
    await redis.zadd(
      keys.allAggregationSetsKey(Q),
      "+inf",
      (await redis.zrange(keys.allAggregationSetsKey(Q), 0, 0))[0]!,
    );
    expect((await doctor(redis)).clean).toBe(true);
  });
});
