// asynq-ts/metrics on a real Redis: the queue gauges (asynq's x/metrics names and labels) equal the
// Inspector's figures, read once per scrape; the per-server metrics count and time each outcome by type.
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { SkipRetry } from "../../src/errors.js";
import { Inspector } from "../../src/inspector/inspector.js";
import {
  registerQueueMetrics,
  registerServerMetrics,
  QUEUE_METRICS,
  SERVER_METRICS,
} from "../../src/metrics/index.js";
import { useRedisFixture } from "../support/fixture.js";
import { startServer, waitFor } from "../support/server.js";

const { redis, url, client } = useRedisFixture({ client: true });

type Sample = { labels: Record<string, string | number>; value: number; metricName?: string };

async function samples(registry: Registry, name: string): Promise<Sample[]> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  return (await metric.get()).values as Sample[];
}

const valueOf = (list: Sample[], labels: Record<string, string>): number | undefined =>
  list.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe("queue metrics", () => {
  it("equal the Inspector's figures, with asynq's names and labels", async () => {
    for (let i = 0; i < 3; i++) await client.enqueue({ type: "a" }, { queue: "default" });
    await client.enqueue({ type: "b" }, { queue: "critical", processIn: 60_000 });
    await client.enqueue({ type: "c" }, { queue: "critical", group: "g1" });
    await client.enqueue({ type: "d" }, { queue: "low", taskId: "x" });
    const inspector = new Inspector(url);
    try {
      await inspector.archiveTask("low", "x");
      await inspector.pauseQueue("low");
      const registry = new Registry();
      let reads = 0;
      const source = {
        getQueueInfos: () => {
          reads++;
          return inspector.getQueueInfos();
        },
      };
      registerQueueMetrics(source, { registry });
      const text = await registry.metrics();
      expect(reads).toBe(1); // one read per scrape, shared by every metric
      const infos = await inspector.getQueueInfos();
      expect(infos.map((i) => i.queue)).toEqual(["critical", "default", "low"]);

      for (const name of Object.values(QUEUE_METRICS)) expect(text).toContain(`# TYPE ${name} `);
      expect(text).toContain(`# TYPE ${QUEUE_METRICS.processed} counter`);
      expect(text).toContain(`# TYPE ${QUEUE_METRICS.tasksEnqueued} gauge`);

      const enqueued = await samples(registry, QUEUE_METRICS.tasksEnqueued);
      for (const info of infos) {
        for (const state of [
          "active",
          "pending",
          "scheduled",
          "retry",
          "archived",
          "completed",
          "aggregating",
        ] as const) {
          expect(valueOf(enqueued, { queue: info.queue, state })).toBe(info[state]);
        }
        const q = { queue: info.queue };
        expect(valueOf(await samples(registry, QUEUE_METRICS.queueSize), q)).toBe(info.size);
        expect(valueOf(await samples(registry, QUEUE_METRICS.latency), q)).toBeCloseTo(
          info.latency / 1000,
          0,
        );
        expect(valueOf(await samples(registry, QUEUE_METRICS.memory), q)).toBe(info.memoryUsage);
        expect(valueOf(await samples(registry, QUEUE_METRICS.processed), q)).toBe(info.processedTotal);
        expect(valueOf(await samples(registry, QUEUE_METRICS.failed), q)).toBe(info.failedTotal);
        expect(valueOf(await samples(registry, QUEUE_METRICS.paused), q)).toBe(info.paused ? 1 : 0);
      }
      expect(text).toContain('asynq_tasks_enqueued_total{queue="default",state="pending"} 3');
      expect(text).toContain('asynq_tasks_enqueued_total{queue="critical",state="scheduled"} 1');
      expect(text).toContain('asynq_tasks_enqueued_total{queue="critical",state="aggregating"} 1');
      expect(text).toContain('asynq_tasks_enqueued_total{queue="low",state="archived"} 1');
      expect(text).toContain('asynq_queue_paused_total{queue="low"} 1');
      expect(text).toContain('asynq_queue_size{queue="critical"} 2');
      expect(valueOf(await samples(registry, QUEUE_METRICS.memory), { queue: "default" })).toBeGreaterThan(0);

      // `queues` narrows; a queue removed between scrapes leaves the metrics.
      const narrow = new Registry();
      registerQueueMetrics(inspector, { registry: narrow, queues: ["low"] });
      expect((await samples(narrow, QUEUE_METRICS.queueSize)).map((s) => s.labels.queue)).toEqual(["low"]);
      await inspector.deleteQueue("low", { force: true });
      expect((await samples(narrow, QUEUE_METRICS.queueSize)).length).toBe(0);
    } finally {
      await inspector.close();
    }
  });
});

