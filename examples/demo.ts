// The demo: finds or starts a Redis, runs a worker server with a few realistic handlers (some fail
// and retry, one has a deadline that expires), keeps enqueuing, and prints a live summary of queue
// sizes, throughput and outcomes until Ctrl-C, or for a set time (`npm run demo -- --seconds 30`, or
// DEMO_SECONDS=30), then shuts down gracefully.
import { parseArgs } from "node:util";
import {
  Client,
  Inspector,
  Server,
  ServeMux,
  SkipRetry,
  TaskExpiredError,
  type QueueSizes,
} from "../src/index.js";
import { ensureRedis } from "../tools/redis.js";

const db = Number(process.env.DEMO_DB ?? "0");
const { values: args } = parseArgs({ options: { seconds: { type: "string", short: "s" } } });
const seconds = Number(args.seconds ?? process.env.DEMO_SECONDS ?? "0"); // 0 = until Ctrl-C
if (!Number.isFinite(seconds) || seconds < 0) {
  console.error(`--seconds must be a number of seconds >= 0 (0 = until Ctrl-C), got ${String(args.seconds)}`);
  process.exit(2);
}
const redis = await ensureRedis((line) => console.log(`[redis] ${line}`));
const url = `${redis.url.replace(/\/\d*$/, "")}/${db}`;
const queues = { critical: 6, default: 3, low: 1 };

const outcomes = { succeeded: 0, failed: 0, expired: 0, skipped: 0 };
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    });
  });
const json = (payload: Uint8Array) =>
  JSON.parse(Buffer.from(payload).toString("utf8")) as Record<string, unknown>;

const mux = new ServeMux();
mux.use((next) => async (task, ctx) => {
  await next(task, ctx);
  outcomes.succeeded++;
});
mux.handle("email:welcome", async (_task, ctx) => {
  await sleep(20 + Math.random() * 60, ctx.signal); // talk to the mail service
});
mux.handle("image:resize", async (task, ctx) => {
  await sleep(50 + Math.random() * 150, ctx.signal);
  if (Math.random() < 0.3) throw new Error(`resize of ${String(json(task.payload).src)} timed out upstream`);
  await ctx.result.write({ width: json(task.payload).width, bytes: 48_213 });
});
mux.handle("report:daily", async (task, ctx) => {
  if (json(task.payload).broken === true) throw new SkipRetry("report template is missing");
  await sleep(100, ctx.signal);
});
mux.handle("invoice:send", async (_task, ctx) => {
  await sleep(30, ctx.signal); // only reached when started before its deadline
});

const server = new Server(url, {
  concurrency: 8,
  queues,
  logLevel: "error", // the live summary below counts failures and expiries; each would be a warn line
  retryDelay: (retried) => 1000 * (retried + 1), // fast retries for the demo (asynq's default is minutes)
  errorHandler: (error) => {
    if (error instanceof TaskExpiredError) outcomes.expired++;
    else if (error instanceof SkipRetry) outcomes.skipped++;
    else outcomes.failed++;
  },
});
const client = new Client(url);
const inspector = new Inspector(url);

await server.start(mux);
const until = seconds > 0 ? `for ${seconds} s (Ctrl-C stops it sooner)` : "until Ctrl-C";
console.log(`\nServer running on ${url} with queues critical:6, default:3, low:1, ${until}.\n`);

let enqueued = 0;
const producer = setInterval(() => {
  const now = Date.now();
  const batch = [
    { type: "email:welcome", payload: { userId: enqueued }, options: { queue: "default" } },
    {
      type: "image:resize",
      payload: { src: `s3://photos/${enqueued}.png`, width: 640 },
      options: { queue: "critical", maxRetry: 3 },
    },
    { type: "report:daily", payload: { broken: enqueued % 25 === 0 }, options: { queue: "low" } },
    // Scheduled after its own deadline: it can never start in time, so it expires (never retried).
    {
      type: "invoice:send",
      payload: { invoice: enqueued },
      options: { processIn: 1500, deadline: now + 1000 },
    },
  ];
  client
    .enqueueBatch(batch)
    .then((results) => (enqueued += results.filter((r) => r.ok).length))
    .catch((error: unknown) => console.error(`enqueue failed: ${String(error)}`));
}, 250);

let last = { at: Date.now(), done: 0 };
const report = setInterval(() => {
  void (async () => {
    const sizes: Record<string, QueueSizes> = {};
    for (const q of Object.keys(queues)) sizes[q] = await inspector.queueSizes(q).catch(() => emptySizes());
    const done = outcomes.succeeded + outcomes.failed + outcomes.expired + outcomes.skipped;
    const rate = ((done - last.done) * 1000) / Math.max(1, Date.now() - last.at);
    last = { at: Date.now(), done };
    const line = Object.entries(sizes)
      .map(([q, s]) => `${q}: ${s.pending}p ${s.active}a ${s.scheduled}s ${s.retry}r ${s.archived}x`)
      .join(" | ");
    console.log(
      `${line} || ${rate.toFixed(0)}/s  ok ${outcomes.succeeded}  failed ${outcomes.failed}  ` +
        `expired ${outcomes.expired}  skipped ${outcomes.skipped}  (enqueued ${enqueued})`,
    );
  })();
}, 1000);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(producer);
  clearInterval(report);
  console.log("\nShutting down: running tasks get up to 8 s, the rest go back to their queues…");
  await server.shutdown();
  await client.close();
  await inspector.close();
  await redis.stop();
  console.log("Bye.");
}
process.once("SIGINT", () => void stop());
process.once("SIGTERM", () => void stop());
if (seconds > 0) setTimeout(() => void stop(), seconds * 1000);

function emptySizes(): QueueSizes {
  return {
    pending: 0,
    active: 0,
    scheduled: 0,
    retry: 0,
    archived: 0,
    completed: 0,
    aggregating: 0,
    size: 0,
    paused: false,
  };
}
