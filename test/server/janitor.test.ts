// The Janitor on a real Redis: expired completed tasks deleted with their hashes in batches (spec
// §4.17), archives trimmed to their size and age limits, outages logged once and survived.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { describe, expect, it, onTestFinished } from "vitest";
import { deleteExpiredCompleted } from "../../src/broker/upkeep/janitor.js";
import { trimArchive } from "../../src/broker/finish/lifecycle.js";
import { LuaScript } from "../../src/broker/scripts.js";
import { unixSeconds } from "../../src/internal/clock.js";
import type { JanitorPort } from "../../src/broker/ports.js";
import type { JanitorParams } from "../../src/server/janitor.js";
import * as keys from "../../src/wire/keys.js";
import { encodeTaskMessage, newTaskMessage } from "../../src/wire/proto.js";
import { Janitor } from "../support/components.js";
import { useRedisFixture } from "../support/fixture.js";
import { testDb } from "../support/redis.js";
import { countCommands, sleep } from "../support/server-helpers.js";
import { collectingLogger, deferred, waitFor, type LogLine } from "../support/server.js";

const Q = "default";
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0) + 250.5;
const NOW_S = unixSeconds(NOW);
const DAY_MS = 24 * 60 * 60 * 1000;

const { redis, clock } = useRedisFixture({ clock: NOW });

/** The real broker functions behind the janitor's interface, on connection `conn`. */
const brokerOn = (conn: () => Redis): JanitorPort => ({
  deleteExpiredCompleted: (queue, nowMs, batch) => deleteExpiredCompleted(conn(), queue, nowMs, batch),
  trimArchive: (r) => trimArchive(conn(), r.queue, r.nowMs, r.maxSize, r.maxAgeMs),
});

/** A janitor on the manual clock with a collecting logger, shut down after the test. */
function janitor(params: Partial<JanitorParams> = {}): { janitor: Janitor; logs: LogLine[] } {
  const { logger, lines } = collectingLogger();
  const j = new Janitor({ broker: brokerOn(() => redis), clock, logger, queues: [Q], ...params });
  onTestFinished(() => j.shutdown());
  return { janitor: j, logs: lines };
}

/** Writes tasks into the `completed` or `archived` zset with the given scores; returns their IDs. */
async function seed(
  state: "completed" | "archived",
  scores: readonly number[],
  queue = Q,
): Promise<string[]> {
  const pipeline = redis.pipeline();
  const ids = scores.map((score) => {
    const id = randomUUID();
    const msg = encodeTaskMessage(newTaskMessage({ type: "t", id, queue, retry: 25, timeout: 1800n }));
    pipeline.hset(keys.taskKey(queue, id), { msg: Buffer.from(msg), state });
    pipeline.zadd(keys.stateKey(queue, state), score, id);
    return id;
  });
  await pipeline.exec();
  return ids;
}

/** IDs of `queue`'s tasks that still have a hash, sorted. */
async function hashedIds(queue = Q): Promise<string[]> {
  const prefix = keys.taskKeyPrefix(queue);
  return (await redis.keys(`${prefix}*`)).map((k) => k.slice(prefix.length)).sort();
}

const sorted = (ids: readonly string[]): string[] => [...ids].sort();

describe("expired completed tasks", () => {
  it("deletes only the completed tasks whose retention ran out (score <= now), with their hashes", async () => {
    const expired = await seed("completed", [NOW_S - 3600, NOW_S]);
    const kept = await seed("completed", [NOW_S + 1, NOW_S + 3600]);
    const archived = await seed("archived", [NOW_S - 10]);
    const { janitor: j } = janitor();

    expect(await j.runOnce()).toEqual({ completed: 2, archived: 0 });

    expect(sorted(await redis.zrange(keys.completedKey(Q), 0, -1))).toEqual(sorted(kept));
    expect(await hashedIds()).toEqual(sorted([...kept, ...archived]));
    for (const id of expired) expect(await redis.exists(keys.taskKey(Q, id))).toBe(0);

    clock.advance(1000);
    expect(await j.runOnce()).toEqual({ completed: 1, archived: 0 });
    expect(await redis.zrange(keys.completedKey(Q), 0, -1)).toEqual([kept[1]]);
  });

  it("deletes 250 expired tasks in script calls of at most 100", async () => {
    await seed(
      "completed",
      Array.from({ length: 250 }, (_, i) => NOW_S - 1000 + i),
    );
    const { janitor: j } = janitor();
    await redis.script("LOAD", LuaScript.fromFile("upkeep/delete_expired_completed").source);
    const monitor = await countCommands(redis, testDb());

    expect(await j.runOnce()).toEqual({ completed: 250, archived: 0 });
    await redis.echo("monitor marker");
    await waitFor(() => monitor.counts.has("echo"), "the MONITOR feed to catch up");
    monitor.stop();

    // A SCRIPT FLUSH by another test file turns an EVALSHA into EVALSHA (NOSCRIPT) + EVAL.
    expect((monitor.counts.get("evalsha") ?? 0) - (monitor.counts.get("eval") ?? 0)).toBe(3);
    expect(await redis.exists(keys.completedKey(Q))).toBe(0);
    expect(await hashedIds()).toEqual([]);
  });

  it("uses the configured batch size", async () => {
    await seed(
      "completed",
      Array.from({ length: 25 }, (_, i) => NOW_S - i),
    );
    const { janitor: j } = janitor({ batchSize: 10 });
    await redis.script("LOAD", LuaScript.fromFile("upkeep/delete_expired_completed").source);
    const monitor = await countCommands(redis, testDb());

    expect(await j.runOnce()).toEqual({ completed: 25, archived: 0 });
    await redis.echo("monitor marker");
    await waitFor(() => monitor.counts.has("echo"), "the MONITOR feed to catch up");
    monitor.stop();

    // A SCRIPT FLUSH by another test file turns an EVALSHA into EVALSHA (NOSCRIPT) + EVAL.
    expect((monitor.counts.get("evalsha") ?? 0) - (monitor.counts.get("eval") ?? 0)).toBe(3);
  });

  it("cleans every listed queue, and only those", async () => {
    await seed("completed", [NOW_S - 1], "a");
    await seed("completed", [NOW_S - 1], "b");
    const [other] = await seed("completed", [NOW_S - 1], "c");
    const { janitor: j } = janitor({ queues: ["a", "b"] });

    expect(await j.runOnce()).toEqual({ completed: 2, archived: 0 });

    expect(await hashedIds("a")).toEqual([]);
    expect(await hashedIds("b")).toEqual([]);
    expect(await hashedIds("c")).toEqual([other]);
  });
});

