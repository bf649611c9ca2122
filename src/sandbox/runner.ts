// The thread side of a sandboxed handler: loads the handler module once, then runs one task at a
// time as the parent asks, with a context like TaskContext whose signal follows the parent's and
// whose result writer goes through the parent. Started by thread.ts as a worker thread's main module
// (from dist/sandbox-runner.cjs in the package, from this file under tsx in the repository).
import { createRequire } from "node:module";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { parentPort, workerData } from "node:worker_threads";
import { AsynqError, TaskAbortedError, type AbortReason } from "../errors.js";
import { encodePayload } from "../client/payload.js";
import { progressJson, type ResultValue, type TaskContext } from "../server/context.js";
import type { Handler, HandlerTask } from "../server/mux.js";
import { fromWireError, toWireError, type FromThread, type RunnerData, type ToThread } from "./protocol.js";

const port = parentPort;
if (port === null) throw new Error("src/sandbox/runner is a worker thread's main module, not a library");
const { moduleUrl, exportName } = workerData as RunnerData;

/** The attempt running now (one at a time): its signal's controller and its pending result writes. */
interface Attempt {
  readonly id: string;
  readonly controller: AbortController;
  readonly writes: Map<number, { resolve: (bytes: number) => void; reject: (error: Error) => void }>;
}
let attempt: Attempt | undefined;
let nextSeq = 0;

function send(message: FromThread, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

/** The handler export: `exportName` when given, else `default`, else `handler` (CommonJS too). */
function pickHandler(mod: Record<string, unknown>): Handler | string {
  if (exportName !== undefined) {
    const named = mod[exportName];
    return typeof named === "function" ? (named as Handler) : `its export "${exportName}" is not a function`;
  }
  const cjs = mod.default as Record<string, unknown> | undefined;
  for (const candidate of [mod.default, mod.handler, cjs?.default, cjs?.handler]) {
    if (typeof candidate === "function") return candidate as Handler;
  }
  return "it exports no handler: export default a function (task, ctx) => …, or export one named handler";
}

/**
 * Imports the module. A file type Node cannot import (`.ts`) is required instead when a require hook
 * for it is registered in the thread (e.g. `execArgv: ["--require", "tsx/cjs"]`): Node 20 does not
 * apply `--import` module hooks in worker threads, but a require hook is the thread's own.
 */
async function importModule(): Promise<Record<string, unknown>> {
  try {
    return (await import(moduleUrl)) as Record<string, unknown>;
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ERR_UNKNOWN_FILE_EXTENSION") throw error;
    const require = createRequire(moduleUrl);
    const path = fileURLToPath(moduleUrl);
    if (!(extname(path) in require.extensions)) throw error;
    return require(path) as Record<string, unknown>;
  }
}

async function load(): Promise<Handler | undefined> {
  let mod: Record<string, unknown>;
  try {
    mod = await importModule();
  } catch (error) {
    send({ kind: "load-failed", reason: "cannot be loaded", error: toWireError(error) });
    return undefined;
  }
  const handler = pickHandler(mod);
  if (typeof handler === "string") {
    send({ kind: "load-failed", reason: handler });
    return undefined;
  }
  send({ kind: "ready" });
  return handler;
}

const loaded = load();

async function run(message: Extract<ToThread, { kind: "run" }>): Promise<void> {
  const current: Attempt = { id: message.ctx.id, controller: new AbortController(), writes: new Map() };
  attempt = current;
  const task: HandlerTask = { type: message.type, payload: message.payload, headers: message.headers };
  const { ctx } = message;
  const context: TaskContext = {
    id: ctx.id,
    queue: ctx.queue,
    retryCount: ctx.retryCount,
    maxRetry: ctx.maxRetry,
    deadline: new Date(ctx.deadline),
    signal: current.controller.signal,
    result: { write: (value) => write(current, value) },
    progress: (value) => progress(current, value),
  };
  try {
    const handler = await loaded;
    if (handler === undefined) return; // the parent was told, and ends this thread
    await handler(task, context);
    if (attempt === current) send({ kind: "done" });
  } catch (error) {
    if (attempt === current) send({ kind: "done", error: toWireError(error) });
  } finally {
    if (attempt === current) attempt = undefined;
  }
}

/** `ctx.progress`: checked for a JSON form here (as in-process), stored through the parent. */
async function progress(current: Attempt, value: unknown): Promise<void> {
  if (attempt !== current || current.controller.signal.aborted) {
    throw new AsynqError(
      "ERR_PROGRESS_AFTER_DONE",
      "failed to report progress: the task is no longer running",
      {
        op: "ctx.progress",
      },
    );
  }
  const json = progressJson(value);
  const seq = nextSeq++;
  return new Promise<void>((resolve, reject) => {
    current.writes.set(seq, { resolve: () => resolve(), reject });
    send({ kind: "progress", seq, json });
  });
}

/** `ctx.result.write`: encodes here (the same ValidationError as in-process), writes through the parent. */
function write(current: Attempt, value: ResultValue): Promise<number> {
  if (attempt !== current || current.controller.signal.aborted) {
    return Promise.reject(
      new AsynqError("ERR_RESULT_AFTER_DONE", "failed to write task result: the task is no longer running", {
        op: "result.write",
      }),
    );
  }
  let bytes: Uint8Array | undefined;
  try {
    bytes = encodePayload(value, "result");
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
  if (bytes === undefined) {
    return Promise.reject(
      new AsynqError("ERR_VALIDATION", "invalid result (undefined): a result value is required", {
        op: "result.write",
      }),
    );
  }
  // A copy of exactly these bytes (a Buffer may view a larger shared pool), moved, not cloned.
  const copy = new Uint8Array(bytes);
  const seq = nextSeq++;
  return new Promise<number>((resolve, reject) => {
    current.writes.set(seq, { resolve, reject });
    send({ kind: "write", seq, bytes: copy }, [copy.buffer]);
  });
}

port.on("message", (message: ToThread) => {
  switch (message.kind) {
    case "run":
      void run(message);
      return;
    case "abort": {
      if (attempt === undefined) return;
      // The thread's own TaskAbortedError (the class a handler module compares with `instanceof`
      // when it loads the same copy of asynq-ts), with the parent's reason.
      const { reason } = message;
      const aborted =
        reason.code === "ERR_TASK_ABORTED"
          ? new TaskAbortedError((reason.reason ?? "canceled") as AbortReason, attempt.id)
          : fromWireError(reason);
      attempt.controller.abort(aborted);
      return;
    }
    case "written": {
      const pending = attempt?.writes.get(message.seq);
      if (pending === undefined) return;
      attempt?.writes.delete(message.seq);
      if (message.error !== undefined) pending.reject(fromWireError(message.error));
      else pending.resolve(message.bytes ?? 0);
      return;
    }
  }
});
