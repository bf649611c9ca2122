// Unit tests of ServeMux: exact and prefix routing, middleware order, not-found handling, validation.
import { describe, expect, it } from "vitest";
import { AsynqError, ValidationError } from "../errors.js";
import type { TaskContext } from "./context.js";
import { HandlerNotFoundError, ServeMux } from "./mux.js";
import type { Handler, HandlerTask, Middleware } from "./mux.js";

/** The mux only passes the context through, so a partial one (cast) is enough here. */
const ctx = { id: "id-1", queue: "default", signal: new AbortController().signal } as unknown as TaskContext;

function task(type: string): HandlerTask {
  return { type, payload: new Uint8Array(), headers: {} };
}

/** A handler that resolves to its own name, to see which one was chosen. */
function named(name: string): Handler {
  return () => Promise.resolve(name);
}

function expectValidation(fn: () => unknown, field: string): ValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe(field);
    return err as ValidationError;
  }
  throw new Error("expected a ValidationError");
}

describe("ServeMux routing", () => {
  const mux = new ServeMux()
    .handle("email", named("email"))
    .handle("email:", named("email:"))
    .handle("email:deliver", named("email:deliver"))
    .handle("image:resize", named("image:resize"));

  it("prefers an exact match over any prefix", async () => {
    await expect(mux.process(task("email:deliver"), ctx)).resolves.toBe("email:deliver");
    await expect(mux.process(task("email"), ctx)).resolves.toBe("email");
  });

  it("falls back to the longest registered prefix", async () => {
    await expect(mux.process(task("email:welcome"), ctx)).resolves.toBe("email:");
    await expect(mux.process(task("email:deliver:retry"), ctx)).resolves.toBe("email:deliver");
    // Plain string prefix, as in asynq: "email" matches "emailing".
    await expect(mux.process(task("emailing"), ctx)).resolves.toBe("email");
  });

  it("does not match a pattern longer than the type or a non-prefix", async () => {
    await expect(mux.process(task("image:"), ctx)).rejects.toBeInstanceOf(HandlerNotFoundError);
    await expect(mux.process(task("image:resize2"), ctx)).resolves.toBe("image:resize");
    await expect(mux.process(task("mail"), ctx)).rejects.toBeInstanceOf(HandlerNotFoundError);
  });

  it("sees patterns registered after routing has started (cache invalidated)", async () => {
    const m = new ServeMux().handle("a", named("a"));
    await expect(m.process(task("abc"), ctx)).resolves.toBe("a");
    m.handle("ab", named("ab"));
    await expect(m.process(task("abc"), ctx)).resolves.toBe("ab");
    m.handle("abc", named("abc"));
    await expect(m.process(task("abc"), ctx)).resolves.toBe("abc");
  });

  it("passes the task and the context through to the handler", () => {
    const seen: [HandlerTask, TaskContext][] = [];
    const m = new ServeMux().handle("t", (t, c) => {
      seen.push([t, c]);
      return 42;
    });
    const t = { type: "t", payload: new Uint8Array([1, 2]), headers: { k: "v" } };
    expect(m.process(t, ctx)).toBe(42);
    expect(seen).toEqual([[t, ctx]]);
    expect(seen[0]?.[0]).toBe(t);
    expect(seen[0]?.[1]).toBe(ctx);
  });
});

describe("ServeMux not found", () => {
  it("rejects with HandlerNotFoundError carrying asynq's text", async () => {
    let err: unknown;
    try {
      await new ServeMux().process(task("email:deliver"), ctx);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HandlerNotFoundError);
    expect(err).toBeInstanceOf(AsynqError);
    const notFound = err as HandlerNotFoundError;
    expect(notFound.message).toBe('handler not found for task "email:deliver"');
    expect(notFound.code).toBe("ERR_HANDLER_NOT_FOUND");
    expect(notFound.taskType).toBe("email:deliver");
    expect(notFound.name).toBe("HandlerNotFoundError");
  });

  it("quotes the type as Go's %q does", () => {
    expect(new HandlerNotFoundError('a"b\\c\n').message).toBe('handler not found for task "a\\"b\\\\c\\n"');
    expect(new HandlerNotFoundError("ünï ✓").message).toBe('handler not found for task "ünï ✓"');
    expect(new HandlerNotFoundError("\uD800").message).toBe('handler not found for task "\\ud800"');
  });
});