describe("server metrics", () => {
  it("count and time each outcome by type; in flight from the server", async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const registry = new Registry();
    let metrics: ReturnType<typeof registerServerMetrics> | undefined;
    // Registered before start(), as the docs advise: a dequeue asks for the tasks' pending time only
    // while someone listens, and the first one is sent as start() resolves.
    const { server } = await startServer(
      redis,
      async (task) => {
        if (task.type === "slow") await held;
        if (task.type === "bad") throw new SkipRetry("no");
        if (task.type === "flaky") throw new Error("again");
      },
      { concurrency: 4 },
      (s) => void (metrics = registerServerMetrics(s, { registry })),
    );
    await client.enqueue({ type: "slow" });
    await waitFor(() => server.running === 1, "the slow task to run");
    expect(valueOf(await samples(registry, SERVER_METRICS.inFlight), {})).toBe(1);
    for (let i = 0; i < 3; i++) await client.enqueue({ type: "ok" });
    await client.enqueue({ type: "bad" });
    await client.enqueue({ type: "flaky" }, { maxRetry: 3 });
    release();
    const outcomes = async () => samples(registry, SERVER_METRICS.outcomes);
    await waitFor(async () => (await outcomes()).reduce((n, s) => n + s.value, 0) === 6, "six outcomes");
    const counted = await outcomes();
    expect(valueOf(counted, { type: "ok", outcome: "completed" })).toBe(3);
    expect(valueOf(counted, { type: "slow", outcome: "completed" })).toBe(1);
    expect(valueOf(counted, { type: "bad", outcome: "archived" })).toBe(1);
    expect(valueOf(counted, { type: "flaky", outcome: "retry" })).toBe(1);

    const histogram = await samples(registry, SERVER_METRICS.duration);
    const count = (type: string, outcome: string): number | undefined =>
      histogram.find(
        (s) =>
          s.metricName === `${SERVER_METRICS.duration}_count` &&
          s.labels.type === type &&
          s.labels.outcome === outcome,
      )?.value;
    expect(count("ok", "completed")).toBe(3);
    expect(count("bad", "archived")).toBe(1);
    // Every task waited in pending before it started: one wait observed per start, by queue.
    const waits = await samples(registry, SERVER_METRICS.wait);
    const waitCount = waits.find(
      (s) => s.metricName === `${SERVER_METRICS.wait}_count` && s.labels.queue === "default",
    )?.value;
    expect(waitCount).toBe(6); // slow, 3 ok, bad, flaky (its retry is not due yet)
    const text = await registry.metrics();
    expect(text).toContain(`# TYPE ${SERVER_METRICS.duration} histogram`);
    expect(text).toMatch(
      /asynq_handler_duration_seconds_bucket\{le="0\.005",type="ok",outcome="completed"\} \d/,
    );
    await waitFor(() => server.running === 0, "the tasks to leave");
    expect(valueOf(await samples(registry, SERVER_METRICS.inFlight), {})).toBe(0);

    metrics!.unregister();
    expect(server.listenerCount("completed")).toBe(0);
    expect(registry.getSingleMetric(SERVER_METRICS.duration)).toBeUndefined();
  });
});
