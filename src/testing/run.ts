// Runs a handler, a ServeMux or a defined task's handler inline, in the test's own process, with a
// FakeContext, and says what a server would do with the task next. No Redis, no Server.
import { resolveTask } from "../client/options.js";
import { RevokeTask, SkipRetry, TaskAbortedError } from "../errors.js";
import { systemClock } from "../internal/clock.js";
import { toError } from "../internal/errors.js";
import { ServeMux, type Handler, type HandlerTask } from "../server/mux.js";
import type { TaskDefinition, TypedHandler } from "../tasks/define.js";
import type { Task } from "../task.js";
import { FakeContext, type FakeContextOptions } from "./context.js";

/** How an inline run ended, and what a server would do with the task next. */
export interface HandlerRun<Result = unknown> {
  /**
   * `completed` (the handler succeeded), `retry` (it failed and has retries left), `archived`
   * (SkipRetry, or retries exhausted), `revoked` (RevokeTask: deleted), `requeued` (aborted for a
   * shutdown: back to its queue, not a failure).
   */
  outcome: "completed" | "retry" | "archived" | "revoked" | "requeued";
  /** What the handler resolved with (undefined when it failed). */
  returned: Result | undefined;
  /** Why it failed: the handler's error, or the TaskAbortedError of an abort. */
  error: Error | undefined;
  /** The context the handler ran with: its `results` hold every result written. */
  context: FakeContext;
}

/**
 * Runs `handler` (a function or a ServeMux) on `task` inline, as a server's attempt would: the task
 * is validated and encoded as `client.enqueue` does (so `def.task(payload)` works), the context's
 * ID, queue and maxRetry default to the task's, and the run ends at the first of the handler
 * settling and the context being aborted (by the test, or at `ctx.deadline`). Never rejects for a
 * handler's failure: read `outcome` and `error`.
 *
 * @param context a FakeContext to use (to abort it from the test), or options for a new one.
 * @throws ValidationError for an invalid task (as `client.enqueue`).
 * @example
 * ```ts
 * const run = await runHandler(mux, { type: "email:welcome", payload: { userId: 42 } });
 * expect(run.outcome).toBe("completed");
 * ```
 */
export async function runHandler(
  handler: Handler | ServeMux,
  task: Task,
  context: FakeContext | FakeContextOptions = {},
): Promise<HandlerRun> {
  const clock = context instanceof FakeContext ? systemClock : (context.clock ?? systemClock);
  const { msg } = resolveTask(task, undefined, clock.now()).request;
  const ctx =
    context instanceof FakeContext
      ? context
      : new FakeContext({ id: msg.id, queue: msg.queue, maxRetry: msg.retry, ...context });
  const handlerTask: HandlerTask = { type: msg.type, payload: msg.payload, headers: msg.headers };
  const fn = handler instanceof ServeMux ? handler.process : handler;
  let returned: unknown;
  try {
    returned = await untilAborted(() => fn(handlerTask, ctx), ctx);
  } catch (thrown) {
    return failed(toError(thrown, "handler"), ctx);
  } finally {
    ctx.end();
  }
  return { outcome: "completed", returned, error: undefined, context: ctx };
}

/** The arguments of `runTask` after the handler: the payload (optional when it admits `undefined`), then the context. */
export type RunTaskArgs<Input> = undefined extends Input
  ? [payload?: Input, context?: FakeContext | FakeContextOptions]
  : [payload: Input, context?: FakeContext | FakeContextOptions];

/**
 * Runs a typed handler of a definition inline on `payload`: validated and encoded as
 * `client.enqueue(definition, payload)` does, decoded and validated again as the server does (an
 * invalid payload ends `archived`), its return value written as the result.
 *
 * @throws ValidationError when the payload is invalid at enqueue (nothing runs).
 * @example
 * ```ts
 * const run = await runTask(resize, resizeImage, { url: "https://…/a.png", width: 200 });
 * run.returned; // typed as the definition's Result
 * ```
 */
export async function runTask<Payload, Result, Input>(
  definition: TaskDefinition<Payload, Result, Input>,
  handler: TypedHandler<Payload, NoInfer<Result>>,
  ...[payload, context = {}]: RunTaskArgs<Input>
): Promise<HandlerRun<Result>> {
  const task = await definition.taskAsync(payload as Input);
  return (await runHandler(definition.handler(handler), task, context)) as HandlerRun<Result>;
}

/** The longest delay setTimeout takes (larger ones fire at once); a longer deadline is never met in a test. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The handler's result, or the context's abort reason if it comes first (then the handler goes on, ignored). */
function untilAborted(start: () => unknown, ctx: FakeContext): Promise<unknown> {
  if (ctx.aborted) return Promise.reject(ctx.signal.reason as Error);
  let running: unknown;
  try {
    // Called at once, as the server calls a handler: a test that aborts right after sees it running.
    running = start();
  } catch (error) {
    return Promise.reject(toError(error, "handler"));
  }
  if (!isThenable(running)) return Promise.resolve(running);
  return new Promise<unknown>((resolve, reject) => {
    const onAbort = (): void => reject(ctx.signal.reason as Error);
    // Cut the attempt at its deadline, measured from its start on the context's clock (a
    // ManualClock's instants are not the wall clock's). Unref'd: it never keeps a test process alive.
    const delay = ctx.deadline.getTime() - ctx.startedAt;
    const timer = setTimeout(() => ctx.abort(ctx.deadlineReason), Math.max(0, Math.min(delay, MAX_TIMER_MS)));
    timer.unref();
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    const settle = (): void => {
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", onAbort);
    };
    Promise.resolve(running).then(
      (value) => {
        settle();
        resolve(value);
      },
      (error: unknown) => {
        settle();
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the handler's own rejection, as it is
        reject(error);
      },
    );
  });
}

/** True for a promise, or anything with a `then` method (a handler may return any thenable). */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/** What a server does after a failed attempt (src/server/outcomes.ts), without the writes. */
function failed(error: Error, ctx: FakeContext): HandlerRun {
  const run = { returned: undefined, error, context: ctx };
  if (error instanceof TaskAbortedError && error.reason === "shutdown")
    return { ...run, outcome: "requeued" };
  if (wraps(error, RevokeTask)) return { ...run, outcome: "revoked" };
  if (wraps(error, SkipRetry) || ctx.retryCount >= ctx.maxRetry) return { ...run, outcome: "archived" };
  return { ...run, outcome: "retry" };
}

/** True if `error` is, or wraps through `cause`, an instance of `kind` (as the server checks). */
function wraps(error: unknown, kind: abstract new (...args: never[]) => Error): boolean {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 16; depth++) {
    if (e instanceof kind) return true;
    e = e instanceof Error ? e.cause : undefined;
  }
  return false;
}