describe("ServeMux middlewares", () => {
  function recorder(log: string[], name: string): Middleware {
    return (next) => async (t, c) => {
      log.push(`${name}>`);
      try {
        return await next(t, c);
      } finally {
        log.push(`<${name}`);
      }
    };
  }

  it("runs the first registered middleware outermost", async () => {
    const log: string[] = [];
    const mux = new ServeMux()
      .use(recorder(log, "a"))
      .handle("t", () => {
        log.push("handler");
        return "done";
      })
      .use(recorder(log, "b"), recorder(log, "c"));
    await expect(mux.process(task("t"), ctx)).resolves.toBe("done");
    expect(log).toEqual(["a>", "b>", "c>", "handler", "<c", "<b", "<a"]);
  });

  it("wraps the not-found handler too", async () => {
    const log: string[] = [];
    const seen: unknown[] = [];
    const mux = new ServeMux().use(recorder(log, "a"), (next) => async (t, c) => {
      try {
        return await next(t, c);
      } catch (err) {
        seen.push(err);
        throw err;
      }
    });
    await expect(mux.process(task("nope"), ctx)).rejects.toBeInstanceOf(HandlerNotFoundError);
    expect(log).toEqual(["a>", "<a"]);
    expect(seen).toHaveLength(1);
    expect((seen[0] as HandlerNotFoundError).taskType).toBe("nope");
  });

  it("lets a middleware handle a not-found task", async () => {
    const mux = new ServeMux().use((next) => async (t, c) => {
      try {
        return await next(t, c);
      } catch (err) {
        if (err instanceof HandlerNotFoundError) return "ignored";
        throw err;
      }
    });
    await expect(mux.process(task("nope"), ctx)).resolves.toBe("ignored");
  });

  it("handler(type) returns the wrapped handler", async () => {
    const log: string[] = [];
    const mux = new ServeMux().use(recorder(log, "m")).handle("x:", named("x:"));
    const h = mux.handler("x:y");
    expect(log).toEqual([]);
    await expect(h(task("x:y"), ctx)).resolves.toBe("x:");
    expect(log).toEqual(["m>", "<m"]);
  });

  it("rejects a middleware that is not a function, registering none of the batch", async () => {
    const log: string[] = [];
    const mux = new ServeMux().handle("t", named("t"));
    expectValidation(() => mux.use(recorder(log, "a"), 5 as unknown as Middleware), "middlewares[1]");
    await mux.process(task("t"), ctx);
    expect(log).toEqual([]);
  });
});

describe("ServeMux.handle validation", () => {
  it("rejects a pattern registered twice", () => {
    const mux = new ServeMux().handle("email:", named("1"));
    const err = expectValidation(() => mux.handle("email:", named("2")), "pattern");
    expect(err.message).toContain("already registered");
    expect(err.op).toBe("mux.handle");
  });

  it("rejects a blank pattern", () => {
    expectValidation(() => new ServeMux().handle("", named("x")), "pattern");
    expectValidation(() => new ServeMux().handle("  ", named("x")), "pattern");
    expectValidation(() => new ServeMux().handle(undefined as unknown as string, named("x")), "pattern");
  });

  it("rejects a handler that is not a function", () => {
    expectValidation(() => new ServeMux().handle("t", null as unknown as Handler), "handler");
    expectValidation(() => new ServeMux().handle("t", {} as unknown as Handler), "handler");
  });
});

describe("ServeMux.process as a plain function", () => {
  it("works detached from the mux", async () => {
    const mux = new ServeMux().handle("t", named("t"));
    const { process } = mux;
    const handlers: Handler[] = [process];
    await expect(handlers[0]?.(task("t"), ctx)).resolves.toBe("t");
    await expect(Promise.resolve(process.call(undefined, task("t"), ctx))).resolves.toBe("t");
  });

  it("can be registered as a handler of another mux", async () => {
    const inner = new ServeMux().handle("img:resize", named("resize")).handle("img:", named("img"));
    const outer = new ServeMux().handle("img:", inner.process).handle("email:", named("email"));
    await expect(outer.process(task("img:resize"), ctx)).resolves.toBe("resize");
    await expect(outer.process(task("img:crop"), ctx)).resolves.toBe("img");
    await expect(outer.process(task("email:x"), ctx)).resolves.toBe("email");
  });

  it("is fixed per instance", () => {
    const mux = new ServeMux();
    expect(mux.process).toBe(mux.process);
  });
});
