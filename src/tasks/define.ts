// Typed task definitions: a task type with its payload type, codec, optional schema and default
// options, which the Client enqueues with a typed payload and the ServeMux handles with a typed,
// decoded payload. A definition is a plain value: define it once in a module both sides import.
import { resolveTask, type EnqueueOptions } from "../client/options.js";
import { AsynqError, HandlerNotFoundError, SkipRetry, ValidationError } from "../errors.js";
import { errorMessage } from "../internal/errors.js";
import type { TaskContext } from "../server/context.js";
import type { Handler, HandlerTask } from "../server/mux.js";
import type { Task } from "../task.js";
import { jsonCodec, type TaskCodec } from "./codec.js";
import { isStandardSchema, validate, validateNow, type StandardSchema } from "./schema.js";

/** Marks a {@link TaskDefinition} (a registered symbol: two copies of the package agree on it). */
const DEFINITION: unique symbol = Symbol.for("asynq-ts.TaskDefinition");

/** A task that is not a definition: what the untyped `enqueue(task, options)` overload accepts. */
export type PlainTask = Task & { readonly [DEFINITION]?: never };

/**
 * The handler of a defined task: it receives the decoded (and validated) payload, and what it
 * returns, unless `undefined`, is encoded with the definition's result codec and written as the
 * task's result (kept with the task when it has a `retention`).
 */
export type TypedHandler<Payload, Result> = (
  payload: Payload,
  task: HandlerTask,
  ctx: TaskContext,
) => Promise<Result> | Result;

/** How a task type is encoded and checked; every field is optional. */
export interface TaskSpec<Payload, Result, Input> {
  /**
   * A Standard Schema validator (zod, valibot, arktype, …). Enqueue validates the payload and
   * encodes the validated (output) value; processing validates the decoded payload again, so
   * tasks written by other producers (Go, the CLI) are checked too. @defaultValue none
   */
  schema?: StandardSchema<Input, Payload>;
  /** How the payload becomes bytes and back. @defaultValue {@link jsonCodec}`()`, as Go's json.Marshal */
  codec?: TaskCodec<Payload>;
  /** How the handler's return value becomes the task's result bytes. @defaultValue {@link jsonCodec}`()` */
  resultCodec?: TaskCodec<Result>;
  /** Default enqueue options; those given to `enqueue` override them one by one. No `taskId`. */
  options?: EnqueueOptions;
}

/**
 * A task type with its payload and result types. Made by {@link defineTask}; pass it to
 * `client.enqueue(definition, payload, options?)` and `mux.handle(definition, handler)`.
 * `Payload` is what handlers receive; `Input` what enqueue takes (they differ only when the
 * schema transforms values).
 */
export interface TaskDefinition<Payload, Result = void, Input = Payload> {
  readonly [DEFINITION]: true;
  /** The task type name. */
  readonly type: string;
  /** The default enqueue options (frozen). */
  readonly options: Readonly<EnqueueOptions>;
  /**
   * Validates and encodes a payload into a Task for `enqueue` or `enqueueBatch`, with the
   * default options under `options`.
   * @throws ValidationError when the payload is invalid, cannot be encoded, or the schema validates
   *   asynchronously (use {@link TaskDefinition.taskAsync} then).
   */
  task(payload: Input, options?: EnqueueOptions): Task;
  /**
   * {@link TaskDefinition.task} for schemas that validate asynchronously (any schema works).
   * @throws ValidationError as `task`.
   */
  taskAsync(payload: Input, options?: EnqueueOptions): Promise<Task>;
  /**
   * Decodes and validates payload bytes as a handler receives them (no payload: `undefined`).
   * @throws ValidationError when the codec cannot decode the bytes or the schema rejects them.
   */
  decode(bytes: Uint8Array): Promise<Payload>;
  /**
   * Wraps a typed handler into a plain {@link Handler} (what `mux.handle(definition, fn)` registers).
   * It rejects a task of another type with HandlerNotFoundError (a definition handles its own type
   * only, never a longer type by prefix); a payload that cannot be decoded or is invalid, and a
   * result that cannot be encoded, with SkipRetry (the task is archived at once).
   * @throws ValidationError when `fn` is not a function.
   */
  handler(fn: TypedHandler<Payload, Result>): Handler;
  /**
   * Decodes a result the handler wrote (`TaskInfo.result`).
   * @throws ValidationError when the result codec cannot decode the bytes.
   */
  decodeResult(bytes: Uint8Array): Result;
}

