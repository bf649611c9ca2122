// Helpers of the sandbox tests: the fixture module, sandboxes closed after each test, a log file the
// fixture handlers append to (the `log` header), and a hand-made TaskContext for direct calls.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, onTestFinished } from "vitest";
import type { ResultValue, TaskContext } from "../../src/server/context.js";
import type { HandlerTask } from "../../src/server/mux.js";
import { sandboxed, type SandboxedHandler, type SandboxOptions } from "../../src/sandbox/sandboxed.js";

/** The fixture module: what its handler does depends on the task type (fixtures/behaviors.mjs). */
export const BEHAVIORS = new URL("./fixtures/behaviors.mjs", import.meta.url);

/** A sandbox of `module` (the behaviors fixture by default), closed when the test finishes. */
export function sandbox(options?: SandboxOptions, module: string | URL = BEHAVIORS): SandboxedHandler {
  const handler = sandboxed(module, options);
  onTestFinished(() => handler.close());
  return handler;
}

const dir = mkdtempSync(join(tmpdir(), "asynq-ts-sandbox-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** This file's scratch folder (removed after its tests). */
export const logDir = (): string => dir;

/** A new log file for the fixture handlers, and a reader of its lines. */
export function logFile(): { path: string; lines: () => string[] } {
  const path = join(dir, `log-${++files}.txt`);
  return {
    path,
    lines: () => {
      try {
        return readFileSync(path, "utf8").split("\n").filter(Boolean);
      } catch {
        return [];
      }
    },
  };
}

/** A task for a direct call. */
export function task(type: string, payload = "", headers: Record<string, string> = {}): HandlerTask {
  return { type, payload: new TextEncoder().encode(payload), headers };
}

/** A TaskContext for a direct call: its controller, and what its result writer received. */
export function context(id = "task-1"): {
  ctx: TaskContext;
  controller: AbortController;
  written: Uint8Array[];
  progressed: unknown[];
} {
  const controller = new AbortController();
  const written: Uint8Array[] = [];
  const progressed: unknown[] = [];
  const ctx: TaskContext = {
    id,
    queue: "default",
    retryCount: 2,
    maxRetry: 5,
    deadline: new Date(Date.now() + 60_000),
    signal: controller.signal,
    result: {
      write: (value: ResultValue) => {
        const bytes = value as Uint8Array;
        written.push(bytes);
        return Promise.resolve(bytes.length);
      },
    },
    progress: (value: unknown) => {
      progressed.push(value);
      return Promise.resolve();
    },
  };
  return { ctx, controller, written, progressed };
}

/** The text of written bytes. */
export const text = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? []).toString("utf8");

/**
 * Waits until a `never` handler's ticks (every 10 ms while its thread lives) have stopped: no new
 * line for 300 ms, within 5 s.
 */
export async function ticksStop(log: { lines: () => string[] }): Promise<void> {
  const until = Date.now() + 5000;
  let count = log.lines().length;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const now = log.lines().length;
    if (now === count) return;
    if (Date.now() > until) throw new Error("the handler's thread is still ticking");
    count = now;
  }
}
