// A worker killed (SIGKILL) while its groupAggregator runs: its aggregation set stays behind; after
// the set's deadline the next server's recoverer puts the tasks back into their group (and the group
// into `groups`), and its aggregator aggregates every task exactly once.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, expect, it } from "vitest";
import * as keys from "../../src/wire/keys.js";
import { REPO_ROOT, poll } from "../support/processes.js";
import { useRedisFixture } from "../support/fixture.js";
import { startServer } from "../support/server.js";
import type { HandlerTask } from "../../src/server/mux.js";
import { joinPayloads, payloads } from "./support.js";

const Q = "default";
const FIXTURE = fileURLToPath(new URL("./aggregator-worker.ts", import.meta.url));
const { redis, url, client } = useRedisFixture({ client: true });

/** The queue's keys but its counters. */
async function leftKeys(): Promise<string[]> {
  return (await redis.keys("asynq:{default}:*")).filter((k) => !/:processed(:|$)/.test(k));
}

let kill: (() => void) | undefined;
afterEach(() => kill?.());

it("every member is aggregated exactly once after reclaim", async () => {
  const ids: string[] = [];
  for (let n = 1; n <= 20; n++) {
    const taskId = `k-${String(n).padStart(2, "0")}`;
    ids.push((await client.enqueue({ type: "notify", payload: `m${n}` }, { group: "g", taskId })).id);
  }
  const env: Record<string, string | undefined> = { ...process.env, REDIS_URL: url };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE], { cwd: REPO_ROOT, env });
  kill = () => child.kill("SIGKILL");
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_c, s) => resolve(s)));
  await poll(() => out.includes("AGGREGATING g "), "the child's aggregator call", {
    describe: () => out,
  });
  child.kill("SIGKILL");
  expect(await exited).toBe("SIGKILL");

  // What the killed worker left: every member in one registered set, none in the group.
  const [setKey] = await redis.zrange(keys.allAggregationSetsKey(Q), 0, -1);
  expect(await redis.zrange(setKey!, 0, -1)).toEqual(ids);
  expect(await redis.exists(keys.groupKey(Q, "g"), keys.allGroupsKey(Q))).toBe(0);
  // Two minutes pass: the set's deadline is due (instead of waiting for it).
  await redis.zadd(keys.allAggregationSetsKey(Q), "XX", Math.floor(Date.now() / 1000) - 1, setKey!);

  const aggregated: string[][] = [];
  const handled: HandlerTask[] = [];
  await startServer(url, (task) => void handled.push(task), {
    groupGracePeriod: 1000,
    groupAggregator: (group, tasks) => {
      aggregated.push(payloads(tasks));
      return joinPayloads(group, tasks);
    },
  });
  await poll(() => handled.length === 1, "the aggregated task handled", { timeoutMs: 10_000 });
  await new Promise((resolve) => setTimeout(resolve, 1500)); // one more check: nothing left to do
  const expected = ids.map((_, i) => `m${i + 1}`);
  expect(aggregated).toEqual([expected]);
  expect(Buffer.from(handled[0]!.payload).toString()).toBe(expected.join("\n"));
  expect(handled).toHaveLength(1);
  expect(await leftKeys()).toEqual([]);
});
