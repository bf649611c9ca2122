// An idle sandbox never keeps the process alive: a process whose Server has shut down exits by itself
// although it never closed its sandboxed handler (its idle threads are unref'd).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { testRedisUrl } from "../support/redis.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SCRIPT = fileURLToPath(new URL("./fixtures/idle-exit.ts", import.meta.url));

it("a process exits once its Server has shut down, with the sandbox's idle thread still open", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", SCRIPT], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL: testRedisUrl(), QUEUE: `sandbox-exit-${process.pid}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const killer = setTimeout(() => child.kill("SIGKILL"), 25_000);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(killer);
  expect(out).toContain("served; 1 idle thread(s) left open");
  expect(code, out).toBe(0);
});
