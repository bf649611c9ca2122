// End-to-end tests of the dashboard in a real browser: playwright-core driving Debian's chromium
// (/usr/bin/chromium, installed by .ci/run; CHROMIUM_PATH overrides), headless, against the dashboard
// on this worker's Redis DB. Screenshots are test output, written to scratch/dashboard-e2e/ (gitignored;
// DASHBOARD_SCREENSHOTS overrides), never committed.
import type { Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { useRedisFixture } from "../support/fixture.js";
import { useBrowser } from "./browser.js";
import { serveDashboard, type Served } from "./support.js";

const { url, client, inspector } = useRedisFixture({ client: true, inspector: true });
const { openPage, screenshot } = useBrowser();

let served: Served | undefined;

afterEach(async () => {
  await served?.close();
  served = undefined;
});

async function serve(options: Parameters<typeof serveDashboard>[1] = {}): Promise<string> {
  served = await serveDashboard(url, options);
  return `${served.origin}${options.basePath ?? ""}`;
}

const count = (page: Page, state: string) => page.locator(`.tabs a[data-state="${state}"] .count`);

describe("the dashboard in chromium", () => {
  it("overview → queue → archive a task: the counts change", async () => {
    for (let i = 0; i < 3; i++)
      await client.enqueue({ type: "email:send", payload: { i } }, { queue: "mail" });
    await client.enqueue({ type: "other" }, { queue: "low" });
    const base = await serve({ basePath: "/admin" });
    const { page, problems } = await openPage();
    await page.goto(`${base}/`);
    const row = page.locator('tr[data-queue="mail"]');
    await expect.poll(() => row.locator('[data-col="pending"]').textContent()).toBe("3");
    await expect.poll(() => page.locator("tr[data-queue]").count()).toBe(2);
    await screenshot(page, "overview");

    await row.locator('[data-col="queue"] a').click();
    await expect.poll(() => count(page, "pending").textContent()).toBe("3");
    await expect.poll(() => page.locator("table.tasks tbody tr").count()).toBe(3);
    const first = page.locator("table.tasks tbody tr").first();
    const id = await first.getAttribute("data-task");
    await first.locator('button[data-action="archive"]').click();
    await expect.poll(() => count(page, "pending").textContent()).toBe("2");
    await expect.poll(() => count(page, "archived").textContent()).toBe("1");
    expect((await inspector.getTaskInfo("mail", id!)).state).toBe("archived");
    // The history chart (Chart.js, served by the dashboard) is drawn, for 7 days then 30.
    await expect.poll(() => page.locator("#history-chart").getAttribute("data-days")).toBe("7");
    expect(await page.evaluate("typeof window.Chart")).toBe("function");
    await page.locator(".range a", { hasText: "30 days" }).click();
    await expect.poll(() => page.locator("#history-chart").getAttribute("data-days")).toBe("30");
    await screenshot(page, "queue-after-archive");

    await page.locator('.tabs a[data-state="archived"]').click();
    await expect.poll(() => page.locator(`table.tasks tbody tr[data-task="${id}"]`).count()).toBe(1);
    await page.locator(`tr[data-task="${id}"] td.id a`).click();
    await expect.poll(() => page.locator('[data-field="State"]').textContent()).toBe("archived");
    // Lookup by ID from the queue page.
    const other = await inspector.listTasks("mail", "pending");
    await page.goto(`${base}/#/queues/mail`);
    await page.locator("#lookup").fill(other[0]!.id);
    await page.locator("#lookup").press("Enter");
    await expect.poll(() => page.locator('[data-field="ID"]').textContent()).toBe(other[0]!.id);
    await page.goto(`${base}/#/`);
    await expect.poll(() => row.locator('[data-col="archived"]').textContent()).toBe("1");
    expect(problems).toEqual([]);
  });

  it("a hostile payload, type and error show as text, and no script runs", async () => {
    const hostile = `<img src=x onerror="alert('xss')">`;
    const info = await client.enqueue(
      { type: `<script>alert("type")</script>`, payload: hostile },
      { queue: "hostile" },
    );
    const base = await serve();
    const { page, problems } = await openPage();
    await page.goto(`${base}/#/queues/hostile?state=pending`);
    const cell = page.locator(`tr[data-task="${info.id}"] [data-col="payload"]`);
    await expect.poll(() => cell.textContent()).toBe(hostile);
    expect(await page.locator(`tr[data-task="${info.id}"] [data-col="type"]`).textContent()).toBe(
      `<script>alert("type")</script>`,
    );
    await page.goto(`${base}/#/queues/hostile/tasks/${info.id}`);
    await expect.poll(() => page.locator('[data-field="payload"] pre').textContent()).toBe(hostile);
    expect(await page.locator("#view img").count()).toBe(0);
    expect(await page.locator("#view script").count()).toBe(0);
    await screenshot(page, "hostile-payload");
    expect(problems).toEqual([]);
  });

  it("read-only: no mutating control, and the API answers 403", async () => {
    const info = await client.enqueue({ type: "t" }, { queue: "ro" });
    const base = await serve({ readOnly: true });
    const { page, problems } = await openPage();
    for (const hash of ["#/", "#/queues/ro?state=pending", `#/queues/ro/tasks/${info.id}`]) {
      await page.goto(`${base}/${hash}`);
      await expect.poll(() => page.locator("#view section").count()).toBe(1);
      expect(await page.locator("button, input[type=checkbox]").count(), hash).toBe(0);
    }
    expect(await page.locator("#mode").textContent()).toBe("read-only");
    await screenshot(page, "read-only");
    const status = await page.evaluate(
      async (path) => (await fetch(path, { method: "POST", headers: { "X-Asynq-Csrf": "x" } })).status,
      `/api/queues/ro/tasks/${info.id}/archive`,
    );
    expect(status).toBe(403);
    expect((await inspector.getTaskInfo("ro", info.id)).state).toBe("pending");
    // The browser logs the refused request itself.
    expect(problems.filter((p) => !p.includes("status of 403"))).toEqual([]);
  });

  it("without credentials the auth hook answers 401; with them the page works", async () => {
    await client.enqueue({ type: "t" }, { queue: "secured" });
    const hooked = await serveDashboard(url, { auth: (req) => req.headers["x-api-key"] === "k" });
    try {
      const anonymous = await openPage();
      const denied = await anonymous.page.goto(`${hooked.origin}/`);
      expect(denied?.status()).toBe(401);
      expect(await anonymous.page.locator("script").count()).toBe(0);
      const { page } = await openPage({ extraHTTPHeaders: { "x-api-key": "k" } });
      expect((await page.goto(`${hooked.origin}/`))?.status()).toBe(200);
      await expect.poll(() => page.locator('tr[data-queue="secured"]').count()).toBe(1);
    } finally {
      await hooked.close();
    }
    // Basic auth: the browser gets the challenge (headless chromium then fails the navigation), and
    // with credentials the page works.
    const base = await serve({ basicAuth: { username: "ops", password: "pw" } });
    expect((await fetch(`${base}/`)).status).toBe(401);
    const { page, problems } = await openPage({ httpCredentials: { username: "ops", password: "pw" } });
    expect((await page.goto(`${base}/`))?.status()).toBe(200);
    await expect.poll(() => page.locator('tr[data-queue="secured"]').count()).toBe(1);
    expect(problems).toEqual([]);
  });
});
