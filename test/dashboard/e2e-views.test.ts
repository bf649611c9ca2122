// End-to-end tests of the dashboard's views beyond the queues, in chromium (browser.ts): the live
// throughput chart, scheduler entries and their history, a queue's groups and a group's tasks (with an
// action), the Redis info table, the doctor's findings, and the servers with their active workers.
// Everything the page shows comes from a real Redis written by a real Server, Scheduler and Client.
import { describe, expect, it } from "vitest";
import { Scheduler, Server, ServeMux } from "../../src/index.js";
import * as keys from "../../src/wire/keys.js";
import { useRedisFixture } from "../support/fixture.js";
import { useBrowser } from "./browser.js";
import { useDashboardPerTest } from "./per-test.js";

const { url, redis, client, inspector } = useRedisFixture({ client: true, inspector: true });
const { openPage, screenshot } = useBrowser();

const { serve, cleanups } = useDashboardPerTest(url);

const HOSTILE = `<img src=x onerror="alert('xss')">`;

describe("the new views in chromium", () => {
  it("overview: the live throughput chart counts the tasks a server processes", async () => {
    await client.enqueue({ type: "warm" }, { queue: "live" });
    const base = await serve({ pollIntervalMs: 1000 });
    const { page, problems } = await openPage();
    await page.goto(`${base}/`);
    // Two refreshes make the first point: nothing processed yet.
    await expect
      .poll(() => page.locator("#throughput").getAttribute("data-points"), { timeout: 10_000 })
      .not.toBe("0");
    expect(await page.locator("#throughput").getAttribute("data-tasks")).toBe("0");
    for (let i = 0; i < 20; i++)
      await client.enqueue({ type: i % 4 === 0 ? "fail" : "ok" }, { queue: "live", maxRetry: 0 });
    const mux = new ServeMux()
      .handle("ok", async () => {})
      .handle("warm", async () => {})
      .handle("fail", () => Promise.reject(new Error("boom")));
    const server = new Server(url, {
      queues: { live: 1 },
      concurrency: 4,
      logLevel: "error",
      shutdownTimeout: 1000,
    });
    await server.start(mux);
    cleanups.push(() => server.shutdown());
    await expect
      .poll(() => page.locator("#throughput").getAttribute("data-tasks"), { timeout: 15_000 })
      .toBe("21");
    expect(await page.locator("#throughput-chart").count()).toBe(1);
    const datasets = await page.evaluate(() => {
      const chart = (
        globalThis as unknown as {
          Chart: {
            getChart(id: string): {
              data: { datasets: Array<{ label: string; data: Array<number | null> }> };
            };
          };
        }
      ).Chart.getChart("throughput-chart");
      return chart.data.datasets.map((d) => ({
        label: d.label,
        max: Math.max(...d.data.map((v) => v ?? 0)),
      }));
    });
    expect(datasets.map((d) => d.label)).toEqual(["processed/s", "failed/s"]);
    expect(datasets[0]!.max).toBeGreaterThan(0);
    expect(datasets[1]!.max).toBeGreaterThan(0);
    await screenshot(page, "overview-throughput");
    expect(problems).toEqual([]);
  });

  it("throughput: rates from counter growth; no negative rate; a long pause breaks the line", async () => {
    const base = await serve();
    const { page, problems } = await openPage();
    await page.goto(`${base}/`);
    // A copy of the module of its own (another URL), fed made-up refreshes (poll 1 s). The script is
    // a string: the test's own code is transformed by vitest, the page's must not be.
    const run = (copy: string, steps: string) =>
      page.evaluate(`(async () => {
        const t = await import(${JSON.stringify(`${base}/assets/throughput.js?${copy}`)});
        const q = (queue, processedTotal, failedTotal) => ({ queue, processedTotal, failedTotal });
        ${steps}
        return t.samples();
      })()`);
    const points = await run(
      "a",
      `t.record([q("a", 10, 1), q("b", 5, 0)], 1000, 0);
      t.record([q("a", 14, 2), q("b", 7, 0)], 1000, 2000); // +6 processed, +1 failed in 2 s
      t.record([q("a", 3, 2), q("c", 100, 50)], 1000, 3000); // a reset, b gone, c new: 0
      t.record([q("a", 5, 2), q("c", 101, 50)], 1000, 70_000); // 67 s later: a gap
      t.record([q("a", 6, 3), q("c", 101, 50)], 1000, 71_000);`,
    );
    expect(points).toEqual([
      { at: 2000, processed: 3, failed: 0.5, tasks: 6 },
      { at: 3000, processed: 0, failed: 0, tasks: 0 },
      { at: 70_000, gap: true },
      { at: 71_000, processed: 1, failed: 1, tasks: 1 },
    ]);
    // Only the last 5 minutes are kept.
    const later = await run(
      "b",
      `t.record([q("a", 1, 0)], 1000, 0);
      t.record([q("a", 2, 0)], 1000, 1000);
      t.record([q("a", 4, 0)], 1000, 2000);
      t.record([q("a", 4, 0)], 1000, 2000 + 5 * 60_000);`,
    );
    expect(later).toEqual([
      { at: 2000, processed: 2, failed: 0, tasks: 2 },
      { at: 2000 + 5 * 60_000, gap: true },
    ]);
    expect(problems).toEqual([]);
  });

  it("scheduler: an entry (hostile type and payload as text) and its enqueue history, to the task", async () => {
    const scheduler = new Scheduler(url, { heartbeatInterval: 100, logLevel: "error" });
    const id = scheduler.register("@every 1s", { type: HOSTILE, payload: HOSTILE }, { queue: "cron" });
    await scheduler.start();
    cleanups.push(() => scheduler.shutdown());
    const base = await serve();
    const { page, problems } = await openPage();
    await page.goto(`${base}/#/scheduler`);
    const row = page.locator(`tr[data-entry="${id}"]`);
    await expect
      .poll(() => row.locator('[data-col="spec"]').textContent(), { timeout: 10_000 })
      .toBe("@every 1s");
    expect(await row.locator('[data-col="type"]').textContent()).toBe(HOSTILE);
    expect(await row.locator('[data-col="payload"]').textContent()).toBe(HOSTILE);
    expect(await row.locator('[data-col="options"]').textContent()).toBe('Queue("cron")');
    await row.locator("a.history").click();
    await expect
      .poll(() => page.locator("table.events tbody tr").count(), { timeout: 10_000 })
      .toBeGreaterThan(0);
    // The newest enqueue first; the entry goes on enqueuing, so the page's row is one the
    // Inspector lists, not necessarily its newest by now.
    const first = page.locator("table.events tbody tr").first();
    const taskId = (await first.getAttribute("data-task"))!;
    const events = await inspector.listSchedulerEnqueueEvents(id, { size: 100 });
    expect(events.map((e) => e.taskId)).toContain(taskId);
    expect(await page.locator("#view img").count()).toBe(0);
    await screenshot(page, "scheduler-history");
    await first.locator("td.id a").click();
    await expect.poll(() => page.locator('[data-field="ID"]').textContent()).toBe(taskId);
    expect(await page.locator('[data-field="Queue"]').textContent()).toBe("cron");
    expect(await page.locator('[data-field="Type"]').textContent()).toBe(HOSTILE);
    expect(problems).toEqual([]);
  });

  it("groups: a queue's groups, a group's tasks, and archiving one", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(
        (await client.enqueue({ type: "agg", payload: { i } }, { queue: "agg", group: "batch-1" })).id,
      );
    await client.enqueue({ type: "agg" }, { queue: "agg", group: "batch-2" });
    const base = await serve();
    const { page, problems } = await openPage();
    await page.goto(`${base}/#/queues/agg`);
    await page.locator("#groups-link").click();
    const row = page.locator('tr[data-group="batch-1"]');
    await expect.poll(() => row.locator('[data-col="size"]').textContent()).toBe("3");
    expect(await page.locator("tr[data-group]").count()).toBe(2);
    await row.locator('[data-col="group"] a').click();
    await expect.poll(() => page.locator("table.tasks tbody tr").count()).toBe(3);
    await page.locator(`tr[data-task="${ids[0]}"] button[data-action="archive"]`).click();
    await expect.poll(() => page.locator("#group-size").textContent()).toBe("2");
    expect(await page.locator("table.tasks tbody tr").count()).toBe(2);
    expect((await inspector.getTaskInfo("agg", ids[0]!)).state).toBe("archived");
    await screenshot(page, "group-tasks");
    expect(problems).toEqual([]);
  });

  it("groups, read-only: the tasks show, no control does", async () => {
    await client.enqueue({ type: "agg" }, { queue: "agg", group: "g" });
    const base = await serve({ readOnly: true });
    const { page, problems } = await openPage();
    await page.goto(`${base}/#/queues/agg/groups/g`);
    await expect.poll(() => page.locator("table.tasks tbody tr").count()).toBe(1);
    expect(await page.locator("button, input[type=checkbox]").count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it("Redis info: the table shows what INFO says", async () => {
    await client.enqueue({ type: "t" }, { queue: "q" });
    const base = await serve();
    const { page, problems } = await openPage();
    await page.goto(`${base}/#/redis`);
    const info = await inspector.redisInfo();
    const version = page.locator('#redis-info tr[data-field="redis_version"] td');
    await expect.poll(() => version.textContent()).toBe(info.redis_version);
    expect(await page.locator('#redis-info tr[data-field="connected_clients"] td').count()).toBe(1);
    expect(await page.locator("#redis-keyspace tbody tr").count()).toBeGreaterThan(0);
    expect(await page.locator('#redis-all tr[data-field="tcp_port"] td').textContent()).toBe(info.tcp_port);
    await screenshot(page, "redis-info");
    expect(problems).toEqual([]);
  });

  it("doctor: an orphaned task hash shows up as a finding", async () => {
    const orphan = await client.enqueue({ type: "t" }, { queue: "q" });
    await redis.lrem(keys.pendingKey("q"), 0, orphan.id);
    const base = await serve();
    const { page, problems } = await openPage();
    await page.goto(`${base}/#/doctor`);
    await expect.poll(() => page.locator("#doctor").getAttribute("data-clean")).toBe("false");
    const finding = page.locator('#doctor-issues tr[data-kind="orphaned-task"]');
    expect(await finding.count()).toBe(1);
    expect(await finding.locator('[data-col="id"]').textContent()).toBe(orphan.id);
    expect(await finding.locator('[data-col="key"]').textContent()).toBe(keys.taskKey("q", orphan.id));
    expect(await page.locator('#doctor-queues tr[data-queue="q"] [data-col="findings"]').textContent()).toBe(
      "1",
    );
    await screenshot(page, "doctor");
    // The report offers no repair, and none was made.
    expect(await page.locator("#doctor button").count()).toBe(0);
    expect(await redis.lrange(keys.pendingKey("q"), 0, -1)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it("servers: a server and its active worker, to the task's detail", async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const server = new Server(url, {
      queues: { work: 1 },
      concurrency: 2,
      heartbeatInterval: 100,
      logLevel: "error",
      shutdownTimeout: 1000,
    });
    await server.start(new ServeMux().handle("hold", () => held));
    cleanups.push(async () => {
      release();
      await server.shutdown();
    });
    const task = await client.enqueue({ type: "hold", payload: { job: "x" } }, { queue: "work" });
    const base = await serve({ pollIntervalMs: 1000 });
    const { page, problems } = await openPage();
    await page.goto(`${base}/#/servers`);
    const row = page.locator(`tr[data-server="${server.id}"]`);
    await expect.poll(() => row.locator('[data-col="queues"]').textContent()).toBe("work:1");
    expect(await row.locator('[data-col="status"]').textContent()).toBe("active");
    await expect
      .poll(() => page.locator(`#workers tr[data-task="${task.id}"]`).count(), { timeout: 10_000 })
      .toBe(1);
    await row.locator('[data-col="host"] a').click();
    await expect.poll(() => page.locator('[data-field="Server ID"]').textContent()).toBe(server.id);
    expect(await page.locator('[data-field="PID"]').textContent()).toBe(String(process.pid));
    const worker = page.locator(`#workers tr[data-task="${task.id}"]`);
    await expect.poll(() => worker.locator('[data-col="payload"]').textContent()).toBe('{"job":"x"}');
    expect(await worker.locator('[data-col="type"]').textContent()).toBe("hold");
    await screenshot(page, "server-workers");
    await worker.locator("td.id a").click();
    await expect.poll(() => page.locator('[data-field="State"]').textContent()).toBe("active");
    expect(await page.locator('[data-field="ID"]').textContent()).toBe(task.id);
    expect(problems).toEqual([]);
  });
});
