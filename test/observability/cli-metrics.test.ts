// `asynq-ts metrics` from the built binary (test/cli/support.ts): serves asynq's queue metrics at
// /metrics on the port it prints, equal to the Inspector's figures, and stops on SIGINT with code 0.
import { describe, expect, it } from "vitest";
import { Inspector } from "../../src/index.js";
import { startServing } from "../cli/serving.js";
import { enqueueOn, runCli } from "../cli/support.js";
import { testRedisUrl } from "../support/redis.js";

describe("asynq-ts metrics", () => {
  it(
    "serves asynq's queue metrics, equal to the Inspector's, and stops on SIGINT",
    { timeout: 120_000 },
    async () => {
      const redis = testRedisUrl();
      for (let i = 0; i < 2; i++) await enqueueOn(redis, { type: "t" }, { queue: "cli-metrics" });
      await enqueueOn(redis, { type: "t" }, { queue: "cli-other", processIn: 60_000 });
      const server = await startServing("metrics", ["--queue", "cli-metrics"]);
      const inspector = new Inspector(redis);
      try {
        expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
        const res = await fetch(server.url);
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toContain("text/plain");
        const text = await res.text();
        const info = await inspector.getQueueInfo("cli-metrics");
        expect(text).toContain(
          `asynq_tasks_enqueued_total{queue="cli-metrics",state="pending"} ${info.pending}`,
        );
        expect(text).toContain(`asynq_queue_size{queue="cli-metrics"} ${info.size}`);
        expect(text).toContain(`asynq_tasks_processed_total{queue="cli-metrics"} ${info.processedTotal}`);
        expect(text).toContain(`asynq_queue_paused_total{queue="cli-metrics"} 0`);
        expect(text).not.toContain('queue="cli-other"');
        expect(text).toContain("process_cpu_seconds_total"); // the exporter's own process metrics
        expect((await fetch(server.url.replace(/\/metrics$/, "/other"))).status).toBe(404);
      } finally {
        await inspector.close();
        expect(await server.stop()).toBe(0);
      }
    },
  );

  it("refuses a bad port with a usage error", { timeout: 120_000 }, async () => {
    const port = await runCli(["metrics", "--port", "http"]);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain("--port");
  });
});
