// Sandboxed handlers under a real Server on a real Redis (issue 21, item 4): a handler that loops
// forever is terminated at its timeout and the next task runs; handlers that never settle no longer
// pile up at concurrency 1; cancelation and shutdown terminate the thread; a memory limit fails only
// its attempt; SkipRetry / RevokeTask from the thread steer the task; result.write reaches `result`.
import { describe, expect, it } from "vitest";
import type { SandboxedHandler } from "../../src/sandbox/sandboxed.js";
import type { Server } from "../../src/server/server.js";
import { useRedisFixture } from "../support/fixture.js";
import { readTask, startServer, stateOf, waitFor } from "../support/server.js";
import { logFile, sandbox, ticksStop } from "./support.js";

const Q = "default";
const { redis, client, inspector } = useRedisFixture({ client: true, inspector: true });

/** A sandbox with its thread started (so a 1 s timeout is not spent loading the module under tsx). */
async function warmSandbox(options?: Parameters<typeof sandbox>[0]): Promise<SandboxedHandler> {
  const handler = sandbox(options);
  await handler.ready();
  return handler;
}

/** When each task of `server` started and ended (ms), from its events. */
function timeline(server: Server): Map<string, { active?: number; failed?: number; completed?: number }> {
  const times = new Map<string, { active?: number; failed?: number; completed?: number }>();
  const at = (id: string) => times.get(id) ?? times.set(id, {}).get(id)!;
  server.on("active", (e) => void (at(e.id).active = Date.now()));
  server.on("failed", (e) => void (at(e.id).failed = Date.now()));
  server.on("completed", (e) => void (at(e.id).completed = Date.now()));
  return times;
}

async function enqueue(type: string, options: Parameters<typeof client.enqueue>[1] = {}, headers = {}) {
  return client.enqueue({ type, payload: "x", headers }, options);
}

