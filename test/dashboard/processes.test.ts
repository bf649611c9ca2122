// Issue 18's check: the overview shows, for a queue shared by several servers, the same counts as the
// Inspector. The servers are separate OS processes (test/fixtures/worker.ts, spawned by
// test/support/processes.ts), each with its own connections; the dashboard's API and its page in
// chromium are compared with the Inspector once the queue has settled.
import { afterAll, describe, expect, it } from "vitest";
import { TASK_STATES } from "../../src/wire/keys.js";
import { useRedisFixture } from "../support/fixture.js";
import { killAll, spawnWorker, type WorkerProcess } from "../support/processes.js";
import { QUEUE_COUNTS } from "../support/queue-json.js";
import { useBrowser } from "./browser.js";
import { call, serveDashboard } from "./support.js";

const { url, client, inspector } = useRedisFixture({ client: true, inspector: true });
const { openPage, screenshot } = useBrowser();

afterAll(async () => {
  await killAll();
});

describe("a queue shared by three worker processes", () => {
  it("the overview's API and page show the Inspector's counts", { timeout: 90_000 }, async () => {
    const workers: WorkerProcess[] = [0, 1, 2].map((i) =>
      spawnWorker({
        redisUrl: url,
        name: `w${i}`,
        queues: "shared:1,other:1",
        concurrency: 2,
        heartbeatInterval: 200,
        shutdownTimeout: 2000,
        logLevel: "error",
      }),
    );
    await Promise.all(workers.map((w) => w.ready));
    const served = await serveDashboard(url, { pollIntervalMs: 1000 });
    try {
      // 30 tasks: one in three fails for good (archived), the others take 50 ms; one scheduled later.
      for (let i = 0; i < 30; i++) {
        await client.enqueue(
          { type: "work", payload: i % 3 === 0 ? { fail: "boom" } : { ms: 50 } },
          { queue: "shared", maxRetry: 0 },
        );
      }
      await client.enqueue({ type: "later", payload: {} }, { queue: "shared", processIn: 3_600_000 });
      await client.enqueue({ type: "work", payload: {} }, { queue: "other", processIn: 3_600_000 });
      await expect
        .poll(
          async () => {
            const q = await inspector.getQueueInfo("shared");
            return { pending: q.pending, active: q.active, archived: q.archived, processed: q.processed };
          },
          { timeout: 30_000, interval: 200 },
        )
        .toEqual({ pending: 0, active: 0, archived: 10, processed: 30 });
      // The work was shared: more than one process ran tasks.
      const busy = workers.filter((w) => w.lines.some((l) => l.text.startsWith("START "))).length;
      expect(busy).toBeGreaterThan(1);

      // The three servers, each its own process, are listed.
      const servers = (await call(`${served.origin}/api/servers`)).body.servers as Array<{ pid: number }>;
      expect(servers.map((s) => s.pid).sort()).toEqual(workers.map((w) => w.pid).sort());

      const expected = await inspector.getQueueInfos();
      const { status, body } = await call(`${served.origin}/api/queues`);
      expect(status).toBe(200);
      expect(body.queues.map((q: { queue: string }) => q.queue)).toEqual(["other", "shared"]);
      for (const info of expected) {
        const shown = body.queues.find((q: { queue: string }) => q.queue === info.queue);
        for (const key of QUEUE_COUNTS) expect(shown[key], `${info.queue} ${key}`).toBe(info[key]);
        expect(shown.paused).toBe(info.paused);
      }
      const shared = expected.find((q) => q.queue === "shared")!;
      expect(shared).toMatchObject({ processed: 30, failed: 10, archived: 10, scheduled: 1, size: 11 });

      // The page shows the same numbers.
      const { page, problems } = await openPage();
      await page.goto(`${served.origin}/`);
      const row = page.locator('tr[data-queue="shared"]');
      await expect.poll(() => row.locator('[data-col="size"]').textContent()).toBe(String(shared.size));
      for (const key of TASK_STATES) {
        expect(await row.locator(`[data-col="${key}"]`).textContent(), key).toBe(String(shared[key]));
      }
      expect(await row.locator('[data-col="processed"]').textContent()).toBe(String(shared.processed));
      expect(await row.locator('[data-col="failed"]').textContent()).toBe(String(shared.failed));
      await screenshot(page, "overview-three-processes");
      expect(problems).toEqual([]);
    } finally {
      await served.close();
      for (const w of workers) w.signal("SIGTERM");
      await Promise.all(workers.map((w) => w.exited));
    }
  });
});
