// A resharding under load (run by `npm run test:conformance -- cluster`): a queue's slot is moved to
// another master while Clients enqueue into the queue and a Server processes it, slowly enough
// (topologies/reshard.ts) that the load meets the half-moved slot: ASK for keys already moved, TRYAGAIN
// for the queue's scripts while their keys are split between the masters or not all there yet, and
// MOVED once it is done. A queue's scripts name keys that may not exist (a new task's hash, the paused
// flag), and Redis serves a multi-key command during a migration only when all its keys are on one
// side, so the queue's scripts are turned away for most of the move: enqueues wait (a Cluster that
// asynq-ts opens retries TRYAGAIN for about 6 s) and may fail past that (the caller is told; it would
// try again), and the Server must wait it out by itself. What must hold is
// that every acknowledged task runs, none that succeeded runs again, and both sides carry on, without
// a restart, on the new master.
import { afterAll, describe, expect, inject, it } from "vitest";
import { Client } from "../../src/client/client.js";
import { parseConnectionUrl } from "../../src/broker/connection/url.js";
import { Inspector } from "../../src/inspector/inspector.js";
import type { Handler } from "../../src/server/mux.js";
import * as keys from "../../src/wire/keys.js";
import { useRedisFixture } from "../support/fixture.js";
import { waitFor } from "../support/server-helpers.js";
import { startServer } from "../support/server.js";
import type { LogLine } from "../support/server-helpers.js";
import { SlotMover, type ClusterMaster } from "../support/topologies/reshard.js";

const { url } = useRedisFixture();

/** The queue under load; its keys all hash to the slot of `{reshard}`. */
const QUEUE = "reshard";

/** A mover on the cluster of the admin URL (the fixture's), with its node options. */
function slotMover(): SlotMover {
  const admin = inject("adminUrl") ?? inject("redisUrl");
  const parsed = parseConnectionUrl(new URL(admin), admin, "test");
  if (parsed.kind !== "cluster") throw new Error(`not a cluster URL: ${admin}`);
  const [seed] = parsed.nodes as Array<{ host: string; port: number }>;
  return new SlotMover(`${seed!.host}:${seed!.port}`, parsed.nodeOptions);
}

/** The sum of some INFO errorstats counters (ASK, TRYAGAIN, MOVED) over some masters. */
async function errorCount(mover: SlotMover, masters: readonly ClusterMaster[], kinds: readonly string[]) {
  let total = 0;
  for (const master of masters) {
    const stats = await mover.errorStats(master.addr);
    for (const kind of kinds) total += stats[kind] ?? 0;
  }
  return total;
}

/**
 * Two producers that enqueue into QUEUE until stopped, counting only acknowledged enqueues. The
 * first one's tasks are kept as completed (their success is written by a script of its own, and they
 * add keys to the slot); the second one's are deleted on success (written by the next dequeue), and
 * one in ten is scheduled a second ahead, one in ten fails its first run (type "flaky"), so the
 * forwarder and the retry path work across the move too.
 */
