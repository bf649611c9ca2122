// Lua scripts: loaded from the .lua files of the broker's domain folders, called by SHA, reloaded on NOSCRIPT.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import { forEachMaster, isCluster } from "./connection/cluster.js";

/**
 * The Buffer-reply forms of EVALSHA / EVAL, which ioredis has at runtime but not in its typings.
 * (`callBuffer("EVALSHA", …)` would do, but loses the command name under auto-pipelining.)
 */
interface BufferEval {
  evalshaBuffer(sha: string, numKeys: number, ...args: ScriptArg[]): Promise<unknown>;
  evalBuffer(source: string, numKeys: number, ...args: ScriptArg[]): Promise<unknown>;
}

/** A script argument as sent to Redis (numbers are sent as decimal strings). */
export type ScriptArg = string | number | Buffer;

/** One Lua script file. Every key it touches is passed in KEYS (Redis Cluster safe). */
export class LuaScript {
  /** SHA1 of the source, as EVALSHA expects. */
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  /**
   * Reads `<domain>/<name>.lua` (e.g. `fetch/dequeue`), replacing each `-- @include <lib>` line with
   * `lua/<lib>.lua`: Redis scripts cannot load one another, so shared Lua lives once, in lua/. An
   * included file may include others; each is pulled in once, where it is first named, so a file
   * can name what it needs without the caller ordering the includes.
   *
   * The paths are relative to this module in src/broker/, and in the package to the bundle or chunk
   * that holds it, at the top of dist/ (the build turns `import.meta.url` into that file's URL and
   * copies the Lua files to the same relative places: tools/tsup.config.ts, tools/finish-build.mjs).
   */
  static fromFile(name: string): LuaScript {
    const read = (path: string): string => readFileSync(new URL(`./${path}.lua`, import.meta.url), "utf8");
    const included = new Set<string>();
    const expand = (text: string): string =>
      text.replace(/^-- @include ([a-z_]+)\n/gm, (_, lib: string) => {
        if (included.has(lib)) return "";
        included.add(lib);
        return expand(read(`lua/${lib}`));
      });
    return new LuaScript(name, expand(read(name)));
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}

/**
 * Runs a script with EVALSHA; when Redis does not know it (first use, SCRIPT FLUSH, a restarted or
 * failed-over server) falls back to EVAL, which also caches it for the next EVALSHA.
 * Replies: integers as numbers, bulk strings as Buffers (`buffers` true) or strings.
 */
export async function runScript(
  redis: Redis,
  script: LuaScript,
  keys: readonly string[],
  args: readonly ScriptArg[],
  buffers = false,
): Promise<unknown> {
  const argv = [...keys, ...args];
  try {
    return buffers
      ? await (redis as unknown as BufferEval).evalshaBuffer(script.sha, keys.length, ...argv)
      : await redis.evalsha(script.sha, keys.length, ...argv);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return buffers
      ? await (redis as unknown as BufferEval).evalBuffer(script.source, keys.length, ...argv)
      : await redis.eval(script.source, keys.length, ...argv);
  }
}

/** Makes sure Redis has these scripts cached, so pipelined EVALSHA calls find them. */
export async function preloadScripts(redis: Redis, scripts: Iterable<LuaScript>): Promise<void> {
  const unique = [...new Map([...scripts].map((s) => [s.sha, s])).values()];
  if (unique.length === 0) return;
  // A Cluster would send SCRIPT to one node: each master has its own script cache.
  if (isCluster(redis)) return forEachMaster(redis, (node) => preloadScripts(node, unique));
  const exists = (await redis.script("EXISTS", ...unique.map((s) => s.sha))) as number[];
  const missing = unique.filter((_, i) => exists[i] !== 1);
  await Promise.all(missing.map((s) => redis.script("LOAD", s.source)));
}

/** True when a pipeline reply error says the script was not cached. */
export { isNoScript };
