// The options of sandboxed(): their defaults and their validation, in one place.
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import type { ResourceLimits } from "node:worker_threads";
import { DEFAULTS } from "../defaults.js";
import { ValidationError } from "../errors.js";

/** Options of {@link sandboxed}. */
export interface SandboxOptions {
  /**
   * The most threads running handler code at once. A thread runs one attempt at a time and is kept
   * for the next one.
   * @defaultValue as many as the calls in progress: with a Server, its `concurrency`, started lazily.
   */
  poolSize?: number;
  /**
   * Memory limits of each thread (Node's `Worker` `resourceLimits`), e.g.
   * `{ maxOldGenerationSizeMb: 256 }`. A thread that reaches them ends: the attempt it ran fails
   * with a SandboxError (`out-of-memory`) and the thread is replaced.
   * @defaultValue none (Node's defaults)
   */
  resourceLimits?: ResourceLimits;
  /**
   * Milliseconds an aborted attempt (timeout, deadline, cancelation, shutdown) is given to return
   * after its signal aborts, before its thread is terminated. A handler that returns within it
   * keeps its thread for the next attempt; one that ignores its signal loses it. 0 terminates at once.
   * @defaultValue 200
   */
  abortGrace?: number;
  /**
   * The export to run. By default: the module's default export, else its export named `handler`.
   * @defaultValue `"default"`, then `"handler"`
   */
  exportName?: string;
  /**
   * Node options of the threads (Worker `execArgv`), e.g. a loader for TypeScript modules.
   * @defaultValue the process's own
   */
  execArgv?: string[];
}

/** Options as the pool uses them. */
export interface ResolvedSandboxOptions {
  readonly moduleUrl: string;
  readonly poolSize: number | undefined;
  readonly resourceLimits: ResourceLimits | undefined;
  readonly abortGrace: number;
  readonly exportName: string | undefined;
  readonly execArgv: readonly string[] | undefined;
}

const LIMIT_FIELDS = ["maxOldGenerationSizeMb", "maxYoungGenerationSizeMb", "codeRangeSizeMb", "stackSizeMb"];

/**
 * Checks the module and the options.
 * @throws ValidationError naming the field: a module that is not an absolute path or a file URL,
 *   a pool size that is not a positive integer, a limit that is not a positive number, a grace that
 *   is not a non-negative integer, an export name that is blank, execArgv that is not strings.
 */
export function resolveSandboxOptions(
  module: string | URL,
  options: SandboxOptions = {},
): ResolvedSandboxOptions {
  const op = { op: "sandboxed" };
  const fail = (field: string, value: unknown, reason: string): never => {
    throw new ValidationError(field, value, reason, op);
  };
  if (options === null || typeof options !== "object") fail("options", options, "must be an object");
  const {
    poolSize,
    resourceLimits,
    abortGrace = DEFAULTS.sandbox.abortGrace,
    exportName,
    execArgv,
  } = options;
  if (poolSize !== undefined && !(Number.isSafeInteger(poolSize) && poolSize >= 1)) {
    fail("options.poolSize", poolSize, "must be an integer >= 1");
  }
  if (resourceLimits !== undefined) {
    if (resourceLimits === null || typeof resourceLimits !== "object") {
      fail("options.resourceLimits", resourceLimits, "must be an object");
    }
    for (const [key, value] of Object.entries(resourceLimits)) {
      if (!LIMIT_FIELDS.includes(key)) {
        fail(`options.resourceLimits.${key}`, value, `unknown limit (one of ${LIMIT_FIELDS.join(", ")})`);
      }
      if (value !== undefined && !(typeof value === "number" && Number.isFinite(value) && value > 0)) {
        fail(`options.resourceLimits.${key}`, value, "must be a positive number");
      }
    }
  }
  if (!(Number.isSafeInteger(abortGrace) && abortGrace >= 0)) {
    fail("options.abortGrace", abortGrace, "must be an integer number of milliseconds >= 0");
  }
  if (exportName !== undefined && (typeof exportName !== "string" || exportName.trim() === "")) {
    fail("options.exportName", exportName, "must be a non-blank string");
  }
  if (execArgv !== undefined && !(Array.isArray(execArgv) && execArgv.every((a) => typeof a === "string"))) {
    fail("options.execArgv", execArgv, "must be an array of strings");
  }
  return Object.freeze({
    moduleUrl: moduleUrlOf(module, fail),
    poolSize,
    resourceLimits: resourceLimits === undefined ? undefined : { ...resourceLimits },
    abortGrace,
    exportName,
    execArgv: execArgv === undefined ? undefined : [...execArgv],
  });
}

/**
 * The module's file URL. A relative path is refused: relative to what (the working directory, the
 * caller's file?) is a guess that goes wrong in production; `new URL("./h.js", import.meta.url)` or
 * `path.join(__dirname, "h.js")` say it.
 */
function moduleUrlOf(
  module: unknown,
  fail: (field: string, value: unknown, reason: string) => never,
): string {
  if (module instanceof URL) {
    if (module.protocol !== "file:") fail("module", module.href, "must be a file: URL");
    return module.href;
  }
  if (typeof module !== "string" || module.trim() === "") {
    return fail("module", module, "must be an absolute file path or a file URL");
  }
  if (module.startsWith("file:")) {
    if (!URL.canParse(module)) fail("module", module, "is not a valid file URL");
    return new URL(module).href;
  }
  if (!isAbsolute(module)) {
    fail(
      "module",
      module,
      "must be an absolute path or a file URL, e.g. new URL('./handler.js', import.meta.url)",
    );
  }
  return pathToFileURL(module).href;
}