function produce(clients: readonly [Client, Client]) {
  const acknowledged = new Set<string>();
  const refusals: string[] = [];
  let running = true;
  const options = (n: number, i: number) =>
    n === 0
      ? { queue: QUEUE, retention: 600_000 }
      : { queue: QUEUE, ...(i % 10 === 0 ? { processIn: 1000 } : {}) };
  const loops = clients.map(async (client, n) => {
    for (let i = 0; running; i++) {
      const type = n === 1 && i % 10 === 5 ? "flaky" : "load";
      try {
        acknowledged.add((await client.enqueue({ type, payload: { n, i } }, options(n, i))).id);
      } catch (error) {
        refusals.push(error instanceof Error ? error.message : String(error)); // not acknowledged: not lost
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  });
  const stop = async (): Promise<void> => {
    running = false;
    await Promise.all(loops);
  };
  return { acknowledged, refusals, stop };
}

/**
 * A handler that takes 20 ms (slower than the producers, so that a backlog builds up and tasks wait
 * in the slot while it moves), fails the first run of "flaky" tasks, and counts each task's runs.
 */
function countingHandler(): { handler: Handler; succeeded: Map<string, number>; failed: Set<string> } {
  const succeeded = new Map<string, number>();
  const failed = new Set<string>();
  const handler: Handler = async (task, ctx) => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (task.type === "flaky" && ctx.retryCount === 0) {
      failed.add(ctx.id);
      throw new Error("first run fails");
    }
    succeeded.set(ctx.id, (succeeded.get(ctx.id) ?? 0) + 1);
  };
  return { handler, succeeded, failed };
}

/** What a key of QUEUE is: `t` for a task hash, else its name (`pending`, `lease`, `processed`…). */
function keyKind(key: string): string {
  return key.slice(`asynq:{${QUEUE}}:`.length).split(":")[0]!;
}

/** The server's warnings and errors, one line per kind (task IDs left out) with its count. */
function logSummary(logs: readonly LogLine[]): string {
  const seen = new Map<string, number>();
  for (const line of logs.filter((l) => l.level === "warn" || l.level === "error")) {
    const kind = `${line.level}: ${line.message.replace(/"[^"]*"/g, "…").slice(0, 100)}`;
    seen.set(kind, (seen.get(kind) ?? 0) + 1);
  }
  return [...seen].map(([kind, n]) => `${n}× ${kind}`).join("; ") || "no warnings";
}

describe("a resharding under load", () => {
  const mover = slotMover();
  afterAll(() => mover.close());

  it("moves a queue's slot to another master while it is produced into and processed, losing nothing", async () => {
    const slot = await mover.keySlot(keys.pendingKey(QUEUE));
    const { masters, owner: from } = await mover.masters(slot);
    const to = masters.find((m) => m.id !== from.id)!;
    await using inspector = new Inspector(url);
    await using first = new Client(url);
    await using second = new Client(url);
    const { handler, succeeded, failed } = countingHandler();
    const { logs } = await startServer(url, handler, {
      concurrency: 4,
      queues: { [QUEUE]: 1 },
      retryDelay: () => 100,
    });
    const load = produce([first, second]);
    let moved = false;
    try {
      await waitFor(() => succeeded.size >= 200, {
        message: "200 tasks processed before the move",
        timeout: 20_000,
      });
      const turnedAwayBefore = await errorCount(mover, [from, to], ["ASK", "TRYAGAIN"]);
      const movedBefore = await errorCount(mover, [from], ["MOVED"]);
      const sentBefore = load.acknowledged.size;
      // After each batch: did acknowledged tasks still wait to run (the move overlapped the work)?
      // And which kinds of keys went over (task hashes, pending, active, lease, counters…)?
      let batchesWithWork = 0;
      const kinds = new Set<string>();
      const waiting = (): boolean => [...load.acknowledged].some((id) => !succeeded.has(id));
      const report = await mover.move(slot, to, {
        batchSize: 10,
        pauseMs: 100,
        onBatch: (batch) => {
          if (waiting()) batchesWithWork++;
          for (const key of batch) kinds.add(keyKind(key));
        },
      });
      moved = true;
      const turnedAway = (await errorCount(mover, [from, to], ["ASK", "TRYAGAIN"])) - turnedAwayBefore;

      // The queue's keys are all on the new master, and both sides carry on there by themselves.
      expect(await mover.countKeys(from.addr, slot)).toBe(0);
      expect(await mover.countKeys(to.addr, slot)).toBeGreaterThan(0);
      const sentDuring = load.acknowledged.size - sentBefore;
      await waitFor(() => load.acknowledged.size >= sentBefore + sentDuring + 100, {
        message: "100 enqueues acknowledged on the new master",
        timeout: 20_000,
      });
      await load.stop();
      await waitFor(() => [...load.acknowledged].every((id) => succeeded.has(id)), {
        message: "every acknowledged task processed",
        timeout: 30_000,
        interval: 100,
      });
      await waitFor(
        async () => {
          const info = await inspector.getQueueInfo(QUEUE);
          return info.pending + info.active + info.scheduled + info.retry === 0;
        },
        { message: "the queue to drain", timeout: 10_000, interval: 100 },
      );

      const lost = [...load.acknowledged].filter((id) => !succeeded.has(id));
      const twice = [...succeeded].filter(([, runs]) => runs > 1).map(([id]) => id);
      // A refused enqueue created nothing (Redis ran none of the scripts it turned away): the caller
      // may enqueue again without a duplicate.
      const unacknowledged = [...succeeded.keys()].filter((id) => !load.acknowledged.has(id));
      expect(lost).toEqual([]);
      expect(twice).toEqual([]);
      expect(unacknowledged).toEqual([]);
      // Each run was counted once in Redis, failed runs included, and each failure once.
      const info = await inspector.getQueueInfo(QUEUE);
      expect(info.processedTotal).toBe(succeeded.size + failed.size);
      expect(info.failedTotal).toBe(failed.size);
      expect(failed.size).toBeGreaterThan(0);
      expect(await mover.countKeys(from.addr, slot)).toBe(0);
      // The move overlapped the load: batches of every kind of key the queue keeps went over while
      // acknowledged tasks waited to run, the masters turned the load's commands away meanwhile (ASK,
      // TRYAGAIN), and the old master sent the clients on to the new one afterwards (MOVED).
      expect(report.batches).toBeGreaterThan(1);
      expect([...kinds].sort()).toEqual(
        expect.arrayContaining(["active", "completed", "lease", "pending", "processed", "t"]),
      );
      expect(batchesWithWork).toBeGreaterThan(0);
      expect(turnedAway).toBeGreaterThan(0);
      const movedAfter = (await errorCount(mover, [from], ["MOVED"])) - movedBefore;
      expect(movedAfter).toBeGreaterThan(0);
      const refusals = [...new Set(load.refusals.map((r) => r.slice(0, 70)))].join(" | ");
      console.log(
        `[reshard] slot ${slot} ${from.addr} -> ${to.addr}: ${report.keys} keys in ${report.batches} ` +
          `batches (${batchesWithWork} with tasks waiting to run; ${[...kinds].sort().join(", ")}), open ${report.openMs} ms; ` +
          `${turnedAway} ASK/TRYAGAIN and ${movedAfter} MOVED answered; enqueues acknowledged ` +
          `${sentBefore} before, ${sentDuring} during, ${load.acknowledged.size - sentBefore - sentDuring} after, ` +
          `${load.refusals.length} refused (${refusals || "-"}); ${succeeded.size} succeeded ` +
          `(${failed.size} after a failed first run), 0 lost, 0 twice; server: ${logSummary(logs)}`,
      );
    } finally {
      await load.stop();
      // Leave the slot where it was, for the flavour's other files.
      if (moved) await mover.move(slot, from, { batchSize: 1000, pauseMs: 0 });
      else await mover.settle(slot, from);
    }
  }, 90_000);
});
