// Redis for tests: each vitest worker owns one DB index (files in one worker run one after another),
// and a test flushes only that DB. The conformance suite (test/conformance) runs the same files on
// other flavours of Redis (FLAVOUR, set by its runner): on a Redis Cluster, which has DB 0 only, the
// files run in one worker and a flush empties every master.
import { Cluster, Redis } from "ioredis";
import { afterAll, inject } from "vitest";
import { clusterFacade, clusterScanStep, splitPipeline } from "../../src/broker/connection/cluster.js";
import { parseConnectionUrl } from "../../src/broker/connection/url.js";

/** First DB index owned by tests; worker N owns FIRST_TEST_DB + N - 1. DB 0 is never touched. */
const FIRST_TEST_DB = 8;

/** The Redis flavour the tests run on: "default" outside the conformance suite. */
export function testFlavour(): string {
  return inject("flavour") ?? "default";
}

/** True when the tests run on a Redis Cluster (one DB, one worker). */
export function onCluster(): boolean {
  return testFlavour() === "cluster";
}

/** The DB index this test worker owns (0 on a Cluster). */
export function testDb(): number {
  if (onCluster()) return 0;
  const poolId = Number(process.env.VITEST_POOL_ID ?? "1");
  return FIRST_TEST_DB + (Number.isFinite(poolId) && poolId > 0 ? poolId - 1 : 0);
}

/** `base` with this worker's DB index as its path (none on a Cluster); the query string is kept. */
function withDb(base: string): string {
  if (inject("flavour") === undefined) return `${base.replace(/\/\d*$/, "")}/${testDb()}`;
  if (onCluster()) return base;
  const url = new URL(base);
  url.pathname = `/${testDb()}`;
  return url.toString();
}

/**
 * `redis://host:port/<db>` for this worker's DB: what the library is given (on the conformance
 * flavours, the cluster or sentinel URL, the ACL user's credentials, `rediss://`).
 */
export function testRedisUrl(): string {
  return withDb(inject("redisUrl"));
}

/**
 * A connection to this worker's DB, not yet connected (`lazyConnect`), that fails a command after one
 * retry. It seeds and reads as an administrator (on the acl flavour, the default user). On a Cluster it
 * is a Cluster that answers like one server (pipelines across slots; FLUSHDB empties every master).
 */
export function newTestRedis(): Redis {
  const admin = withDb(inject("adminUrl") ?? inject("redisUrl"));
  const parsed = parseConnectionUrl(new URL(admin), admin, "test");
  if (parsed.kind === "cluster") {
    const cluster = new Cluster(parsed.nodes, {
      lazyConnect: true,
      redisOptions: { ...parsed.nodeOptions, maxRetriesPerRequest: 1 },
    });
    return clusterFacade(wholeCluster(cluster));
  }
  if (parsed.kind === "sentinel") {
    return new Redis({ ...parsed.options, lazyConnect: true, maxRetriesPerRequest: 1 });
  }
  return new Redis(admin, { lazyConnect: true, maxRetriesPerRequest: 1 });
}

/**
 * Opens a connection to this worker's DB and flushes it. Closed after the file's tests.
 * Use in `beforeEach` or `beforeAll`; for a whole file's set-up, see `useRedisFixture` (fixture.ts).
 */
export async function freshRedis(): Promise<Redis> {
  const redis = newTestRedis();
  await redis.connect();
  await redis.flushdb();
  afterAll(() => {
    redis.disconnect();
  });
  return redis;
}

/**
 * Gives a test's Cluster the keyless commands that tests use on one server, over every master:
 * FLUSHDB, SCAN (and scanBuffer, for dumps), KEYS and DBSIZE; and MULTI as a pipeline split over the
 * masters (test set-ups write snapshots of several queues in one MULTI; nothing runs meanwhile).
 * Only on the Cluster the test owns.
 */
function wholeCluster(cluster: Cluster): Cluster {
  const masters = (): Redis[] => cluster.nodes("master");
  const facade = (): Redis => cluster as unknown as Redis;
  const flush = async (): Promise<"OK"> => {
    await Promise.all(masters().map((node) => node.flushdb()));
    return "OK";
  };
  // SCAN's options after the cursor: MATCH and COUNT only.
  const scanArgs = (args: unknown[]): { match: string; count: number } => {
    let match = "*";
    let count = 10;
    for (let i = 0; i + 1 < args.length; i += 2) {
      const option = String(args[i]).toUpperCase();
      if (option === "MATCH") match = String(args[i + 1]);
      if (option === "COUNT") count = Number(args[i + 1]);
    }
    return { match, count };
  };
  const scan = async (cursor: string | number, ...args: unknown[]): Promise<[string, string[]]> => {
    const { match, count } = scanArgs(args);
    return clusterScanStep(facade(), String(cursor), match, count);
  };
  const scanBuffer = async (cursor: string | number, ...args: unknown[]): Promise<[Buffer, Buffer[]]> => {
    const [next, found] = await scan(cursor, ...args);
    return [Buffer.from(next), found.map((k) => Buffer.from(k))];
  };
  const keys = async (pattern: string): Promise<string[]> =>
    (await Promise.all(masters().map((node) => node.keys(pattern)))).flat();
  const dbsize = async (): Promise<number> =>
    (await Promise.all(masters().map((node) => node.dbsize()))).reduce((a, b) => a + b, 0);
  const multi = (): ReturnType<Cluster["multi"]> => splitPipeline(cluster);
  return Object.assign(cluster, { flushdb: flush, flushall: flush, scan, scanBuffer, keys, dbsize, multi });
}
