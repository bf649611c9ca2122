// The bulk task commands (deleteall, archiveall, runall) of the built binary on a real Redis: what they
// do, their progress on stderr, and Ctrl-C, which stops them between two batches with every task either
// done or untouched.
import { spawn } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { Inspector } from "../../src/index.js";
import { useRedisFixture } from "../support/fixture.js";
import { seedArchived } from "./seed.js";
import { builtCli, cliJson, runCli } from "./support.js";

const { url } = useRedisFixture();

beforeAll(async () => {
  await builtCli();
}, 180_000);

async function sizes(queue: string) {
  const inspector = new Inspector(url);
  try {
    return await inspector.queueSizes(queue);
  } finally {
    await inspector.close();
  }
}

describe("bulk commands", () => {
  it("runall, archiveall and deleteall act on every task of the state and show progress", async () => {
    await seedArchived(url, "b", 3000);
    const run = await runCli(["task", "runall", "-q", "b", "-s", "archived"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('3,000 archived tasks of queue "b" moved to pending\n');
    expect(run.stderr).toMatch(/^running archived tasks of "b" \[-+\]\s+0% 0\/3,000$/m);
    expect(run.stderr).toMatch(/^running archived tasks of "b" \[#{30}\] 100% 3,000\/3,000$/m);
    expect(await sizes("b")).toMatchObject({ pending: 3000, archived: 0 });

    expect(await cliJson(["task", "archiveall", "-q", "b", "-s", "pending", "--no-progress"])).toEqual({
      queue: "b",
      state: "pending",
      archived: 3000,
    });
    expect(await sizes("b")).toMatchObject({ pending: 0, archived: 3000 });

    const del = await runCli(["task", "deleteall", "-q", "b", "-s", "archived"]);
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toBe('3,000 archived tasks of queue "b" deleted\n');
    expect(del.stderr).toMatch(/100% 3,000\/3,000$/m);
    expect(await sizes("b")).toMatchObject({ archived: 0 });
  });

  it("refuses a state the operation cannot apply to, an unknown queue, a missing group", async () => {
    const active = await runCli(["task", "deleteall", "-q", "b", "-s", "active"]);
    expect(active.code).toBe(2);
    expect(active.stderr).toMatch(/cannot delete all active tasks/);
    const unknown = await runCli(["task", "runall", "-q", "nope", "-s", "archived"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('error: queue "nope" not found\n');
    const group = await runCli(["task", "deleteall", "-q", "b", "-s", "aggregating"]);
    expect(group.code).toBe(2);
    expect(group.stderr).toMatch(/--group is required/);
  });

  it("Ctrl-C stops deleteall between batches: every task is deleted or untouched, the doctor finds nothing", async () => {
    const total = 100_000;
    await seedArchived(url, "big", total);
    const cli = await builtCli();
    const child = spawn(process.execPath, [cli, "task", "deleteall", "-q", "big", "-s", "archived"], {
      env: { ...process.env, REDIS_URL: url },
    });
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    // Once it has started (its first progress line), interrupt it.
    await expect.poll(() => stderr, { timeout: 10_000, interval: 10 }).toMatch(/0\/100,000/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code, stderr).toBe(130);
    expect(stdout).toBe("");
    const match =
      /interrupted: ([\d,]+) of 100,000 archived tasks deleted; the other ([\d,]+) are untouched/.exec(
        stderr,
      );
    expect(match, stderr).not.toBeNull();
    const deleted = Number(match![1]!.replace(/,/g, ""));
    const left = Number(match![2]!.replace(/,/g, ""));
    expect(deleted + left).toBe(total);
    expect(left).toBeGreaterThan(0);
    expect((await sizes("big")).archived).toBe(left);
    // Every task left has its hash, and no hash is left without its ID (a batch is applied whole).
    const doctor = await runCli(["doctor", "-q", "big"], { timeoutMs: 60_000 });
    expect(doctor.code, doctor.stdout).toBe(0);
  }, 60_000);
});
