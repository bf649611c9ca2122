// The recoverer's "task(s) in active without a lease" line (issue 12, item 5) is said only of tasks
// that have none: with a busy server dequeuing and finishing tasks all the while, a recoverer
// listing the active list at the same time sees no lease-less task, and still finds a real one.
import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import * as recover from "../../src/broker/upkeep/recover.js";
import { systemClock } from "../../src/internal/clock.js";
import type { RecoverPort } from "../../src/broker/ports.js";
import * as keys from "../../src/wire/keys.js";
import { encodeTaskMessage, newTaskMessage } from "../../src/wire/proto.js";
import { enqueueMany } from "../support/server-helpers.js";
import { Client } from "../../src/client/client.js";
import { Recoverer } from "../support/components.js";
import { useRedisFixture } from "../support/fixture.js";
import { collectingLogger, startServer, waitFor } from "../support/server.js";

const Q = "default";
const { redis } = useRedisFixture();

/** The recover.ts reads and writes on the test connection, as the Broker runs them. */
function brokerOf(conn: Redis): RecoverPort {
  return {
    listLeaseExpired: (q, cutoff, offset, limit) => recover.listLeaseExpired(conn, q, cutoff, offset, limit),
    listUnleased: (q) => recover.listUnleased(conn, q),
    readMessages: (q, ids) => recover.readMessages(conn, q, ids),
    recoverRetry: (r) => recover.recoverRetry(conn, r),
    recoverArchive: (r) => recover.recoverArchive(conn, r),
    recoverQuarantine: (r) => recover.recoverQuarantine(conn, r.queue, r.id, r.nowMs, r.guard),
  };
}

describe("the recoverer's lease-less line", () => {
  it("is not logged for tasks that a busy server dequeues and finishes while the recoverer reads", async () => {
    // A task that really sits in active without a lease (asynq#1144): the line must still name it.
    const orphan = "orphan-1";
    const msg = newTaskMessage({ type: "t", id: orphan, queue: Q, retry: 25, timeout: 1800n });
    await redis.hset(keys.taskKey(Q, orphan), { msg: Buffer.from(encodeTaskMessage(msg)), state: "active" });
    await redis.lpush(keys.activeKey(Q), orphan);

    const client = new Client(redis);
    await enqueueMany(client, 4000);
    await client.close();
    const { logs: serverLogs } = await startServer(
      redis,
      async () => {
        await new Promise((resolve) => setImmediate(resolve));
      },
      { concurrency: 50, logLevel: "info" },
    );
    const { logger, lines } = collectingLogger();
    // A long grace: this recoverer only reports what it sees, it recovers nothing.
    const recoverer = new Recoverer({
      broker: brokerOf(redis),
      clock: systemClock,
      logger,
      queues: [Q],
      retryDelay: () => 60_000,
      isFailure: () => true,
      grace: 3_600_000,
    });

    let runs = 0;
    let busyRuns = 0;
    while ((await redis.llen(keys.pendingKey(Q))) > 0) {
      // Runs while the active list churns (the orphan is always there, so > 1 means work in flight).
      if ((await redis.llen(keys.activeKey(Q))) > 1) busyRuns++;
      await recoverer.runOnce();
      runs++;
    }
    await recoverer.shutdown();
    await waitFor(async () => (await redis.llen(keys.activeKey(Q))) === 1, "the server to finish its tasks");

    const leaseLess = [...lines, ...serverLogs].filter((l) => l.message.includes("without a lease"));
    expect(busyRuns, `${runs} runs`).toBeGreaterThan(10);
    // One line per recoverer (ours and the server's own, which runs at start), each about the orphan alone.
    expect(leaseLess.map((l) => [l.fields.count, l.fields.taskId])).toEqual(
      serverLogs.some((l) => l.message.includes("without a lease"))
        ? [
            [1, orphan],
            [1, orphan],
          ]
        : [[1, orphan]],
    );
  }, 30_000);
});
