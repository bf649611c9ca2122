// What only Sentinel can show (run by `npm run test:conformance -- sentinel`): a Client and a Server that
// find the master through the sentinels, and a failover under load. The failover test starts a Sentinel
// set of its own (ports 7140-7147), so that killing its master does not disturb the flavour's other files.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import { Inspector } from "../../src/inspector/inspector.js";
import { useRedisFixture } from "../support/fixture.js";
import { waitFor } from "../support/server-helpers.js";
import { startServer } from "../support/server.js";
import { startSentinel, type SentinelTopology } from "../support/topologies/sentinel.js";

describe("through the flavour's sentinels", () => {
  const { url, db } = useRedisFixture();

  it("enqueues, processes and inspects on the master the sentinels name", async () => {
    expect(url).toContain("sentinel=");
    await using client = new Client(url);
    await using inspector = new Inspector(url);
    const done = new Set<string>();
    await startServer(url, (_task, ctx) => void done.add(ctx.id));
    const ids = new Set<string>();
    for (let i = 0; i < 10; i++) ids.add((await client.enqueue({ type: "t", payload: i })).id);
    await waitFor(() => done.size === ids.size, { message: "every task processed" });
    expect([...done].sort()).toEqual([...ids].sort());
    expect((await inspector.getQueueInfo("default")).processed).toBe(10);
    expect(db).toBeGreaterThanOrEqual(8);
  });
});

describe("a failover under load", () => {
  let topology: SentinelTopology;
  beforeAll(async () => {
    topology = await startSentinel(7140, 7141, [7145, 7146, 7147]);
  }, 60_000);
  afterAll(async () => {
    await topology?.stop();
  });

  it("loses no acknowledged task when the master is SIGKILLed while producing and consuming", async () => {
    const url = topology.url;
    await using client = new Client(url);
    const processed = new Set<string>();
    await startServer(url, (_task, ctx) => void processed.add(ctx.id), { concurrency: 4 });
    const acknowledged = new Set<string>();
    let refused = 0;
    let producing = true;
    const producer = (async () => {
      for (let i = 0; producing; i++) {
        try {
          acknowledged.add((await client.enqueue({ type: "load", payload: i })).id);
        } catch {
          refused++; // not acknowledged: the producer would retry it; it is not counted as lost
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    await waitFor(() => processed.size >= 50, {
      message: "50 tasks processed before the kill",
      timeout: 20_000,
    });
    const oldMaster = topology.currentMasterPort();
    const killedAt = Date.now();
    await topology.master.stop("SIGKILL");
    await waitFor(
      () => {
        const port = topology.currentMasterPort();
        return port !== undefined && port !== oldMaster;
      },
      { message: "the sentinels to promote the replica", timeout: 30_000, interval: 200 },
    );
    // Produce on the new master for a while, then let the workers drain the queue.
    const promotedMs = Date.now() - killedAt;
    const before = acknowledged.size;
    await waitFor(() => acknowledged.size > before, {
      message: "an enqueue on the new master",
      timeout: 30_000,
    });
    const producingMs = Date.now() - killedAt;
    await waitFor(() => acknowledged.size >= before + 50, {
      message: "50 enqueues on the new master",
      timeout: 30_000,
    });
    producing = false;
    await producer;
    await waitFor(() => [...acknowledged].every((id) => processed.has(id)), {
      message: "every acknowledged task processed",
      timeout: 60_000,
      interval: 100,
    });
    const lost = [...acknowledged].filter((id) => !processed.has(id));
    expect(lost).toEqual([]);
    expect(topology.currentMasterPort()).toBe(7141);
    console.log(
      `[failover] replica promoted ${promotedMs} ms after the kill, enqueues acknowledged again after ` +
        `${producingMs} ms; ${acknowledged.size} tasks acknowledged, ${processed.size} processed, ` +
        `${refused} enqueues refused, 0 lost`,
    );
  }, 120_000);
});