describe("a sandboxed handler under a Server", () => {
  it("terminates a handler that loops forever at its timeout, and the next task runs", async () => {
    const handler = await warmSandbox();
    const looping = await enqueue("loop", { timeout: 1000, maxRetry: 0 });
    const next = await enqueue("context", { retention: 60_000 });
    const { server } = await startServer(redis, handler, { concurrency: 1 });
    const times = timeline(server);
    await waitFor(async () => (await stateOf(redis, Q, next.id)) === "completed", "the next task", {
      timeoutMs: 10_000,
    });
    const looped = await readTask(redis, Q, looping.id);
    expect(looped?.state).toBe("archived");
    expect(looped?.msg?.errorMsg).toBe("context deadline exceeded");
    const a = times.get(looping.id)!;
    const b = times.get(next.id)!;
    expect(b.active).toBeGreaterThanOrEqual(a.failed!);
    console.log(
      `[sandbox] looping task: ran ${a.failed! - a.active!} ms (timeout 1000 ms); the next task started ` +
        `${b.active! - a.failed!} ms after, completed ${b.completed! - a.failed!} ms after (abortGrace 200 ms)`,
    );
  });

  it("runs five handlers that never settle at concurrency 1 one after another, never two at once", async () => {
    const handler = await warmSandbox();
    const log = logFile();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await enqueue("never", { timeout: 2000, maxRetry: 0 }, { log: log.path })).id);
    let mostThreads = 0;
    const sampler = setInterval(() => (mostThreads = Math.max(mostThreads, handler.threads)), 5);
    try {
      await startServer(redis, handler, { concurrency: 1 });
      await waitFor(
        async () =>
          (await Promise.all(ids.map((id) => stateOf(redis, Q, id)))).every((s) => s === "archived"),
        "the five tasks to time out",
        { timeoutMs: 25_000 },
      );
    } finally {
      clearInterval(sampler);
    }
    // One thread running handler code, plus at most the spare loading to replace it once terminated.
    // (A thread's start counts towards its task's 2 s timeout: generous, for a loaded machine.)
    expect(mostThreads).toBeLessThanOrEqual(2);
    // Each line is the current task's: once a task started, no earlier task ticked again.
    const lines = log.lines().map((l) => l.split(" ") as [string, string, string]);
    let current = "";
    const started: string[] = [];
    for (const [kind, id] of lines) {
      if (kind === "start") started.push((current = id));
      else expect(id, `a tick of ${id} while ${current} runs`).toBe(current);
    }
    expect(started).toEqual(ids);
    expect(new Set(lines.map(([, , thread]) => thread)).size).toBe(5); // each thread was terminated
  });

  it("terminates the thread of a task canceled through Inspector.cancelProcessing", async () => {
    const handler = await warmSandbox();
    const log = logFile();
    const task = await enqueue("never", { timeout: 60_000 }, { log: log.path });
    await startServer(redis, handler, { concurrency: 1 });
    await waitFor(() => log.lines().length > 0, "the handler to start");
    // Repeated until heard: a cancel published before the server's subscription is up is lost.
    await waitFor(
      async () => {
        if ((await stateOf(redis, Q, task.id)) !== "active") return true;
        await inspector.cancelProcessing(task.id);
        return false;
      },
      "the cancelation",
      { intervalMs: 100 },
    );
    expect((await readTask(redis, Q, task.id))?.msg?.errorMsg).toBe("context canceled");
    await ticksStop(log);
  });

  it("fails only the attempt that reaches the memory limit; the next task runs in a new thread", async () => {
    const handler = await warmSandbox({ resourceLimits: { maxOldGenerationSizeMb: 64 } });
    const hog = await enqueue("oom", { maxRetry: 0 });
    const next = await enqueue("context", { retention: 60_000 });
    await startServer(redis, handler, { concurrency: 1 });
    await waitFor(async () => (await stateOf(redis, Q, next.id)) === "completed", "the next task", {
      timeoutMs: 20_000,
    });
    const failed = await readTask(redis, Q, hog.id);
    expect(failed?.state).toBe("archived");
    expect(failed?.msg?.errorMsg).toMatch(/^sandbox thread ran out of memory/);
    const seen = JSON.parse((await readTask(redis, Q, next.id))!.fields.result!) as { ran: number };
    expect(seen.ran).toBe(1);
  });

  it("archives at once on a SkipRetry from the thread, and deletes on a RevokeTask", async () => {
    const handler = await warmSandbox();
    const skipped = await enqueue("skip", { maxRetry: 5 });
    const revoked = await enqueue("revoke", { maxRetry: 5 });
    const failed = await enqueue("throw", { maxRetry: 5 });
    await startServer(redis, handler, { concurrency: 1, retryDelay: () => 3_600_000 });
    await waitFor(async () => (await stateOf(redis, Q, failed.id)) === "retry", "the failures");
    const skip = await readTask(redis, Q, skipped.id);
    expect(skip?.state).toBe("archived");
    expect(skip?.msg).toMatchObject({ errorMsg: "no such image: x", retried: 0 });
    expect(await readTask(redis, Q, revoked.id)).toBeNull();
    expect((await readTask(redis, Q, failed.id))?.msg?.errorMsg).toBe("card declined for x");
  });

  it("stores what ctx.result.write wrote in the thread in the task's result field", async () => {
    const handler = await warmSandbox();
    const task = await enqueue("result", { retention: 60_000 });
    const ctx = await enqueue("context", { retention: 60_000, maxRetry: 7 }, { tenant: "acme" });
    await startServer(redis, handler, { concurrency: 2 });
    await waitFor(async () => (await stateOf(redis, Q, ctx.id)) === "completed", "the tasks");
    await waitFor(async () => (await stateOf(redis, Q, task.id)) === "completed", "the tasks");
    expect((await readTask(redis, Q, task.id))?.fields.result).toBe("X");
    expect(JSON.parse((await readTask(redis, Q, ctx.id))!.fields.result!)).toMatchObject({
      id: ctx.id,
      queue: Q,
      retryCount: 0,
      maxRetry: 7,
      headers: { tenant: "acme" },
      payload: "x",
    });
  });

  it("at shutdown, puts a running task back in its queue and terminates its thread without hanging", async () => {
    const handler = await warmSandbox();
    const log = logFile();
    const task = await enqueue("never", { timeout: 60_000 }, { log: log.path });
    const { server } = await startServer(redis, handler, { concurrency: 1, shutdownTimeout: 500 });
    await waitFor(() => log.lines().length > 0, "the handler to start");
    await server.shutdown();
    expect(await stateOf(redis, Q, task.id)).toBe("pending");
    await ticksStop(log);
    expect(handler.threads).toBeLessThanOrEqual(1); // at most the idle replacement, unref'd
  });
});
