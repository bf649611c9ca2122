// `asynq-ts cron ls|history` and `doctor` (built binary, real Redis).
import { Scheduler, type Client, type Inspector } from "../../src/index.js";
import { beforeAll, describe, expect, it } from "vitest";
import { useRedisFixture } from "../support/fixture.js";
import { builtCli, cliJson, enqueueOn, inspectOn, runCli } from "./support.js";

const { redis, url } = useRedisFixture();
const enqueue = (...args: Parameters<Client["enqueue"]>) => enqueueOn(url, ...args);
const withInspector = <T>(fn: (inspector: Inspector) => Promise<T>): Promise<T> => inspectOn(url, fn);

beforeAll(async () => {
  await builtCli();
}, 180_000);

describe("cron", () => {
  it("ls and history show a scheduler's entries and enqueues", async () => {
    const scheduler = new Scheduler(url, { logLevel: "error" });
    const id = scheduler.register("@every 1s", { type: "tick", payload: "p" }, { queue: "cronq" });
    try {
      await scheduler.start();
      await expect
        .poll(() => withInspector(async (i) => (await i.listSchedulerEnqueueEvents(id)).length), {
          timeout: 10_000,
        })
        .toBeGreaterThan(0);
      const entries = await cliJson<Array<Record<string, unknown>>>(["cron", "ls"]);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ id, spec: "@every 1s", taskType: "tick", payload: { text: "p" } });
      expect((entries[0]!.options as string[]).join(" ")).toMatch(/Queue\("cronq"\)/);
      expect((await runCli(["cron", "ls"])).stdout).toMatch(
        new RegExp(`^${id}\\s+@every 1s\\s+tick\\s+p\\s`, "m"),
      );
      const history = await cliJson<
        Array<{ entry: string; events: Array<{ taskId: string; enqueuedAt: string }> }>
      >(["cron", "history", id]);
      expect(history[0]!.entry).toBe(id);
      expect(history[0]!.events.length).toBeGreaterThan(0);
      const [first] = history[0]!.events;
      expect(await withInspector((i) => i.getTaskInfo("cronq", first!.taskId).then((t) => t.type))).toBe(
        "tick",
      );
      // The scheduler keeps ticking: newer events may come first by now.
      const text = (await runCli(["cron", "history", id])).stdout;
      expect(text).toMatch(new RegExp(`^Entry: ${id}$`, "m"));
      expect(text).toMatch(new RegExp(`^\\d{4}-\\d{2}-\\d{2} .* UTC  ${first!.taskId}$`, "m"));
    } finally {
      await scheduler.shutdown();
    }
  });
});

describe("doctor", () => {
  it("exits 0 clean, 1 with findings, and --fix repairs them", async () => {
    await enqueue({ type: "t" }, { queue: "d" });
    const clean = await runCli(["doctor"]);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/asynq doctor at/);
    const json = await runCli(["doctor", "--json", "-q", "d"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ clean: true, fix: false, queues: [{ queue: "d" }] });

    await redis.zadd("asynq:{d}:archived", Math.floor(Date.now() / 1000), "ghost");
    const found = await runCli(["doctor", "-q", "d"]);
    expect(found.code).toBe(1);
    expect(found.stdout).toMatch(/ghost/);
    const fixed = await runCli(["doctor", "-q", "d", "--fix"]);
    expect(fixed.code, fixed.stdout).toBe(0);
    expect(await redis.zscore("asynq:{d}:archived", "ghost")).toBeNull();
    expect((await runCli(["doctor", "-q", "d"])).code).toBe(0);
    expect((await runCli(["doctor", "--batch", "0"])).code).toBe(2);
  });
});
