// sandboxed(): a Handler that runs a module's handler in a worker thread, so that an attempt cut short
// (timeout, deadline, cancelation, shutdown) can be stopped for real: its thread is terminated.
import type { TaskContext } from "../server/context.js";
import type { HandlerTask } from "../server/mux.js";
import { resolveSandboxOptions, type ResolvedSandboxOptions, type SandboxOptions } from "./options.js";
import { ThreadPool } from "./pool.js";
import { runnerLocation } from "./runner-location.js";
import type { SandboxThread } from "./thread.js";

export type { SandboxOptions } from "./options.js";

/**
 * A {@link Handler} whose work runs in worker threads; pass it wherever a Handler goes
 * (`server.start(handler)`, `mux.handle(pattern, handler)`). Its threads are made on demand and
 * kept between attempts; idle ones never keep the process alive.
 */
export interface SandboxedHandler {
  /** Runs one attempt in a thread of the pool. */
  (task: HandlerTask, ctx: TaskContext): Promise<void>;
  /** The handler module's file URL. */
  readonly moduleUrl: string;
  /** Threads alive now (idle or running). */
  readonly threads: number;
  /**
   * Starts a thread and loads the module now, so that a module that cannot be loaded fails at
   * start-up rather than in the first task.
   * @throws SandboxLoadError when the module cannot be loaded or exports no handler.
   */
  ready(): Promise<void>;
  /**
   * Terminates every thread: attempts still running fail with SandboxError (`closed`), and later
   * calls too. Call it after `server.shutdown()`.
   */
  close(): Promise<void>;
  /** {@link SandboxedHandler.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A handler that runs the handler exported by `module` in a worker thread (`node:worker_threads`).
 *
 * The module exports `(task, ctx) => …` as its default export or as `handler` (ES module or
 * CommonJS). In the thread, `task` has the type, the payload bytes and the headers, and `ctx` the
 * fields of {@link TaskContext}: its signal aborts when the server's does, and `ctx.result.write`
 * writes through the server. What the handler throws fails the attempt with its name and message;
 * a `SkipRetry` or `RevokeTask` (recognised by its `code`, also as a `cause`) steers the task as it
 * does in-process. Values cross by structured cloning, and the handler's return value is dropped.
 *
 * When the server's signal aborts (timeout, deadline, cancelation, shutdown), the attempt fails at
 * once with the signal's reason, the thread's signal aborts, and the thread is terminated after
 * `abortGrace` ms (200 by default) unless its handler has returned by then. A thread that ends while
 * it runs an attempt (process.exit, its memory limit, an uncaught exception) fails that attempt only
 * with a SandboxError, and is replaced. Threads running handler code never outnumber the calls in
 * progress (or `poolSize`): the next attempt waits for an aborted one's thread to end.
 *
 * @param module absolute path or file URL of the handler module (not relative: say relative to what).
 * @throws {ValidationError} when `module` or an option is invalid (nothing is started).
 * @example
 * ```ts
 * // resize.mjs: export default async function (task, ctx) { … }
 * const resize = sandboxed(new URL("./resize.mjs", import.meta.url), {
 *   resourceLimits: { maxOldGenerationSizeMb: 256 },
 * });
 * await resize.ready(); // SandboxLoadError now, rather than in the first task
 * const mux = new ServeMux().handle("image:resize", resize);
 * const server = new Server("redis://127.0.0.1:6379", { concurrency: 4 });
 * await server.start(mux);
 * // …
 * await server.shutdown();
 * await resize.close();
 * ```
 */
export function sandboxed(module: string | URL, options?: SandboxOptions): SandboxedHandler {
  const resolved = resolveSandboxOptions(module, options);
  const pool = new ThreadPool(
    {
      runner: runnerLocation(),
      data: { moduleUrl: resolved.moduleUrl, exportName: resolved.exportName },
      resourceLimits: resolved.resourceLimits,
      execArgv: resolved.execArgv,
    },
    resolved.poolSize,
  );
  const handler = (task: HandlerTask, ctx: TaskContext): Promise<void> =>
    runAttempt(pool, resolved, task, ctx);
  const close = (): Promise<void> => pool.close();
  return Object.defineProperties(handler, {
    moduleUrl: { value: resolved.moduleUrl, enumerable: true },
    threads: { get: () => pool.size, enumerable: true },
    ready: { value: () => pool.warm() },
    close: { value: close },
    [Symbol.asyncDispose]: { value: close },
  }) as SandboxedHandler;
}

/** One attempt: take a thread, run the task in it, give the thread back (or end it). */
async function runAttempt(
  pool: ThreadPool,
  options: ResolvedSandboxOptions,
  task: HandlerTask,
  ctx: TaskContext,
): Promise<void> {
  const { signal } = ctx;
  if (signal.aborted) throw signal.reason;
  pool.enter();
  let counted = true;
  const leave = (): void => {
    if (counted) pool.leave();
    counted = false;
  };
  let thread: SandboxThread;
  try {
    thread = await pool.acquire(signal);
  } catch (error) {
    leave();
    throw error;
  }
  if (signal.aborted) {
    leave();
    pool.release(thread);
    throw signal.reason;
  }
  return new Promise<void>((resolve, reject) => {
    let grace: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      // The attempt fails now (the server frees its slot); the thread counts until it has ended.
      leave();
      reject(signal.reason as Error);
      thread.abort(signal.reason);
      pool.prepareSpare();
      const end = (): void => void pool.discard(thread, toError(signal.reason));
      if (options.abortGrace === 0) end();
      else grace = setTimeout(end, options.abortGrace);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const settle = (error?: Error): void => {
      signal.removeEventListener("abort", onAbort);
      clearTimeout(grace);
      leave();
      pool.release(thread); // before the attempt settles: its slot's next call may take the thread
      if (error === undefined) resolve();
      else reject(error);
    };
    thread.run(task, ctx).then(
      () => settle(),
      (error: Error) => settle(error),
    );
  });
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
