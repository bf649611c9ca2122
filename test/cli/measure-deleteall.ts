// Measures `asynq-ts task deleteall` of 100,000 archived tasks: the built binary (dist/cli.cjs, so run
// `npm run build` first) as a child process, wall time from spawn to exit, progress lines included.
// Not a test: run by hand against a Redis DB it may flush,
//   REDIS_URL=redis://127.0.0.1:6379/15 node --import tsx test/cli/measure-deleteall.ts
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { seedArchived } from "./seed.js";

const url = process.env.REDIS_URL;
if (url === undefined || !/\/\d+$/.test(url)) throw new Error("REDIS_URL with a DB index is required");
const N = Number(process.env.N ?? "100000");
const cli = fileURLToPath(new URL("../../dist/cli.cjs", import.meta.url));

const redis = new Redis(url);
await redis.flushdb();
const seeding = Date.now();
await seedArchived(url, "measure", N);
console.log(`seeded ${N} archived tasks in ${Date.now() - seeding} ms`);

const started = performance.now();
const code = await new Promise<number | null>((resolve) => {
  const child = spawn(process.execPath, [cli, "task", "deleteall", "-q", "measure", "-s", "archived"], {
    env: { ...process.env, REDIS_URL: url },
    stdio: ["ignore", "inherit", "inherit"],
  });
  child.on("exit", resolve);
});
const ms = performance.now() - started;
console.log(
  `deleteall exited ${code} after ${ms.toFixed(0)} ms; archived left: ${await redis.zcard("asynq:{measure}:archived")}`,
);
await redis.flushdb();
redis.disconnect();
