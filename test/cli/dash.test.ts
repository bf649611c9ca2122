// `asynq-ts dash` in a real terminal: the built binary runs in a detached tmux session of 80×24,
// driven with send-keys and read with capture-pane. It shows the queues, navigates to a queue's tasks
// and between states, shows servers, and quits.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../src/index.js";
import { useRedisFixture } from "../support/fixture.js";
import { builtCli } from "./support.js";

const { url } = useRedisFixture();
let cli = "";
let session = "";

beforeAll(async () => {
  cli = await builtCli();
}, 180_000);

afterEach(() => {
  if (session !== "") tmux("kill-session", "-t", session);
  session = "";
});

function tmux(...args: string[]): string {
  try {
    return execFileSync("tmux", args, { encoding: "utf8" });
  } catch {
    return "";
  }
}

const screen = (): string => tmux("capture-pane", "-p", "-t", session);

function keys(...names: string[]): void {
  tmux("send-keys", "-t", session, ...names);
}

describe("dash", () => {
  it("shows the queues in 80×24, opens a queue's tasks, switches state, shows servers, quits", async () => {
    const client = new Client(url);
    const scheduled = await client.enqueue(
      { type: "report:daily", payload: "later" },
      { queue: "alpha", processIn: 3_600_000 },
    );
    const pending = await client.enqueue(
      { type: "email:\u001b[31msend", payload: '{"to":"x"}' },
      { queue: "alpha" },
    );
    await client.enqueue({ type: "other" }, { queue: "beta" });
    await client.close();

    session = `asynq-ts-dash-${randomUUID().slice(0, 8)}`;
    const command = `REDIS_URL='${url}' '${process.execPath}' '${cli}' dash --refresh 0.3; sleep 30`;
    execFileSync("tmux", ["new-session", "-d", "-s", session, "-x", "80", "-y", "24", command]);

    await expect.poll(screen, { timeout: 10_000 }).toMatch(/^alpha\s+2\s+1\s+0\s+1\s/m);
    const first = screen();
    expect(first).toMatch(/^asynq-ts dash\s+127\.0\.0\.1:\d+\/\d+\s+queues/m);
    expect(first).toMatch(/^Queue\s+Size\s+Pend\s+Actv\s+Schd\s+Rtry\s+Arch\s+Done\s+Proc\s+Fail$/m);
    expect(first).toMatch(/^beta\s+1\s+1\s/m);
    expect(first).toMatch(/q quit/);
    expect(first.split("\n").every((line) => line.length <= 80)).toBe(true);

    keys("Enter");
    await expect
      .poll(screen, { timeout: 10_000 })
      .toMatch(new RegExp(`^${pending.id}\\s+email:\\\\x1b\\[31msend\\s+\\{"to":"x"\\}`, "m"));
    expect(screen()).toMatch(/queue alpha/);
    expect(screen()).toMatch(/pending\(1\)/);

    keys("Right", "Right");
    await expect
      .poll(screen, { timeout: 10_000 })
      .toMatch(new RegExp(`^${scheduled.id}\\s+report:daily\\s+later`, "m"));

    keys("Escape");
    await expect.poll(screen, { timeout: 10_000 }).toMatch(/^Queue\s+Size/m);
    keys("Down", "Enter");
    await expect.poll(screen, { timeout: 10_000 }).toMatch(/queue beta/);
    await expect.poll(screen, { timeout: 10_000 }).toMatch(/^[0-9a-f-]{36}\s+other/m);

    keys("s");
    await expect.poll(screen, { timeout: 10_000 }).toMatch(/No running servers\./);
    keys("c");
    await expect.poll(screen, { timeout: 10_000 }).toMatch(/No scheduler entries\./);

    keys("q");
    await expect.poll(screen, { timeout: 10_000 }).not.toMatch(/asynq-ts dash/);
  }, 60_000);
});
