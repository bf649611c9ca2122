// The Lua script layer: every script (the broker's, and the test oracle's in ./oracle/) documents its
// KEYS, ARGV and reply; every key comes in KEYS (Redis Cluster safety, wire-format §1.1); the oracle's
// calls match the documented signatures; runScript survives a flushed script cache.
import { createHash, randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EnqueueRequest } from "../../src/broker/enqueue/enqueue.js";
import { LuaScript, runScript } from "../../src/broker/scripts.js";
import { startPrivateRedis, type PrivateRedis } from "../support/processes.js";
import { newTaskMessage } from "../../src/wire/proto.js";
import { uniqueKey } from "../../src/wire/unique.js";
import { enqueueCall, ORACLE_DIR, oracleScript } from "./oracle/enqueue-call.js";

/** The broker's folder: each domain folder holds its scripts; lua/ holds the shared includes. */
const BROKER_DIR = new URL("../../src/broker/", import.meta.url);
/** Every script of the broker, as `<domain>/<name>.lua`. */
const brokerFiles = readdirSync(BROKER_DIR, { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".lua") && !f.startsWith("lua/"))
  .sort();
/** The test oracle's scripts (asynq's single-task enqueue scripts), as `oracle/<name>.lua`. */
const oracleFiles = readdirSync(ORACLE_DIR, { encoding: "utf8" })
  .filter((f) => f.endsWith(".lua"))
  .map((f) => `oracle/${f}`)
  .sort();
/** Every script checked. */
const files = [...brokerFiles, ...oracleFiles];

/** A script file (of `files`) as Redis gets it. */
function load(file: string): LuaScript {
  const name = file.replace(/\.lua$/, "");
  return name.startsWith("oracle/") ? oracleScript(name.slice("oracle/".length)) : LuaScript.fromFile(name);
}

interface Documented {
  /** Indices documented one by one: `KEYS[3] -> …`. */
  fixed: number[];
  /**
   * Lowest index covered by a documented variable part (`KEYS[8...] -> …`, `KEYS[4+i] -> …`), if any:
   * indices from there on may be used by number or through a variable.
   */
  variableFrom: number | undefined;
}

interface ParsedScript {
  name: string;
  source: string;
  /** The leading comment lines. */
  header: string[];
  /** The code without comments and with string literals emptied (`""`). */
  code: string;
  keys: Documented;
  argv: Documented;
}

/** A script as Redis gets it: its `-- @include` lines replaced by the shared Lua of lua/. */
function parse(file: string): ParsedScript {
  const script = load(file);
  return parseSource(script.name, script.source);
}

