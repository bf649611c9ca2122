// The doctor behind its port: runDoctor takes any DoctorBroker, so a test wraps the real one
// (openDoctorBroker) to inject faults, with no mock of Redis.
import type { Redis } from "ioredis";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openDoctorBroker } from "../../src/broker/doctor/open.js";
import type { DoctorBroker } from "../../src/broker/doctor/port.js";
import { resolveOptions, runDoctor } from "../../src/doctor/run.js";
import { BrokerError } from "../../src/errors.js";
import * as keys from "../../src/wire/keys.js";
import { freshRedis } from "../support/redis.js";
import { baseline, expectIssues, issuesOf, Q, type Baseline } from "./support.js";

let redis: Redis;
let base: Baseline;

beforeAll(async () => {
  redis = await freshRedis();
});
beforeEach(async () => {
  await redis.flushdb();
  base = await baseline(redis);
});

/** The real broker over the test's connection (left open by close()), with some calls replaced. */
function wrapped(faults: Partial<DoctorBroker>): DoctorBroker {
  return { ...openDoctorBroker(redis), ...faults };
}

describe("runDoctor over a wrapped DoctorBroker", () => {
  it("reports a repair that the broker fails as failed, and finishes the audit", async () => {
    await redis.zadd(keys.leaseKey(Q), 1, base.pending);
    const broker = wrapped({ removeLease: () => Promise.reject(new Error("injected")) });
    const report = await runDoctor(broker, resolveOptions({ fix: true }));
    expectIssues(report, [`stale-lease ${keys.leaseKey(Q)} ${base.pending}`]);
    expect(issuesOf(report)[0]!.repair).toEqual({
      outcome: "failed",
      action: "repair",
      reason: "injected",
    });
    expect(await redis.zscore(keys.leaseKey(Q), base.pending)).toBe("1");
  });

  it("turns a failed read into a BrokerError", async () => {
    const broker = wrapped({ scanKeys: () => Promise.reject(new Error("injected")) });
    const error: unknown = await runDoctor(broker, resolveOptions({})).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).message).toBe("doctor: Redis failed: injected");
  });

  it("reads nothing when the connection check fails", async () => {
    const real = openDoctorBroker(redis);
    let reads = 0;
    const broker: DoctorBroker = {
      ...real,
      connect: () => Promise.reject(new Error("unreachable")),
      setMembers: (key) => {
        reads++;
        return real.setMembers(key);
      },
    };
    await expect(runDoctor(broker, resolveOptions({}))).rejects.toBeInstanceOf(BrokerError);
    expect(reads).toBe(0);
  });
});
