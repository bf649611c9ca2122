// The demo: finds or starts a Redis, enqueues a few realistic tasks the way an application would,
// and prints what was written and how big each queue now is. (Processing arrives with the Server.)
import { Client, DuplicateTaskError, Inspector, type TaskInfo } from "../src/index.js";
import { ensureRedis } from "../tools/redis.js";

const db = Number(process.env.DEMO_DB ?? "0");
const redis = await ensureRedis((line) => console.log(`[redis] ${line}`));
const url = `${redis.url.replace(/\/\d*$/, "")}/${db}`;
const client = new Client(url);
const inspector = new Inspector(url);

function show(info: TaskInfo): void {
  const when = info.nextProcessAt === null ? "" : ` next at ${info.nextProcessAt.toISOString()}`;
  const group = info.group === "" ? "" : ` group ${info.group}`;
  console.log(
    `  ${info.state.padEnd(11)} ${info.queue.padEnd(9)} ${info.type.padEnd(16)} id ${info.id}${when}${group}` +
      ` (maxRetry ${info.maxRetry}, timeout ${info.timeout / 1000}s)`,
  );
}

try {
  console.log(`\nEnqueuing demo tasks into ${url}:`);
  show(await client.enqueue({ type: "email:welcome", payload: { userId: 42, to: "ada@example.com" } }));
  show(
    await client.enqueue(
      { type: "image:resize", payload: { src: "s3://bucket/cat.png", width: 640 } },
      { queue: "critical", maxRetry: 5, timeout: 60_000 },
    ),
  );
  show(await client.enqueue({ type: "report:daily", payload: "2026-11-21" }, { processIn: 60 * 60 * 1000 }));
  show(
    await client.enqueue(
      { type: "invoice:send", payload: { invoice: 1001 } },
      { deadline: new Date(Date.now() + 10 * 60 * 1000), retention: 24 * 3600 * 1000 },
    ),
  );
  show(
    await client.enqueue({ type: "notify:digest", payload: { user: 7, event: "like" } }, { group: "user:7" }),
  );

  const unique = { type: "cache:warm", payload: { page: "/home" } };
  for (let attempt = 0; attempt < 2; attempt++) {
    // The second attempt (and the first, if the demo ran in the last 5 minutes) meets the lock.
    const info = await client
      .enqueue(unique, { unique: 5 * 60 * 1000, queue: "low" })
      .catch(rethrowUnlessDuplicate);
    if (info === undefined)
      console.log("  duplicate   low       cache:warm       rejected: task already exists (unique)");
    else show(info);
  }

  const batch = await client.enqueueBatch(
    Array.from({ length: 100 }, (_, i) => ({
      type: "thumbnail:make",
      payload: { photo: i },
      options: { queue: "low" },
    })),
  );
  console.log(
    `  batch: ${batch.filter((r) => r.ok).length} of ${batch.length} thumbnail tasks enqueued in one round trip`,
  );

  console.log("\nQueue sizes:");
  for (const queue of await inspector.queues()) {
    const s = await inspector.queueSizes(queue);
    console.log(
      `  ${queue.padEnd(9)} pending ${s.pending}, scheduled ${s.scheduled}, aggregating ${s.aggregating}, ` +
        `retry ${s.retry}, archived ${s.archived}, completed ${s.completed} (total ${s.size})`,
    );
  }
  console.log("\nGo asynq servers and the asynq CLI read these queues as they are (try: asynq queue ls).");
} finally {
  await client.close();
  await inspector.close();
  await redis.stop();
}

function rethrowUnlessDuplicate(error: unknown): undefined {
  if (error instanceof DuplicateTaskError) return undefined;
  throw error;
}