function parseSource(name: string, source: string): ParsedScript {
  const lines = source.split("\n");
  const end = lines.findIndex((line) => !line.startsWith("--"));
  const header = lines.slice(0, end === -1 ? lines.length : end);
  const code = lines
    .slice(header.length)
    .map((line) => line.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""').replace(/--.*$/, ""))
    .join("\n");
  const documented = (kind: "KEYS" | "ARGV"): Documented => {
    const fixed: number[] = [];
    let variableFrom: number | undefined;
    for (const line of header) {
      const m = new RegExp(`^--\\s*${kind}\\[([^\\]]+)\\]\\s*->\\s*\\S`).exec(line);
      if (!m) continue;
      if (/^\d+$/.test(m[1]!)) fixed.push(Number(m[1]));
      else variableFrom = Number(/^\d+/.exec(m[1]!)?.[0] ?? "1");
    }
    return { fixed, variableFrom };
  };
  return { name, source, header, code, keys: documented("KEYS"), argv: documented("ARGV") };
}

/** Indices used by number (`KEYS[2]`), and whether some index is a variable expression (`KEYS[i]`). */
function used(code: string, kind: "KEYS" | "ARGV"): { fixed: number[]; variable: boolean } {
  const fixed = [...code.matchAll(new RegExp(`\\b${kind}\\[(\\d+)\\]`, "g"))].map((m) => Number(m[1]));
  const variable = new RegExp(`\\b${kind}\\[[^\\]]*[A-Za-z_]`).test(code);
  return { fixed: [...new Set(fixed)].sort((a, b) => a - b), variable };
}

/** Splits an argument list at its top-level commas. */
function splitArgs(inner: string): string[] {
  const args: string[] = [];
  let level = 0;
  let current = "";
  for (const ch of inner) {
    if (ch === "(" || ch === "{" || ch === "[") level++;
    if (ch === ")" || ch === "}" || ch === "]") level--;
    if (ch === "," && level === 0) {
      args.push(current.trim());
      current = "";
    } else current += ch;
  }
  if (current.trim() !== "") args.push(current.trim());
  return args;
}

/** The text between the bracket `open` opened just before `from` and its matching `close`. */
function enclosed(code: string, from: number, open = "(", close = ")"): string {
  let depth = 1;
  let i = from;
  for (; i < code.length && depth > 0; i++) {
    if (code[i] === open) depth++;
    if (code[i] === close) depth--;
  }
  return code.slice(from, i - 1);
}

/** The text between the parenthesis opened just before `from` and its matching `)`. */
function parenthesized(code: string, from: number): string {
  return enclosed(code, from);
}

/** Each `redis.call(...)` / `redis.pcall(...)`: its command argument (as parsed) and the other arguments. */
function redisCalls(code: string): Array<{ command: string; args: string[] }> {
  return [...code.matchAll(/redis\.p?call\(/g)].map((m) => {
    const args = splitArgs(parenthesized(code, m.index + m[0].length));
    return { command: args[0] ?? "", args: args.slice(1) };
  });
}

/** How a named function is used at one place: called, passed to a function, or anything else. */
type FunctionUse =
  { kind: "call"; args: string[] } | { kind: "argument"; callee: string; index: number } | { kind: "escape" };

/**
 * Every use of `name` (a function, or a parameter that may hold one) outside its definition and
 * parameter lists (`paramLists`: [start, end) of each). A call is `name(...)`; an argument is
 * `callee(..., name, ...)` with `name` a whole argument and the callee a plain name; anything else
 * (assigned, put in a table, returned, passed to a method or with another call syntax) escapes.
 */
function functionUses(code: string, name: string, paramLists: Array<[number, number]>): FunctionUse[] {
  const uses: FunctionUse[] = [];
  for (const m of code.matchAll(new RegExp(`(?<![\\w.:])(?<!function\\s+)${name}\\b`, "g"))) {
    if (paramLists.some(([start, end]) => m.index >= start && m.index < end)) continue;
    const after = m.index + name.length;
    const call = /^\s*\(/.exec(code.slice(after));
    if (call) {
      uses.push({ kind: "call", args: splitArgs(parenthesized(code, after + call[0].length)) });
      continue;
    }
    // The innermost bracket open around the name: an argument list only if it is a `(`.
    let depth = 0;
    let open = m.index - 1;
    for (; open >= 0; open--) {
      const ch = code[open]!;
      if (")]}".includes(ch)) depth++;
      if ("([{".includes(ch) && depth-- === 0) break;
    }
    const callee =
      open >= 0 && code[open] === "(" ? /(?<![\w.:])([A-Za-z_]\w*)\s*$/.exec(code.slice(0, open)) : null;
    const before = splitArgs(code.slice(open + 1, m.index) + "x");
    const args = callee ? splitArgs(parenthesized(code, open + 1)) : [];
    if (callee && args[before.length - 1] === name) {
      uses.push({ kind: "argument", callee: callee[1]!, index: before.length - 1 });
    } else uses.push({ kind: "escape" });
  }
  return uses;
}

/**
 * Names that can only ever hold a KEYS element: locals assigned from KEYS[...] (or from such names),
 * and function parameters to which every call passes such a value. A greatest fixed point, so helper
 * functions calling each other are followed. A table of keys counts too: `local c = { a = KEYS[1] }`
 * whose fields are only ever set from KEYS makes `c.a` and `c[x]` key-only (written `c[]` below).
 * A named function passed to another as an argument (a callback) is followed through that
 * parameter: its calls bind the callback's parameters. A function used in any other way than
 * called or passed so (stored, returned, given to pcall) has parameters that never count as keys,
 * and so have those of anonymous functions.
 */
function keyOnlyNames(code: string): Set<string> {
  const bindings = new Map<string, string[]>();
  const bind = (name: string, expr: string): void => {
    if (expr === "nil") return;
    bindings.set(name, [...(bindings.get(name) ?? []), expr]);
  };
  // A table's elements are bound to `name[]`; reading `name.f` or `name[x]` reads `name[]`.
  for (const m of code.matchAll(/^[ \t]*local\s+([A-Za-z_]\w*)\s*=\s*\{/gm)) {
    for (const item of splitArgs(enclosed(code, m.index + m[0].length, "{", "}"))) {
      bind(`${m[1]}[]`, item.replace(/^[A-Za-z_]\w*\s*=\s*/, ""));
    }
  }
  for (const m of code.matchAll(/^[ \t]*([A-Za-z_]\w*)(?:\.\w+|\[[^\]]+\])\s*=(?!=)\s*(.+)$/gm))
    bind(`${m[1]}[]`, m[2]!.trim());
  for (const m of code.matchAll(/^[ \t]*(?:local\s+)?([A-Za-z_]\w*)\s*=(?!=)\s*(.+)$/gm)) {
    if (!m[2]!.trim().startsWith("{")) bind(m[1]!, m[2]!.trim());
  }
  const functions = new Map<string, string[]>();
  for (const f of code.matchAll(/\bfunction\s+([A-Za-z_]\w*)\s*\(([^)]*)\)/g))
    functions.set(f[1]!, splitArgs(f[2]!));
  const paramLists = [...code.matchAll(/\bfunction\b[^(]*\(([^)]*)\)/g)].map((f): [number, number] => [
    f.index,
    f.index + f[0].length,
  ]);
  for (const [name, params] of functions) {
    // A parameter no call passes is always nil: it holds no key at all.
    for (const p of params) if (!bindings.has(p)) bindings.set(p, []);
    // The names the function can be called by: its own, and the parameters it is passed to.
    const holders = [name];
    for (let h = 0; h < holders.length; h++) {
      for (const use of functionUses(code, holders[h]!, paramLists)) {
        if (use.kind === "call") {
          params.forEach((p, i) => {
            const arg = use.args[i];
            if (arg === undefined) return;
            bind(p, arg);
            if (/^[A-Za-z_]\w*$/.test(arg)) bind(`${p}[]`, `${arg}[]`); // a table passed on
          });
          continue;
        }
        const receiver = use.kind === "argument" ? functions.get(use.callee) : undefined;
        if (use.kind === "escape" || receiver === undefined) {
          for (const p of params) bind(p, "<escaped>"); // called from where this check cannot see
          continue;
        }
        // Passed to a function: followed through its parameter (an extra argument is dropped).
        const param = receiver[use.index];
        if (param !== undefined && !holders.includes(param)) holders.push(param);
      }
    }
  }
  const safe = new Set(bindings.keys());
  const isSafe = (expr: string): boolean => {
    if (/^KEYS\[[^\]]+\]$/.test(expr) || safe.has(expr)) return true;
    const field = /^([A-Za-z_]\w*)(?:\.\w+|\[[^\]]+\])$/.exec(expr);
    return field !== null && safe.has(`${field[1]}[]`);
  };
  for (let changed = true; changed;) {
    changed = false;
    for (const name of [...safe]) {
      if (!bindings.get(name)!.every(isSafe)) {
        safe.delete(name);
        changed = true;
      }
    }
  }
  return safe;
}

