import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // The conformance suite's own tests need a topology its runner starts (npm run test:conformance).
    exclude: [...configDefaults.exclude, "test/conformance/**"],
    globalSetup: ["test/support/global-setup.ts"],
    reporters: ["default", "./test/support/summary-reporter.ts"],
    pool: "forks",
    // Each worker owns one Redis DB index (test/support/redis.ts), so the count is capped.
    maxWorkers: 4,
    minWorkers: 1,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
