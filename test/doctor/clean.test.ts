// Doctor on healthy data: after and during real processing, on long lists read in partitions, per queue, as text.
import type { Redis } from "ioredis";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import { formatReport } from "../../src/doctor/index.js";
import { ValidationError, RevokeTask, SkipRetry } from "../../src/errors.js";
import type { HandlerTask } from "../../src/server/mux.js";
import * as keys from "../../src/wire/keys.js";
import { encodeTaskMessage, newTaskMessage } from "../../src/wire/proto.js";
import { freshRedis } from "../support/redis.js";
import { enqueueMany, rawPending } from "../support/server-helpers.js";
import { startServer, waitFor } from "../support/server.js";
import { audit, expectIssues, HOUR, issuesOf, Q } from "./support.js";

let redis: Redis;
let client: Client;

beforeAll(async () => {
  redis = await freshRedis();
  client = new Client(redis);
});
beforeEach(async () => {
  await redis.flushdb();
});

/** Success, success kept as completed, failure to retry, SkipRetry to the archive, RevokeTask. */
function outcomes(task: HandlerTask): void {
  if (task.type === "fail") throw new Error("smtp down");
  if (task.type === "skip") throw new SkipRetry("bad input");
  if (task.type === "revoke") throw new RevokeTask();
}

async function settled(): Promise<boolean> {
  const [pending, active] = await Promise.all([
    redis.llen(keys.pendingKey(Q)),
    redis.llen(keys.activeKey(Q)),
  ]);
  return pending + active === 0;
}

describe("after a real Server processed tasks", () => {
  it("audits clean while it runs and after it stopped, with every outcome's keys", async () => {
    for (let i = 0; i < 5; i++) {
      await client.enqueue({ type: "ok", payload: { i } }, { unique: HOUR });
      await client.enqueue({ type: "keep", payload: { i } }, { retention: HOUR });
      await client.enqueue({ type: "fail", payload: { i } }, { unique: HOUR });
      await client.enqueue({ type: "skip", payload: { i } }, { unique: HOUR });
      await client.enqueue({ type: "revoke", payload: { i } });
    }
    await client.enqueue({ type: "later", payload: 1 }, { processIn: HOUR, unique: 2 * HOUR });
    await client.enqueue({ type: "grouped", payload: 1 }, { group: "batch" });
    await rawPending(redis, Q, { type: "ok" });
    const { server } = await startServer(redis, outcomes, { concurrency: 4, retryDelay: () => HOUR });
    await waitFor(settled, "pending and active to drain");

    const running = await audit(redis);
    expectIssues(running, []);
    const q = running.queues.find((r) => r.queue === Q)!;
    expect(q.tasks).toMatchObject({ completed: 5, retry: 5, archived: 5, scheduled: 1, aggregating: 1 });
    expect(q.containers).toMatchObject({ completed: 5, retry: 5, archived: 5, scheduled: 1, aggregating: 1 });

    await server.shutdown();
    expectIssues(await audit(redis, { fix: true }), []);
  });
});

describe("long lists", () => {
  it("reads pending in partitions and chunks, and finds the one orphan among thousands", async () => {
    // Over 10,000 members: misses are confirmed by a pass over the list instead of LPOS.
    const ids = await enqueueMany(client, 12_000, { queue: Q, type: "bulk" });
    expectIssues(await audit(redis, { batch: 500, indexLimit: 5000 }), []);
    const victim = ids[6789]!;
    await redis.lrem(keys.pendingKey(Q), 0, victim);
    const expected = [`orphaned-task ${keys.taskKey(Q, victim)} ${victim}`];
    expectIssues(await audit(redis, { batch: 500, indexLimit: 5000 }), expected);
    expectIssues(await audit(redis, { batch: 50 }), expected);
    const fixed = await audit(redis, { batch: 500, indexLimit: 5000, fix: true });
    expect(issuesOf(fixed).map((i) => i.repair?.outcome)).toEqual(["repaired"]);
    expectIssues(await audit(redis, { batch: 500, indexLimit: 5000 }), []);
  });

  it("removes dangling IDs spread through a long list read in small chunks, missing none", async () => {
    await enqueueMany(client, 500, { queue: Q, type: "bulk" });
    const ghosts = Array.from({ length: 40 }, (_, i) => `ghost-${i}`);
    for (const [i, ghost] of ghosts.entries()) {
      await redis.linsert(
        keys.pendingKey(Q),
        "BEFORE",
        (await redis.lindex(keys.pendingKey(Q), i * 12))!,
        ghost,
      );
    }
    const fixed = await audit(redis, { batch: 10, fix: true });
    expect(issuesOf(fixed).filter((i) => i.repair?.outcome === "repaired")).toHaveLength(40);
    expectIssues(await audit(redis), []);
    expect(await redis.llen(keys.pendingKey(Q))).toBe(500);
  });
});