/** How many leading arguments of a command are key names (all of them for multi-key commands). */
const KEY_ARGS: Record<string, number> = {
  DEL: Infinity,
  UNLINK: Infinity,
  EXISTS: Infinity,
  MGET: Infinity,
  TOUCH: Infinity,
  SUNION: Infinity,
  SINTER: Infinity,
  SDIFF: Infinity,
  RPOPLPUSH: 2,
  LMOVE: 2,
  SMOVE: 2,
};
/** Commands without any key argument. */
const KEYLESS = new Set(["TIME", "PUBLISH", "ECHO"]);

/** What is wrong with the KEYS or ARGV documentation of a script (empty when nothing). */
function docProblems(script: ParsedScript, kind: "KEYS" | "ARGV"): string[] {
  const doc = kind === "KEYS" ? script.keys : script.argv;
  const u = used(script.code, kind);
  const problems: string[] = [];
  for (const n of u.fixed) {
    if (!doc.fixed.includes(n) && (doc.variableFrom === undefined || n < doc.variableFrom)) {
      problems.push(`${kind}[${n}] is used but not documented`);
    }
  }
  if (u.variable && doc.variableFrom === undefined) {
    problems.push(`${kind} is indexed by a variable but no ${kind}[n...] / ${kind}[n+i] entry documents it`);
  }
  // A script that documents a variable part and indexes by a variable may reach fixed entries that way.
  const reachableByVariable = u.variable && doc.variableFrom !== undefined;
  for (const n of doc.fixed)
    if (!u.fixed.includes(n) && !reachableByVariable)
      problems.push(`${kind}[${n}] is documented but not used`);
  doc.fixed.forEach((n, i) => {
    if (n !== i + 1) problems.push(`documented ${kind} are not numbered 1..k in order (found ${kind}[${n}])`);
  });
  return problems;
}

