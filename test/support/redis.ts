// Redis for tests: each vitest worker owns one DB index (files in one worker run one after another),
// and a test flushes only that DB.
import { Redis } from "ioredis";
import { afterAll, inject } from "vitest";

/** First DB index owned by tests; worker N owns FIRST_TEST_DB + N - 1. DB 0 is never touched. */
const FIRST_TEST_DB = 8;

/** The DB index this test worker owns. */
export function testDb(): number {
  const poolId = Number(process.env.VITEST_POOL_ID ?? "1");
  return FIRST_TEST_DB + (Number.isFinite(poolId) && poolId > 0 ? poolId - 1 : 0);
}

/** `redis://host:port/<db>` for this worker's DB. */
export function testRedisUrl(): string {
  const base = inject("redisUrl").replace(/\/\d*$/, "");
  return `${base}/${testDb()}`;
}

/** A connection to this worker's DB, not yet connected (`lazyConnect`), that fails a command after one retry. */
export function newTestRedis(): Redis {
  return new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
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
