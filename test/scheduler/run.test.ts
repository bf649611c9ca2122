// scheduler.run() and manager.run() in a real child process (test/fixtures/scheduler-run.ts): SIGTERM and
// SIGINT shut it down as Server.run() does; its entries are removed and the process exits 0 by itself.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as keys from "../../src/wire/keys.js";
import { useRedisFixture } from "../support/fixture.js";
import { waitFor } from "../support/server.js";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FIXTURE = fileURLToPath(new URL("../fixtures/scheduler-run.ts", import.meta.url));
const { redis, url } = useRedisFixture();

describe("run()", () => {
  it.each([
    ["scheduler", "SIGTERM"],
    ["scheduler", "SIGINT"],
    ["manager", "SIGTERM"],
  ] as const)("%s: %s shuts it down and the process exits 0", async (mode, signal) => {
    const child = spawn(process.execPath, ["--import", "tsx", FIXTURE], {
      cwd: REPO_ROOT,
      env: { ...process.env, REDIS_URL: url, MODE: mode },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      // The registry member is written just before the list: wait for both.
      const key = await waitFor(
        async () => {
          const [k] = await redis.zrange(keys.ALL_SCHEDULERS, 0, -1);
          return k !== undefined && (await redis.llen(k)) === 1 ? k : undefined;
        },
        "the entries",
        { timeoutMs: 20_000 },
      );
      child.kill(signal);
      expect(await exited).toBe(0);
      expect(output).toContain(`${signal} received: shutting down`);
      expect(output).toContain('"event":"run-resolved"');
      expect(await redis.exists(key)).toBe(0);
      expect(await redis.zcard(keys.ALL_SCHEDULERS)).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