/** What is wrong with the `Returns:` section (empty when nothing). */
function returnsProblems(script: ParsedScript): string[] {
  const at = script.header.findIndex((line) => /^--\s*Returns:/.test(line));
  if (at === -1) return ["no 'Returns:' line in the header"];
  const described = script.header.slice(at + 1).filter((line) => /^--\s+\S/.test(line));
  return described.length > 0 ? [] : ["the Returns: section is empty"];
}

/** Key arguments of redis.call that do not come from KEYS (empty when none). */
function keyProblems(script: ParsedScript): string[] {
  const calls = redisCalls(script.code);
  const safe = keyOnlyNames(script.code);
  // The command literals were emptied in `code`; read them from the source (same order).
  const commands = [...script.source.matchAll(/redis\.p?call\(\s*["']([A-Za-z]+)["']/g)].map((m) =>
    m[1]!.toUpperCase(),
  );
  const problems: string[] = [];
  if (commands.length !== calls.length) problems.push("a redis.call has no string-literal command name");
  calls.forEach((call, i) => {
    const command = commands[i] ?? "?";
    if (KEYLESS.has(command)) return;
    // MEMORY USAGE <key>, XINFO STREAM <key>: the key follows the subcommand.
    const keyArgs =
      command === "MEMORY" || command === "XINFO"
        ? call.args.slice(1, 2)
        : call.args.slice(0, KEY_ARGS[command] ?? 1);
    for (const arg of keyArgs) {
      const field = /^([A-Za-z_]\w*)(?:\.\w+|\[[^\]]+\])$/.exec(arg);
      if (!/^KEYS\[[^\]]+\]$/.test(arg) && !safe.has(arg) && !(field !== null && safe.has(`${field[1]}[]`)))
        problems.push(`${command} ${arg}: key not from KEYS`);
    }
  });
  return problems;
}

/** Code lines using the `..` operator. */
function concatenations(script: ParsedScript): string[] {
  return script.code.split("\n").filter((line) => /(?<!\.)\.\.(?!\.)/.test(line));
}

describe("Lua script files", () => {
  it("finds the scripts", () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
    expect(files).toEqual(
      expect.arrayContaining([
        "enqueue/enqueue_many.lua",
        "oracle/enqueue.lua",
        "oracle/enqueue_unique.lua",
        "admin/get_task_info.lua",
      ]),
    );
  });

  describe.each(files.map((f) => [f, parse(f)] as const))("%s", (_, script) => {
    it("opens with a header naming the script", () => {
      expect(script.header.length).toBeGreaterThan(3);
      const base = script.name.slice(script.name.lastIndexOf("/") + 1);
      expect(script.header[0]).toMatch(new RegExp(`^-- ${base}: \\S`));
    });

    it("documents every KEYS[n] it uses, and uses every KEYS[n] it documents", () => {
      expect(docProblems(script, "KEYS")).toEqual([]);
    });

    it("documents every ARGV[n] it uses, and uses every ARGV[n] it documents", () => {
      expect(docProblems(script, "ARGV")).toEqual([]);
    });

    it("has a Returns: section that describes the reply", () => {
      expect(returnsProblems(script)).toEqual([]);
    });

    it("takes every key name it passes to redis.call from KEYS", () => {
      expect(redisCalls(script.code).length).toBeGreaterThan(0);
      expect(keyProblems(script)).toEqual([]);
    });

    it("never concatenates strings (no `..` operator, so no key name is built in Lua)", () => {
      // None of these scripts needs `..`. Should one ever need it for a non-key value (an error
      // text), allow that use explicitly here rather than dropping the check.
      expect(concatenations(script)).toEqual([]);
    });
  });
});

