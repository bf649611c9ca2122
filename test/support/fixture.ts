// One fixture for the usual test file preamble: a connection to this worker's Redis DB, flushed before
// every test, with (on request) a ManualClock set back before every test, and a Client and an Inspector
// on that DB that read it; everything is closed after the file's tests.
//
//   const { redis, clock, client, inspector } = useRedisFixture({ clock: NOW, client: true, inspector: true });
//
// Call it at the top level of a test file (or of a describe block), before hooks that write to Redis:
// its beforeEach flushes the DB first. Also here: `enqueueOnce` (one task through a Client of its own)
// and `wholeSecondClock`.
import type { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { Client } from "../../src/client/client.js";
import { Inspector } from "../../src/inspector/inspector.js";
import { ManualClock, type Clock } from "../../src/internal/clock.js";
import type { TaskInfo } from "../../src/task.js";
import { newTestRedis, testDb, testRedisUrl } from "./redis.js";

/** What {@link useRedisFixture} opens besides the Redis connection. */
export interface RedisFixtureOptions {
  /**
   * A ManualClock (`clock`) starting at this instant and set back to it before every test; a
   * function is called before every test for the instant (e.g. `Date.now`). The Client and the
   * Inspector read it. Without this option there is no `clock`, and they read the system clock.
   */
  clock?: number | (() => number);
  /**
   * A Client (`client`) on the test DB: `true` on a connection of its own (by URL), `"shared"` on the
   * fixture's `redis` connection itself. Closed after the file's tests.
   */
  client?: true | "shared";
  /** An Inspector (`inspector`) on a connection of its own to the test DB. Closed after the file's tests. */
  inspector?: true;
}

/** What every fixture has. */
export interface RedisFixtureBase {
  /**
   * A connection to this worker's DB (`maxRetriesPerRequest: 1`). Opened in `beforeAll`, the DB
   * flushed in `beforeEach`, disconnected in `afterAll`: use it in hooks and tests.
   */
  redis: Redis;
  /** `redis://host:port/<db>` of this worker's DB, for Clients, Servers and workers of a test's own. */
  url: string;
  /** This worker's DB index. */
  db: number;
}

/** The fixture for options `O`: `clock`, `client` and `inspector` exist when `O` asks for them. */
export type RedisFixture<O extends RedisFixtureOptions = RedisFixtureOptions> = RedisFixtureBase &
  (O extends { clock: number | (() => number) } ? { clock: ManualClock } : unknown) &
  (O extends { client: true | "shared" } ? { client: Client } : unknown) &
  (O extends { inspector: true } ? { inspector: Inspector } : unknown);

/**
 * Registers the hooks of a test file on its own Redis DB and returns the objects they manage.
 *
 * The objects are created at once, without connecting (so they can be destructured at the top of the
 * file and passed to helpers built there); the Redis connection is opened in `beforeAll`, the Client
 * and Inspector connect on first use. Before every test the DB is flushed and the clock set back.
 * After the file's tests the Client and the Inspector are closed, then the connection.
 */
export function useRedisFixture<const O extends RedisFixtureOptions = Record<never, never>>(
  options: O = {} as O,
): RedisFixture<O> {
  const url = testRedisUrl();
  const redis = newTestRedis();
  const start = options.clock;
  const instant = (): number => (typeof start === "function" ? start() : (start ?? 0));
  const clock = start === undefined ? undefined : new ManualClock(instant());
  const withClock = clock === undefined ? {} : { clock };
  const client =
    options.client === undefined ? undefined : new Client(options.client === true ? url : redis, withClock);
  const inspector = options.inspector === undefined ? undefined : new Inspector(url, withClock);

  beforeAll(async () => {
    await redis.connect();
  });
  beforeEach(async () => {
    await redis.flushdb();
    clock?.set(instant());
  });
  afterAll(async () => {
    try {
      await Promise.all([client?.close(), inspector?.close()]);
    } finally {
      redis.disconnect();
    }
  });

  return { redis, url, db: testDb(), clock, client, inspector } as RedisFixtureBase as RedisFixture<O>;
}

/**
 * Enqueues one task through a Client of its own on `redis` (reading `clock`, or the system clock when
 * undefined), closed afterwards.
 */
export async function enqueueOnce(
  redis: Redis,
  clock: Clock | undefined,
  ...args: Parameters<Client["enqueue"]>
): Promise<TaskInfo> {
  const client = new Client(redis, clock === undefined ? {} : { clock });
  try {
    return await client.enqueue(...args);
  } finally {
    await client.close();
  }
}

/** A ManualClock at the current time, on a whole second (so unix-second values are exact). */
export function wholeSecondClock(): ManualClock {
  return new ManualClock(Math.floor(Date.now() / 1000) * 1000);
}