describe("archive limits", () => {
  it("trims an archive beyond archiveMaxSize to exactly that size, oldest first, deleting the trimmed hashes", async () => {
    const ids = await seed(
      "archived",
      Array.from({ length: 15 }, (_, i) => NOW_S - 15 + i),
    );
    const { janitor: j } = janitor({ archiveMaxSize: 10 });

    expect(await j.runOnce()).toEqual({ completed: 0, archived: 5 });

    expect(await redis.zrange(keys.archivedKey(Q), 0, -1)).toEqual(ids.slice(5));
    expect(await hashedIds()).toEqual(sorted(ids.slice(5)));
  });

  it("deletes archived tasks older than archiveMaxAge", async () => {
    const maxAge = 7 * DAY_MS;
    const cutoff = unixSeconds(NOW - maxAge);
    const old = await seed("archived", [cutoff - 86_400, cutoff]);
    const young = await seed("archived", [cutoff + 1, NOW_S]);
    const { janitor: j } = janitor({ archiveMaxAge: maxAge });

    expect(await j.runOnce()).toEqual({ completed: 0, archived: old.length });

    expect(await redis.zrange(keys.archivedKey(Q), 0, -1)).toEqual(young);
    expect(await hashedIds()).toEqual(sorted(young));
  });

  it("keeps 90 days and 10,000 tasks by default", async () => {
    const [tooOld] = await seed("archived", [unixSeconds(NOW - 90 * DAY_MS)]);
    const [recent] = await seed("archived", [unixSeconds(NOW - 89 * DAY_MS)]);
    const { janitor: j } = janitor();

    expect(await j.runOnce()).toEqual({ completed: 0, archived: 1 });

    expect(await redis.zrange(keys.archivedKey(Q), 0, -1)).toEqual([recent]);
    expect(await redis.exists(keys.taskKey(Q, tooOld!))).toBe(0);
  });
});

describe("component shape", () => {
  it("runs every interval once started", async () => {
    const { janitor: j } = janitor({ interval: 10 });
    j.start();
    await seed("completed", [NOW_S - 1]);
    await waitFor(async () => (await redis.exists(keys.completedKey(Q))) === 0, "the first run");
    await seed("completed", [NOW_S - 1]);
    await waitFor(async () => (await redis.exists(keys.completedKey(Q))) === 0, "a later run");
    expect(await hashedIds()).toEqual([]);
  });

  it("logs an outage once at error level, the repeats at debug, and cleans again once Redis is back", async () => {
    // A connection to a port nobody listens on fails every command at once, as during an outage.
    const dead = new Redis({
      port: 1,
      lazyConnect: true,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    dead.on("error", () => {});
    onTestFinished(() => dead.disconnect());
    let down = true;
    await seed("completed", [NOW_S - 1]);
    const { janitor: j, logs } = janitor({ broker: brokerOn(() => (down ? dead : redis)), interval: 5 });

    j.start();
    await waitFor(() => logs.filter((l) => l.level === "debug").length >= 3, "repeated failures");
    expect(logs.filter((l) => l.level === "error")).toHaveLength(1);
    down = false;

    await waitFor(
      async () => (await redis.exists(keys.completedKey(Q))) === 0,
      "a clean run after the outage",
    );
    await waitFor(
      () => logs.some((l) => l.level === "info" && l.message.includes("working again")),
      "recovery log",
    );
    expect(logs.filter((l) => l.level === "error")).toHaveLength(1);
  });

  it("skips a failing queue and still cleans the others", async () => {
    await redis.set(keys.completedKey("broken"), "not a zset");
    await seed("completed", [NOW_S - 1], "ok");
    const { janitor: j, logs } = janitor({ queues: ["broken", "ok"] });

    expect(await j.runOnce()).toEqual({ completed: 1, archived: 0 });

    expect(await hashedIds("ok")).toEqual([]);
    expect(logs.filter((l) => l.level === "error").map((l) => l.message)).toEqual([
      expect.stringMatching(/queue "broken": .*WRONGTYPE/),
    ]);
  });

  it("shutdown clears the timer and waits for the run in progress", async () => {
    const release = deferred();
    let calls = 0;
    const broker: JanitorPort = {
      deleteExpiredCompleted: async () => {
        calls++;
        await release.promise;
        return 0;
      },
      trimArchive: () => Promise.resolve(0),
    };
    const { janitor: j } = janitor({ broker, interval: 5 });
    j.start();
    await waitFor(() => calls === 1, "a run in progress");

    let finished = false;
    const shutdown = j.shutdown().then(() => (finished = true));
    await sleep(20);
    expect(finished).toBe(false);
    release.resolve();
    await shutdown;
    await sleep(30);
    expect(calls).toBe(1);
  });
});