// The checks above must be able to fail: they do on these bad scripts.
describe("the script checks themselves", () => {
  const header = (body: string): string =>
    `-- bad: a test script\n--\n-- KEYS[1] -> a key\n--\n-- ARGV[1] -> a value\n--\n-- Returns:\n--   1\n${body}`;

  it("accept a well-formed script", () => {
    const ok = parseSource("bad", header('redis.call("SET", KEYS[1], ARGV[1])\nreturn 1'));
    expect([
      ...docProblems(ok, "KEYS"),
      ...docProblems(ok, "ARGV"),
      ...returnsProblems(ok),
      ...keyProblems(ok),
    ]).toEqual([]);
    expect(concatenations(ok)).toEqual([]);
  });

  it("find a key built by concatenation, directly or through a local or a helper's parameter", () => {
    const direct = parseSource(
      "bad",
      header('redis.call("SET", KEYS[1], 1)\nredis.call("HSET", ARGV[1] .. ":t", "f", 1)'),
    );
    expect(keyProblems(direct)).toEqual(['HSET ARGV[1] .. "": key not from KEYS']);
    expect(concatenations(direct)).toHaveLength(1);

    const viaLocal = parseSource(
      "bad",
      header('local k = "asynq:{" .. ARGV[1]\nredis.call("DEL", KEYS[1], k)'),
    );
    expect(keyProblems(viaLocal)).toEqual(["DEL k: key not from KEYS"]);

    const viaHelper = parseSource(
      "bad",
      header(
        'local function touch(key)\n  redis.call("INCR", key)\nend\ntouch(KEYS[1])\ntouch(ARGV[1])\nreturn 1',
      ),
    );
    expect(keyProblems(viaHelper)).toEqual(["INCR key: key not from KEYS"]);
  });

  it("accept a key reached through a local or a helper's parameter that only ever holds KEYS", () => {
    const ok = parseSource(
      "bad",
      header(
        'local function touch(key, other)\n  redis.call("INCR", key)\nend\nlocal k = KEYS[1]\ntouch(k, ARGV[1])\nreturn 1',
      ),
    );
    expect(keyProblems(ok)).toEqual([]);
  });

  it("accept a table of keys passed to a helper, and find one with a field not from KEYS", () => {
    const body = (extra: string): string =>
      header(
        'local function drop(c, state)\n  local key = c[state]\n  redis.call("DEL", c.a, key)\nend\n' +
          `local t = {\n  a = KEYS[1], b = KEYS[1],\n}\n${extra}drop(t, ARGV[1])\nreturn 1`,
      );
    expect(keyProblems(parseSource("bad", body("t.c = KEYS[1]\n")))).toEqual([]);
    expect(keyProblems(parseSource("bad", body("t.c = ARGV[1]\n")))).toEqual([
      "DEL c.a: key not from KEYS",
      "DEL key: key not from KEYS",
    ]);
  });

  it("follow a helper passed as a callback: accept it when it only gets KEYS, else find the key", () => {
    const loop = (passed: string, use: string): string =>
      header(
        "local function each(first, act)\n  for i = first, #ARGV do\n" +
          `    act(${passed}, ARGV[i])\n  end\nend\n` +
          'local function touch(key, value)\n  redis.call("SET", key, value)\nend\n' +
          `${use}\nreturn 1`,
      );
    expect(keyProblems(parseSource("bad", loop("KEYS[i]", "each(1, touch)")))).toEqual([]);
    expect(keyProblems(parseSource("bad", loop('ARGV[i] .. ":t"', "each(1, touch)")))).toEqual([
      "SET key: key not from KEYS",
    ]);
    // Passed on through a second helper's parameter, and called directly as well.
    const relay = "local function twice(f)\n  each(1, f)\n  each(2, f)\nend\ntwice(touch)\ntouch(KEYS[1], 1)";
    expect(keyProblems(parseSource("bad", loop("KEYS[i]", relay)))).toEqual([]);
    expect(keyProblems(parseSource("bad", loop("KEYS[i]", `${relay}\ntouch(ARGV[1], 1)`)))).toEqual([
      "SET key: key not from KEYS",
    ]);
    // A helper that escapes where calls cannot be followed (a local, a table, pcall, a return) is
    // never taken to hold keys, not even as a helper that no call reaches.
    for (const escape of [
      "local g = touch\ng(ARGV[1], 1)",
      "local t = { touch }",
      "pcall(touch, ARGV[1], 1)",
      "return touch",
    ]) {
      expect(keyProblems(parseSource("bad", loop("KEYS[i]", `each(1, touch)\n${escape}`))), escape).toEqual([
        "SET key: key not from KEYS",
      ]);
    }
    // An anonymous callback is not followed at all: its parameters never count as keys.
    const anonymous = header(
      'local function each(act)\n  act(KEYS[1])\nend\neach(function(key)\n  redis.call("DEL", key)\nend)\nreturn 1',
    );
    expect(keyProblems(parseSource("bad", anonymous))).toEqual(["DEL key: key not from KEYS"]);
  });

  it("find undocumented, unused and variable-indexed KEYS / ARGV, and a missing Returns:", () => {
    const bad = parseSource(
      "bad",
      "-- bad: x\n--\n-- KEYS[1] -> a\n-- KEYS[3] -> c\n--\n" +
        'redis.call("GET", KEYS[2])\nfor i = 1, #ARGV do redis.call("GET", KEYS[i]) end\nreturn ARGV[1]',
    );
    expect(docProblems(bad, "KEYS")).toEqual([
      "KEYS[2] is used but not documented",
      "KEYS is indexed by a variable but no KEYS[n...] / KEYS[n+i] entry documents it",
      "KEYS[1] is documented but not used",
      "KEYS[3] is documented but not used",
      "documented KEYS are not numbered 1..k in order (found KEYS[3])",
    ]);
    expect(docProblems(bad, "ARGV")).toEqual(["ARGV[1] is used but not documented"]);
    expect(returnsProblems(bad)).toEqual(["no 'Returns:' line in the header"]);
  });
});