describe("while tasks flow", () => {
  it("reports no false damage while a Server processes and a Client enqueues", async () => {
    // A backlog over 10,000: pending misses go through the confirming pass, not LPOS.
    await enqueueMany(client, 12_000, { queue: Q, type: "ok" });
    await startServer(redis, (task) => outcomes(task), { concurrency: 20, pollInterval: 10 });
    let producing = true;
    const producer = (async () => {
      for (let i = 0; producing; i++) {
        await client.enqueue(
          { type: i % 10 === 0 ? "keep" : "ok", payload: { i } },
          i % 10 === 0 ? { retention: HOUR } : {},
        );
      }
    })();
    const reports = [];
    for (let round = 0; round < 4; round++) reports.push(await audit(redis, { batch: 200 }));
    producing = false;
    await producer;
    for (const report of reports) expectIssues(report, []);
    // The audits did overlap the processing: the backlog shrank between them.
    const backlog = reports.map((r) => r.queues.find((q) => q.queue === Q)!.containers.pending);
    expect(backlog[0]).toBeGreaterThan(0);
    expect(backlog.at(-1)).toBeLessThan(backlog[0]!);
  });
});

describe("scope, options and text", () => {
  it("audits only the queues asked for, without the global checks", async () => {
    await client.enqueue({ type: "a", payload: 1 }, { queue: "other" });
    await redis.lpush(keys.pendingKey("other"), "ghost");
    await redis.lpush(keys.pendingKey(Q), "ghost");
    await redis.set("asynq:mystery", "v");
    const report = await audit(redis, { queues: ["other"] });
    expect(report.queues.map((q) => q.queue)).toEqual(["other"]);
    expectIssues(report, [`dangling-id ${keys.pendingKey("other")} ghost`]);
  });

  it("lists at most `limit` issues per kind and counts them all", async () => {
    for (let i = 0; i < 5; i++) await redis.lpush(keys.pendingKey(Q), `ghost-${i}`);
    const report = await audit(redis, { limit: 2 });
    const q = report.queues[0]!;
    expect(q.issues).toHaveLength(2);
    expect(q.counts.byKind["dangling-id"]).toBe(5);
    expect(report.truncated).toBe(true);
  });

  it("does not report a Go AddToGroupUnique task, whose lock is named only in its msg", async () => {
    const lock = `${keys.queuePrefix(Q)}unique:agg:0123456789abcdef0123456789abcdef`;
    const msg = newTaskMessage({ type: "agg", id: "go-agg", queue: Q, uniqueKey: lock, groupKey: "g" });
    await redis.sadd(keys.ALL_QUEUES, Q);
    await redis.hset(keys.taskKey(Q, "go-agg"), {
      msg: Buffer.from(encodeTaskMessage(msg)),
      state: "aggregating",
      group: "g",
    });
    await redis.zadd(keys.groupKey(Q, "g"), 1, "go-agg");
    await redis.sadd(keys.allGroupsKey(Q), "g");
    await redis.set(lock, "go-agg", "EX", 60);
    expectIssues(await audit(redis), []);
  });

  it("renders a report as text", async () => {
    await client.enqueue({ type: "a", payload: 1 });
    await redis.lpush(keys.pendingKey(Q), "ghost");
    const text = formatReport(await audit(redis, { fix: true }));
    expect(text).toContain('queue "default"');
    expect(text).toContain("tasks by state: pending 1");
    expect(text).toContain(
      `dangling-id  ${keys.pendingKey(Q)}  id=ghost: in ${keys.pendingKey(Q)} with no task hash`,
    );
    expect(text).toContain(`-> repaired: remove ghost from ${keys.pendingKey(Q)}`);
    expect(text).toContain("result: damage found");
  });

  it("rejects invalid options", async () => {
    await expect(audit(redis, { batch: 5 })).rejects.toBeInstanceOf(ValidationError);
    await expect(audit(redis, { queues: [" "] })).rejects.toBeInstanceOf(ValidationError);
  });
});
