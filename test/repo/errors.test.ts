// The error contract: every error class the package exports is an AsynqError declared in src/errors.ts
// with a stable code, and no library code throws a RangeError (components get resolved values, and
// what a caller passes in is rejected with a ValidationError naming the field).
import { readFileSync, readdirSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as errors from "../../src/errors.js";
import * as api from "../../src/index.js";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));

/** Exports that are error classes: names ending in `Error`, and the handler signals. */
const ERROR_CLASSES = Object.entries(api).filter(
  ([name, value]) =>
    typeof value === "function" && (name.endsWith("Error") || name === "SkipRetry" || name === "RevokeTask"),
) as Array<[string, new (...args: unknown[]) => Error]>;

/** Constructor arguments of the classes that need particular ones; the others get plain strings. */
const ARGS: Record<string, unknown[]> = {
  ValidationError: ["options.queue", "", "a queue name cannot be blank"],
  BrokerError: ["Redis command failed: ERR"],
  ConnectionError: ["127.0.0.1:6379", 0, "connection refused"],
  QueueStateError: ["ERR_QUEUE_PAUSED", "default", 'queue "default" is already paused'],
  TaskAbortedError: ["timeout", "task-1"],
  TaskExpiredError: ["task expired", new Date(0)],
  NotClusterError: [],
  LeaseExpiredError: [],
};

describe("exported errors", () => {
  it("include every class of src/errors.ts that a caller meets", () => {
    expect(ERROR_CLASSES.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        "AsynqError",
        "ValidationError",
        "SkipRetry",
        "RevokeTask",
        "TaskAbortedError",
        "HandlerNotFoundError",
        "LeaseExpiredError",
        "TaskExpiredError",
        "ProtoDecodeError",
        "ProtoEncodeError",
      ]),
    );
  });

  it.each(ERROR_CLASSES)("%s is an AsynqError declared in src/errors.ts, with a code", (name, cls) => {
    expect((errors as Record<string, unknown>)[name], `${name} is not declared in src/errors.ts`).toBe(cls);
    const error = new cls(...(ARGS[name] ?? ["a", "b", "c"]));
    expect(error).toBeInstanceOf(errors.AsynqError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    const { code } = error as errors.AsynqError;
    expect(typeof code).toBe("string");
    // AsynqError takes its code as an argument; its subclasses name theirs.
    if (name !== "AsynqError") expect(code).toMatch(/^ERR_[A-Z_]+$/);
  });
});

/** The library's source files (tests excluded), relative to src/ with `/` separators. */
function sourceFiles(dir = SRC): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts"))
      out.push(relative(SRC, path).split(sep).join("/"));
  }
  return out;
}

/**
 * The one exception: the protobuf decoder's low-level read errors, which never leave it (each is
 * the `cause` of the ProtoDecodeError it throws) and are RangeErrors as @bufbuild/protobuf's are,
 * the reference decoder that src/wire/proto.property.test.ts compares it with, cause class included.
 */
const ALLOWED: Record<string, number> = { "wire/proto-decode.ts": 3 };

describe("src/", () => {
  it("throws no RangeError (only ValidationError for bad input, plain Error for a bug)", () => {
    const found: Record<string, number> = {};
    for (const file of sourceFiles()) {
      const count = readFileSync(join(SRC, file), "utf8").split("new RangeError(").length - 1;
      if (count > 0) found[file] = count;
    }
    expect(found).toEqual(ALLOWED);
  });
});
