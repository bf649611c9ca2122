// Vitest global setup: finds or starts the Redis every test file talks to (tools/redis.ts). Under the
// conformance runner (test/conformance/run.ts) the topology is already running, and FLAVOUR,
// CONFORMANCE_URL and CONFORMANCE_ADMIN_URL say where.
import type { TestProject } from "vitest/node";
import { ensureRedis, type RedisHandle } from "../../tools/redis.js";

let handle: RedisHandle | undefined;

export async function setup(project: TestProject): Promise<void> {
  const flavour = process.env.FLAVOUR;
  const url = process.env.CONFORMANCE_URL;
  if (flavour !== undefined && flavour !== "" && url !== undefined && url !== "") {
    console.log(`[redis] conformance flavour ${flavour}: ${url.replace(/:[^:@/]*@/, ":***@")}`);
    project.provide("redisUrl", url);
    project.provide("adminUrl", process.env.CONFORMANCE_ADMIN_URL ?? url);
    project.provide("flavour", flavour);
    return;
  }
  handle = await ensureRedis((line) => console.log(`[redis] ${line}`));
  project.provide("redisUrl", handle.url);
}

export async function teardown(): Promise<void> {
  await handle?.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
    /** Conformance runs: the URL test support seeds and flushes with (the acl flavour's default user). */
    adminUrl?: string;
    /** Conformance runs: the flavour (test/support/topologies). */
    flavour?: string;
  }
}