describe("the oracle's enqueue calls match the script headers", () => {
  const msg = newTaskMessage({ type: "t", id: "id-1", queue: "q{x", payload: Buffer.from("p") });
  const unique = uniqueKey("q{x", "t", Buffer.from("p"));
  const requests: Array<[string, EnqueueRequest]> = [
    ["pending", { msg, target: { kind: "pending" } }],
    [
      "pending unique",
      { msg: { ...msg, uniqueKey: unique }, target: { kind: "pending" }, uniqueTtlSeconds: 5 },
    ],
    ["scheduled", { msg, target: { kind: "scheduled", processAtSeconds: 2_000_000_000 } }],
    [
      "scheduled unique",
      {
        msg: { ...msg, uniqueKey: unique },
        target: { kind: "scheduled", processAtSeconds: 2_000_000_000 },
        uniqueTtlSeconds: 5,
      },
    ],
    ["group", { msg: { ...msg, groupKey: "g" }, target: { kind: "group", group: "g" } }],
    [
      "group unique",
      {
        msg: { ...msg, groupKey: "g", uniqueKey: unique },
        target: { kind: "group", group: "g" },
        uniqueTtlSeconds: 5,
      },
    ],
  ];

  it.each(requests)("%s: as many KEYS and ARGV as documented, all keys in the queue's slot", (_, req) => {
    const call = enqueueCall(req, 2_000_000_000_000, "2000000000000000000");
    const script = parse(`${call.script.name}.lua`);
    expect(call.keys).toHaveLength(script.keys.fixed.length);
    expect(call.args).toHaveLength(script.argv.fixed.length);
    for (const key of call.keys) expect(key.startsWith("asynq:{q{x}:"), key).toBe(true);
    expect(call.script.sha).toBe(
      createHash("sha1")
        .update(load(`${call.script.name}.lua`).source)
        .digest("hex"),
    );
  });
});