/**
 * The arguments after a definition in `enqueue(definition, …)`: the payload (optional when the
 * payload type admits `undefined`, e.g. `defineTask<void>`), then the enqueue options.
 */
export type DefinitionArgs<Input> = undefined extends Input
  ? [payload?: Input, options?: EnqueueOptions]
  : [payload: Input, options?: EnqueueOptions];

/** Any definition, whatever its types. */
export type AnyTaskDefinition = TaskDefinition<unknown, unknown, unknown>;

const NO_OPTIONS: Readonly<EnqueueOptions> = Object.freeze({});

/**
 * Defines a task type. Without a schema or explicit type arguments the payload is `unknown`; give
 * `defineTask<Payload, Result>(…)`, or a schema, whose types are then inferred.
 *
 * @param type the task type, as Go handlers register it (e.g. `"email:welcome"`).
 * @throws ValidationError for a blank type, a `schema` that is not a Standard Schema, a codec
 *   without `encode` and `decode`, or invalid default options (an unknown name, a `taskId`).
 * @example
 * ```ts
 * import { z } from "zod";
 *
 * const welcome = defineTask("email:welcome", {
 *   schema: z.object({ userId: z.number().int().positive() }),
 *   options: { queue: "critical", maxRetry: 5 },
 * });
 * await client.enqueue(welcome, { userId: 42 }); // typed; validated before anything is written
 * mux.handle(welcome, async ({ userId }) => sendWelcome(userId));
 *
 * const resize = defineTask<{ url: string; width: number }, { bytes: number }>("image:resize");
 * ```
 */
export function defineTask<Payload, Result = void, Input = Payload>(
  type: string,
  spec: TaskSpec<Payload, Result, Input> = {},
): TaskDefinition<Payload, Result, Input> {
  const op = "defineTask";
  if (typeof type !== "string" || type.trim() === "") {
    throw new ValidationError("type", type, "the task type must be a non-blank string", { op });
  }
  if (typeof spec !== "object" || spec === null) {
    throw new ValidationError("spec", spec, "expected { schema?, codec?, resultCodec?, options? }", { op });
  }
  const { schema } = spec;
  if (schema !== undefined && !isStandardSchema(schema)) {
    const reason = "expected a Standard Schema (an object with `~standard.validate`)";
    throw new ValidationError("spec.schema", schema, reason, { op });
  }
  const codec = checkCodec(spec.codec, "spec.codec") ?? jsonCodec<Payload>();
  const resultCodec = checkCodec(spec.resultCodec, "spec.resultCodec") ?? jsonCodec<Result>();
  const defaults = checkDefaults(type, spec.options);

  /** The Task of a validated payload. */
  const build = (value: Payload | Input, options: EnqueueOptions | undefined): Task => {
    const task: Task = { type };
    if (value !== undefined) task.payload = encodeWith(codec, value, "payload", "definition.task");
    if (options !== undefined && (typeof options !== "object" || options === null)) {
      throw new ValidationError("options", options, "expected an options object", { op: "definition.task" });
    }
    const merged = options === undefined ? defaults : { ...defaults, ...options };
    if (Object.keys(merged).length > 0) task.options = merged;
    return task;
  };

  const definition: TaskDefinition<Payload, Result, Input> = {
    [DEFINITION]: true,
    type,
    options: defaults,
    task(payload, options) {
      const value =
        schema === undefined ? payload : validateNow(schema, payload, "payload", "definition.task");
      return build(value, options);
    },
    async taskAsync(payload, options) {
      const value =
        schema === undefined ? payload : await validate(schema, payload, "payload", "definition.task");
      return build(value, options);
    },
    async decode(bytes) {
      const op = "definition.decode";
      let raw: unknown;
      if (bytes.length > 0) {
        try {
          raw = codec.decode(bytes);
        } catch (cause) {
          throw new ValidationError("payload", bytes, `the codec cannot decode it: ${errorMessage(cause)}`, {
            op,
            cause,
          });
        }
      }
      return schema === undefined ? (raw as Payload) : validate(schema, raw, "payload", op);
    },
    handler(fn) {
      if (typeof fn !== "function") {
        throw new ValidationError("handler", fn, "the handler must be a function", {
          op: "definition.handler",
        });
      }
      return async (task: HandlerTask, ctx: TaskContext): Promise<Result> => {
        if (task.type !== type) throw new HandlerNotFoundError(task.type, { op: "mux.process" });
        let payload: Payload;
        try {
          payload = await definition.decode(task.payload);
        } catch (error) {
          throw new SkipRetry(errorMessage(error), { cause: error });
        }
        const returned = await fn(payload, task, ctx);
        if (returned !== undefined) {
          let bytes: Uint8Array;
          try {
            bytes = encodeWith(resultCodec, returned, "result", "definition.handler");
          } catch (error) {
            throw new SkipRetry(errorMessage(error), { cause: error });
          }
          await ctx.result.write(bytes);
        }
        return returned;
      };
    },
    decodeResult(bytes) {
      try {
        return resultCodec.decode(bytes);
      } catch (cause) {
        throw new ValidationError(
          "result",
          bytes,
          `the result codec cannot decode it: ${errorMessage(cause)}`,
          {
            op: "definition.decodeResult",
            cause,
          },
        );
      }
    },
  };
  return Object.freeze(definition);
}

