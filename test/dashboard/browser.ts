// Chromium for the dashboard's end-to-end tests: playwright-core driving Debian's chromium
// (/usr/bin/chromium; CHROMIUM_PATH overrides), headless. Screenshots go to scratch/dashboard-e2e/
// (gitignored; DASHBOARD_SCREENSHOTS overrides), never committed.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContextOptions, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll } from "vitest";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS =
  process.env.DASHBOARD_SCREENSHOTS ??
  join(fileURLToPath(new URL("../../", import.meta.url)), "scratch", "dashboard-e2e");

/** An open page and what went wrong in it: script errors, dialogs, console errors (CSP violations). */
export interface OpenPage {
  page: Page;
  problems: string[];
}

/**
 * Registers the hooks of a file's browser: launched before its tests, each test's pages closed after
 * it, the browser closed after the file. Returns `openPage` and `screenshot`.
 */
export function useBrowser(): {
  openPage: (options?: BrowserContextOptions) => Promise<OpenPage>;
  screenshot: (page: Page, name: string) => Promise<void>;
} {
  let browser: Browser | undefined;
  const pages: Page[] = [];
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  }, 60_000);
  afterEach(async () => {
    for (const page of pages.splice(0)) await page.context().close();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    openPage: async (options = {}) => {
      const context = await browser!.newContext(options);
      const page = await context.newPage();
      pages.push(page);
      const problems: string[] = [];
      page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
      page.on("dialog", (dialog) => {
        problems.push(`dialog: ${dialog.message()}`);
        void dialog.dismiss();
      });
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(`console: ${message.text()}`);
      });
      return { page, problems };
    },
    screenshot: async (page, name) => {
      await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    },
  };
}
