// Support of the dashboard tests that serve a dashboard of their own per test, beside Servers and
// Schedulers they start: one afterEach stops what the test started (last first), then closes its
// dashboard, so no test leaves a process or a port behind for the next one.
import { afterEach } from "vitest";
import { serveDashboard, type Served } from "./support.js";

/** What {@link useDashboardPerTest} gives a test file. */
export interface DashboardPerTest {
  /** Serves a dashboard on the file's Redis for the current test; resolves with its origin. */
  serve: (options?: Parameters<typeof serveDashboard>[1]) => Promise<string>;
  /** What to stop after the current test (before its dashboard closes), in the order it started. */
  cleanups: Array<() => Promise<void>>;
}

/** Registers the afterEach of a test file that serves the dashboard on `url`. */
export function useDashboardPerTest(url: string): DashboardPerTest {
  let served: Served | undefined;
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await served?.close();
    served = undefined;
  });
  return {
    cleanups,
    serve: async (options = {}) => {
      served = await serveDashboard(url, options);
      return served.origin;
    },
  };
}