describe("runScript", () => {
  let redis: Redis;
  let server: PrivateRedis;

  // A private Redis: these tests flush and inspect the script cache, which other test files share.
  beforeAll(async () => {
    server = await startPrivateRedis();
    redis = new Redis(server.url);
  });

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  beforeEach(async () => {
    await redis.flushdb();
  });

  /** A script no one else has loaded (unique source, so a unique SHA). */
  function freshScript(body: string): LuaScript {
    return new LuaScript("test", `-- ${randomUUID()}\n${body}`);
  }

  async function cached(script: LuaScript): Promise<boolean> {
    const [exists] = (await redis.script("EXISTS", script.sha)) as number[];
    return exists === 1;
  }

  it("runs a cached script with EVALSHA", async () => {
    const script = freshScript("return redis.call('INCR', KEYS[1]) + tonumber(ARGV[1])");
    await redis.script("LOAD", script.source);
    expect(await runScript(redis, script, ["counter"], [10])).toBe(11);
    expect(await redis.get("counter")).toBe("1");
  });

  it("falls back to EVAL after SCRIPT FLUSH, which caches the script again", async () => {
    const script = freshScript("return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}");
    await redis.script("LOAD", script.source);
    expect(await cached(script)).toBe(true);
    await redis.script("FLUSH");
    expect(await cached(script)).toBe(false);

    expect(await runScript(redis, script, ["k"], ["v"])).toEqual(["k", "v", 1]);
    expect(await cached(script)).toBe(true);
    // Run exactly once: the NOSCRIPT attempt did not execute anything.
    expect(await redis.get("k")).toBe("1");
  });

  it("falls back to EVAL in Buffer mode too (binary replies)", async () => {
    const script = freshScript("return ARGV[1]");
    await redis.script("FLUSH");
    const bytes = Buffer.from([0, 255, 128, 1]);
    const reply = await runScript(redis, script, [], [bytes], true);
    expect(reply).toEqual(bytes);
    expect(await cached(script)).toBe(true);
  });

  it("falls back to EVAL for a script never loaded", async () => {
    const script = freshScript("return 'first time'");
    expect(await cached(script)).toBe(false);
    expect(await runScript(redis, script, [], [])).toBe("first time");
  });

  it("propagates a script error without re-running the script", async () => {
    const script = freshScript("redis.call('INCR', KEYS[1]); return redis.error_reply('boom')");
    await redis.script("LOAD", script.source);
    await expect(runScript(redis, script, ["runs"], [])).rejects.toThrow(/boom/);
    expect(await redis.get("runs")).toBe("1");
  });

  it("propagates a script error after a NOSCRIPT fallback, having run the script once", async () => {
    const script = freshScript("redis.call('INCR', KEYS[1]); return redis.error_reply('boom')");
    await expect(runScript(redis, script, ["runs"], [])).rejects.toThrow(/boom/);
    expect(await redis.get("runs")).toBe("1");
  });

  it("loads every script file with its includes expanded, each once, and the SHA1 of that source", () => {
    const lib = (name: string): string => readFileSync(new URL(`lua/${name}.lua`, BROKER_DIR), "utf8");
    for (const file of brokerFiles) {
      const script = LuaScript.fromFile(file.replace(/\.lua$/, ""));
      const raw = readFileSync(new URL(file, BROKER_DIR), "utf8");
      // Expected: depth first, each library at the place it is first named, never twice.
      const seen = new Set<string>();
      const expand = (text: string): string =>
        text.replace(/^-- @include ([a-z_]+)\n/gm, (_, name: string) => {
          if (seen.has(name)) return "";
          seen.add(name);
          return expand(lib(name));
        });
      const expanded = expand(raw);
      expect(script.source).toBe(expanded);
      expect(script.source).not.toContain("@include");
      expect(script.sha).toBe(createHash("sha1").update(expanded).digest("hex"));
      // A library function is defined once in the source Redis gets.
      const defined = [...expanded.matchAll(/^local function (\w+)/gm)].map((m) => m[1]!);
      expect(new Set(defined).size, file).toBe(defined.length);
    }
  });

  it("runs every script file on Redis without a Lua error (syntax check via SCRIPT LOAD)", async () => {
    for (const file of files) {
      const script = load(file);
      expect(await redis.script("LOAD", script.source)).toBe(script.sha);
    }
  });
});
