// `asynq-ts queue ...` and `task ...` (built binary, real Redis): every command of asynq's, with --json.
import { ServeMux, Server, type Client, type Inspector } from "../../src/index.js";
import { beforeAll, describe, expect, it } from "vitest";
import { useRedisFixture } from "../support/fixture.js";
import { QUEUE_JSON_FIELDS } from "../support/queue-json.js";
import { builtCli, cliJson, enqueueOn, inspectOn, isOneLineError, runCli } from "./support.js";

const { url } = useRedisFixture();
const enqueue = (...args: Parameters<Client["enqueue"]>) => enqueueOn(url, ...args);
const withInspector = <T>(fn: (inspector: Inspector) => Promise<T>): Promise<T> => inspectOn(url, fn);

beforeAll(async () => {
  await builtCli();
}, 180_000);

describe("queue", () => {
  it("ls, inspect, history, pause, unpause, rm", async () => {
    await enqueue({ type: "a" }, { queue: "alpha" });
    await enqueue({ type: "b" }, { queue: "beta" });
    expect(await cliJson(["queue", "ls"])).toEqual(["alpha", "beta"]);
    expect((await runCli(["queue", "ls"])).stdout).toBe("alpha\nbeta\n");

    const [alpha] = await cliJson<Array<Record<string, unknown>>>(["queue", "inspect", "alpha"]);
    expect(alpha).toMatchObject({ queue: "alpha", size: 1, pending: 1, paused: false, processed: 0 });
    expect(Object.keys(alpha!)).toEqual(QUEUE_JSON_FIELDS);
    expect((await runCli(["queue", "inspect", "alpha", "beta"])).stdout).toMatch(
      /Name:\s+alpha[\s\S]*Name:\s+beta/,
    );

    const history = await cliJson<
      Array<{ queue: string; days: Array<{ date: string; processed: number; failed: number }> }>
    >(["queue", "history", "alpha", "--days", "3"]);
    expect(history).toHaveLength(1);
    expect(history[0]!.days).toHaveLength(3);
    expect(history[0]!.days[0]).toEqual({
      date: new Date().toISOString().slice(0, 10),
      processed: 0,
      failed: 0,
    });

    expect(await runCli(["queue", "pause", "alpha"])).toMatchObject({
      code: 0,
      stdout: 'Successfully paused queue "alpha"\n',
    });
    expect(await cliJson(["queue", "inspect", "alpha"])).toMatchObject([{ paused: true }]);
    const again = await runCli(["queue", "pause", "alpha"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already paused/);
    expect((await runCli(["queue", "unpause", "alpha"])).code).toBe(0);
    expect(await cliJson(["queue", "inspect", "alpha"])).toMatchObject([{ paused: false }]);

    const refused = await runCli(["queue", "rm", "alpha"]);
    expect(refused.code).toBe(1);
    expect(isOneLineError(refused.stderr), refused.stderr).toBe(true);
    const forced = await runCli(["queue", "rm", "--force", "alpha"]);
    expect(forced).toMatchObject({ code: 0 });
    expect(forced.stdout).toMatch(/removed queue "alpha" \(1 tasks deleted\)/);
    expect(await cliJson(["queue", "ls"])).toEqual(["beta"]);
  });
});

describe("task", () => {
  it("enqueue with every option, then inspect", async () => {
    const deadline = new Date(Date.now() + 86_400_000);
    deadline.setUTCMilliseconds(0);
    const info = await cliJson<Record<string, unknown>>([
      "task",
      "enqueue",
      "-t",
      "email:send",
      "--payload",
      '{"to":"a@b"}',
      "-q",
      "mail",
      "--max-retry",
      "3",
      "--timeout",
      "1m30s",
      "--deadline",
      deadline.toISOString(),
      "--process-in",
      "1h",
      "--unique",
      "10m",
      "--task-id",
      "id-1",
      "--retention",
      "2h",
      "-H",
      "trace=abc",
      "-H",
      "x=y=z",
    ]);
    expect(info).toMatchObject({
      id: "id-1",
      queue: "mail",
      type: "email:send",
      state: "scheduled",
      payload: { text: '{"to":"a@b"}', base64: Buffer.from('{"to":"a@b"}').toString("base64") },
      headers: { trace: "abc", x: "y=z" },
      maxRetry: 3,
      timeoutMs: 90_000,
      deadline: deadline.toISOString(),
      retentionMs: 7_200_000,
    });
    const inspected = await cliJson<Record<string, unknown>>(["task", "inspect", "-q", "mail", "-i", "id-1"]);
    expect(inspected).toEqual({ ...info, state: "scheduled" });
    const dup = await runCli([
      "task",
      "enqueue",
      "-t",
      "email:send",
      "--payload",
      '{"to":"a@b"}',
      "-q",
      "mail",
      "--unique",
      "10m",
    ]);
    expect(dup.code).toBe(1);
    expect(isOneLineError(dup.stderr), dup.stderr).toBe(true);

    const grouped = await runCli([
      "task",
      "enqueue",
      "-t",
      "agg",
      "-q",
      "mail",
      "-g",
      "batch",
      "--payload-hex",
      "00ff",
    ]);
    expect(grouped).toMatchObject({ code: 0 });
    expect(grouped.stdout).toMatch(/^Enqueued task [0-9a-f-]{36} \(aggregating\) in queue "mail"\n$/);
    expect(await cliJson(["group", "ls", "-q", "mail"])).toEqual([{ group: "batch", size: 1 }]);
    expect((await runCli(["group", "ls", "-q", "mail"])).stdout).toMatch(/^batch\s+1$/m);
    const [agg] = await cliJson<Array<Record<string, unknown>>>([
      "task",
      "ls",
      "-q",
      "mail",
      "-s",
      "aggregating",
      "-g",
      "batch",
    ]);
    expect(agg).toMatchObject({ type: "agg", group: "batch", payload: { base64: "AP8=", text: null } });
    const noGroup = await runCli(["task", "ls", "-q", "mail", "-s", "aggregating"]);
    expect(noGroup.code).toBe(2);

    const fromStdin = await cliJson<Record<string, unknown>>(
      ["task", "enqueue", "-t", "s", "--payload-file", "-", "-q", "mail"],
      {
        input: "from stdin",
      },
    );
    expect(fromStdin).toMatchObject({ state: "pending", payload: { text: "from stdin" } });
  });

  it("ls by state, archive, run, delete one task", async () => {
    const a = await enqueue({ type: "a", payload: "one" }, { queue: "q" });
    const b = await enqueue({ type: "b", payload: "two" }, { queue: "q", processIn: 600_000 });
    const pending = await cliJson<Array<{ id: string; state: string }>>([
      "task",
      "ls",
      "-q",
      "q",
      "-s",
      "pending",
    ]);
    expect(pending.map((t) => [t.id, t.state])).toEqual([[a.id, "pending"]]);
    const text = await runCli(["task", "ls", "-q", "q", "-s", "scheduled"]);
    expect(text.stdout).toMatch(/^ID\s+Type\s+Payload\s+Process In\s+Group$/m);
    expect(text.stdout).toMatch(new RegExp(`^${b.id}\\s+b\\s+two\\s+in (9m\\d+|10m0)s\\s*$`, "m"));
    expect((await runCli(["task", "ls", "-q", "q", "-s", "retry"])).stdout).toBe(
      'No retry tasks in queue "q".\n',
    );

    expect(await runCli(["task", "archive", "-q", "q", "-i", a.id])).toMatchObject({ code: 0 });
    expect(await cliJson(["task", "inspect", "-q", "q", "-i", a.id])).toMatchObject({ state: "archived" });
    const again = await runCli(["task", "archive", "-q", "q", "-i", a.id]);
    expect(again.code).toBe(1);
    expect(isOneLineError(again.stderr), again.stderr).toBe(true);
    expect((await runCli(["task", "ls", "-q", "q", "-s", "archived"])).stdout).toMatch(
      /^ID\s+Type\s+Payload\s+Last Failed\s+Last Error\s+Group$/m,
    );

    expect(await runCli(["task", "run", "-q", "q", "-i", a.id])).toMatchObject({ code: 0 });
    expect(await cliJson(["task", "inspect", "-q", "q", "-i", a.id])).toMatchObject({ state: "pending" });
    expect(await runCli(["task", "delete", "-q", "q", "-i", b.id])).toMatchObject({ code: 0 });
    expect((await runCli(["task", "inspect", "-q", "q", "-i", b.id])).code).toBe(1);

    const page2 = await cliJson<unknown[]>([
      "task",
      "ls",
      "-q",
      "q",
      "-s",
      "pending",
      "--page",
      "2",
      "--size",
      "1",
    ]);
    expect(page2).toEqual([]);
  });

  it("cancel asks the server running the task to abort it", async () => {
    let started: () => void = () => {};
    const running = new Promise<void>((resolve) => (started = resolve));
    const mux = new ServeMux().handle("long", async (_task, ctx) => {
      started();
      await new Promise<void>((resolve) =>
        ctx.signal.addEventListener("abort", () => resolve(), { once: true }),
      );
      throw new Error("aborted");
    });
    const server = new Server(url, { concurrency: 1, queues: { c: 1 }, logLevel: "error" });
    try {
      await server.start(mux);
      const task = await enqueue({ type: "long" }, { queue: "c", maxRetry: 0 });
      await running;
      const run = await runCli(["task", "cancel", task.id]);
      expect(run).toMatchObject({ code: 0, stdout: `Sent cancelation signal for task ${task.id}\n` });
      await expect
        .poll(() => withInspector(async (i) => (await i.getTaskInfo("c", task.id)).state), {
          timeout: 10_000,
        })
        .toBe("archived");
    } finally {
      await server.shutdown();
    }
  });
});
