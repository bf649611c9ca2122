// Vitest global setup: finds or starts the Redis every test file talks to (tools/redis.ts).
import type { TestProject } from "vitest/node";
import { ensureRedis, type RedisHandle } from "../../tools/redis.js";

let handle: RedisHandle | undefined;

export async function setup(project: TestProject): Promise<void> {
  handle = await ensureRedis((line) => console.log(`[redis] ${line}`));
  project.provide("redisUrl", handle.url);
}

export async function teardown(): Promise<void> {
  await handle?.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
