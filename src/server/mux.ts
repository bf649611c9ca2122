// ServeMux: routes a task to the handler registered for its type (exact match, else longest prefix), wrapped in middlewares.
import { HandlerNotFoundError, ValidationError } from "../errors.js";
import type { TaskContext } from "./context.js";
import { isTaskDefinition, type TaskDefinition, type TypedHandler } from "../tasks/define.js";

/** The task as a handler sees it. */
export interface HandlerTask {
  /** Task type name, e.g. `email:deliver`; it selected the handler. */
  readonly type: string;
  /** Payload bytes (empty when the task has none). */
  readonly payload: Uint8Array;
  /** Free-form string metadata given at enqueue time. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Processes one task. Resolving (or returning) means success; throwing or rejecting means failure,
 * which the server retries unless the error is a `SkipRetry` or a `RevokeTask`.
 */
// `Promise<unknown> |` is redundant to the compiler but tells readers that async handlers are the norm.
// eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents
export type Handler = (task: HandlerTask, ctx: TaskContext) => Promise<unknown> | unknown;

/** Wraps a handler into another one, e.g. to log, time or filter tasks. */
export type Middleware = (next: Handler) => Handler;

// Declared with every other error in src/errors.ts.
export { HandlerNotFoundError } from "../errors.js";

/** The handler used for a type nothing matches: it rejects with {@link HandlerNotFoundError}. */
const notFound: Handler = (task) =>
  Promise.reject(new HandlerNotFoundError(task.type, { op: "mux.process" }));

/**
 * A task multiplexer, like asynq's `ServeMux`: it picks a handler by task type and wraps it in the
 * registered middlewares.
 *
 * Routing: a pattern equal to the type wins; otherwise the longest registered pattern that is a
 * prefix of the type (plain string prefix: `"email"` matches `"emailing"` too, so end prefixes with a
 * separator such as `"email:"`); otherwise a handler that rejects with {@link HandlerNotFoundError}.
 * Middlewares wrap whichever handler was chosen, not-found included; the first registered is the
 * outermost. They are applied when {@link ServeMux.handler} is called, so `use` affects later calls
 * even after `handle`.
 *
 * @example
 * ```ts
 * const mux = new ServeMux()
 *   .use((next) => async (task, ctx) => {
 *     const start = Date.now();
 *     try {
 *       return await next(task, ctx);
 *     } finally {
 *       console.log(`${task.type} took ${Date.now() - start} ms`);
 *     }
 *   })
 *   .handle("email:deliver", async (task) => sendEmail(task.payload))
 *   .handle("image:", async (task) => processImage(task.type, task.payload)); // image:resize, image:crop, …
 *
 * // `mux.process` is a plain Handler: pass it to the server, or wherever a Handler is expected.
 * const handler: Handler = mux.process;
 * ```
 */
export class ServeMux {
  readonly #entries = new Map<string, Handler>();
  readonly #middlewares: Middleware[] = [];
  /** Registered patterns, longest first; recomputed lazily after a `handle`. */
  #byLength: string[] | undefined;

  /**
   * Routes each task to {@link ServeMux.handler} of its type. Bound to this mux, so it can be passed
   * on as a plain {@link Handler}.
   */
  readonly process: Handler = (task, ctx) => this.handler(task.type)(task, ctx);

  /**
   * Registers a typed handler for the tasks of a definition (see `defineTask`): it receives the
   * decoded, validated payload, and what it returns is written as the task's result. The
   * definition handles its own type only (not longer types by prefix); an undecodable or invalid
   * payload archives the task at once (SkipRetry).
   *
   * @returns this mux, for chaining.
   * @throws {ValidationError} when the type is already registered or `handler` is not a function.
   */
  handle<Payload, Result, Input>(
    definition: TaskDefinition<Payload, Result, Input>,
    handler: TypedHandler<Payload, NoInfer<Result>>,
  ): this;
  /**
   * Registers `handler` for the tasks whose type equals `pattern` or, when no exact or longer pattern
   * matches, starts with it.
   *
   * @returns this mux, for chaining.
   * @throws {ValidationError} when `pattern` is not a string, is blank or is already registered, or
   * when `handler` is not a function (asynq panics in the same cases).
   */
  handle(pattern: string, handler: Handler): this;
  handle(
    pattern: string | TaskDefinition<unknown, unknown, unknown>,
    handler: Handler | TypedHandler<never, unknown>,
  ): this {
    if (isTaskDefinition(pattern)) {
      return this.handle(pattern.type, pattern.handler(handler as TypedHandler<unknown, unknown>));
    }
    if (typeof pattern !== "string" || pattern.trim() === "") {
      throw new ValidationError("pattern", pattern, "the pattern must be a non-blank string", {
        op: "mux.handle",
      });
    }
    if (typeof handler !== "function") {
      throw new ValidationError("handler", handler, "the handler must be a function", { op: "mux.handle" });
    }
    if (this.#entries.has(pattern)) {
      throw new ValidationError("pattern", pattern, "a handler is already registered for this pattern", {
        op: "mux.handle",
      });
    }
    this.#entries.set(pattern, handler as Handler);
    this.#byLength = undefined;
    return this;
  }

  /**
   * Appends middlewares. They wrap the chosen handler in registration order: the first one ever
   * registered is the outermost, i.e. runs first.
   *
   * @returns this mux, for chaining.
   * @throws {ValidationError} when an argument is not a function; nothing is registered then.
   */
  use(...middlewares: Middleware[]): this {
    middlewares.forEach((mw, i) => {
      if (typeof mw !== "function") {
        throw new ValidationError(`middlewares[${i}]`, mw, "a middleware must be a function", {
          op: "mux.use",
        });
      }
    });
    this.#middlewares.push(...middlewares);
    return this;
  }

  /**
   * The handler for tasks of type `type`, wrapped in the middlewares: the exact match, else the
   * longest matching prefix, else a handler that rejects with {@link HandlerNotFoundError}. The
   * middlewares are applied on each call (as asynq does), so a middleware factory runs once per task
   * when the mux serves through {@link ServeMux.process}.
   */
  handler(type: string): Handler {
    let h = this.#match(type) ?? notFound;
    for (let i = this.#middlewares.length - 1; i >= 0; i--) {
      const mw = this.#middlewares[i];
      if (mw !== undefined) h = mw(h);
    }
    return h;
  }

  #match(type: string): Handler | undefined {
    const exact = this.#entries.get(type);
    if (exact !== undefined) return exact;
    this.#byLength ??= [...this.#entries.keys()].sort((a, b) => b.length - a.length);
    // Two distinct patterns of the same length cannot both prefix one type, so ties do not matter.
    for (const pattern of this.#byLength) {
      if (pattern.length < type.length && type.startsWith(pattern)) return this.#entries.get(pattern);
    }
    return undefined;
  }
}