/** True for a value made by {@link defineTask} (of this or another copy of asynq-ts). */
export function isTaskDefinition(value: unknown): value is AnyTaskDefinition {
  return (
    typeof value === "object" && value !== null && (value as { [DEFINITION]?: unknown })[DEFINITION] === true
  );
}

/** The task and options an `enqueue` call stands for, whichever of its overloads was called. */
export interface EnqueueArgs {
  task: Task;
  options: EnqueueOptions | undefined;
}

/**
 * Reads the arguments of the two `enqueue` overloads, shared by the Client and the RecordingClient
 * so that both build a definition's task alike: `(definition, payload, options)` becomes the task of
 * `definition.taskAsync(payload)` (validated and encoded, its default options under the call's) with
 * `options`; `(task, options)` stays as it is.
 *
 * A plain task's arguments come back at once, not in a promise: `enqueue` reads its clock in the
 * call itself, so that tasks enqueued in one tick keep the instant (and order) of their calls.
 *
 * @returns the arguments; a promise of them for a definition (its schema may be asynchronous), which
 *   rejects with a ValidationError when the definition refuses the payload.
 */
export function resolveEnqueueArgs(
  first: PlainTask | AnyTaskDefinition,
  second?: unknown,
  third?: EnqueueOptions,
): EnqueueArgs | Promise<EnqueueArgs> {
  if (isTaskDefinition(first)) return first.taskAsync(second).then((task) => ({ task, options: third }));
  return { task: first, options: second as EnqueueOptions | undefined };
}

/** Encodes with a codec; what it throws becomes a ValidationError naming `field`. */
function encodeWith(codec: TaskCodec<unknown>, value: unknown, field: string, op: string): Uint8Array {
  let bytes: unknown;
  try {
    bytes = codec.encode(value);
  } catch (cause) {
    const reason = cause instanceof ValidationError ? cause.reason : errorMessage(cause);
    throw new ValidationError(field, value, `the codec cannot encode it: ${reason}`, { op, cause });
  }
  if (!(bytes instanceof Uint8Array)) {
    throw new ValidationError(field, value, `the codec returned ${typeof bytes}, not a Uint8Array`, { op });
  }
  return bytes;
}

function checkCodec<T>(codec: TaskCodec<T> | undefined, field: string): TaskCodec<T> | undefined {
  if (codec === undefined) return undefined;
  const c = codec as Partial<TaskCodec<T>> | null;
  if (
    typeof c !== "object" ||
    c === null ||
    typeof c.encode !== "function" ||
    typeof c.decode !== "function"
  ) {
    throw new ValidationError(field, codec, "expected an object with encode and decode functions", {
      op: "defineTask",
    });
  }
  return codec;
}

/** Checks default options as an enqueue would (names, values), once, at definition time. */
function checkDefaults(type: string, options: EnqueueOptions | undefined): Readonly<EnqueueOptions> {
  if (options === undefined) return NO_OPTIONS;
  if (typeof options === "object" && options !== null && "taskId" in options) {
    throw new ValidationError(
      "spec.options.taskId",
      options.taskId,
      "a task ID is per task: give it to enqueue",
      {
        op: "defineTask",
      },
    );
  }
  try {
    resolveTask({ type, options }, undefined, Date.now(), "spec");
  } catch (error) {
    if (error instanceof AsynqError) throw error;
    throw new ValidationError("spec.options", options, errorMessage(error), { op: "defineTask" });
  }
  return Object.freeze({ ...options });
}
