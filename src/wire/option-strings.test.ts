// Tests of asynq's Option.String() forms against wire-format §6.3 and the Go-generated test vectors.
import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { GoFormatError } from "./go-format.js";
import { OptionStringError, formatOption, parseOption, type OptionValue } from "./option-strings.js";
import { pathToFileURL } from "node:url";
import { GOLDEN_DIR } from "../../test/support/golden.js";

const at = (iso: string): Date => new Date(iso);

/** Go `String()` outputs and the values they stand for (both directions hold). */
const EXACT: [OptionValue, string][] = [
  [{ kind: "MaxRetry", value: 3 }, "MaxRetry(3)"],
  [{ kind: "MaxRetry", value: 0 }, "MaxRetry(0)"],
  [{ kind: "MaxRetry", value: 25 }, "MaxRetry(25)"],
  [{ kind: "Queue", value: "critical" }, 'Queue("critical")'],
  [{ kind: "Queue", value: 'crit"ical\n✓\x01' }, 'Queue("crit\\"ical\\n✓\\x01")'],
  [{ kind: "Queue", value: "очередь" }, 'Queue("очередь")'],
  [{ kind: "Queue", value: "" }, 'Queue("")'],
  [{ kind: "Queue", value: "soft\u00adhyphen\u00a0nbsp" }, 'Queue("soft\\u00adhyphen\\u00a0nbsp")'],
  [{ kind: "TaskID", value: "abc" }, 'TaskID("abc")'],
  [{ kind: "TaskID", value: "order:2024/05#1 ü" }, 'TaskID("order:2024/05#1 ü")'],
  [{ kind: "Timeout", ms: 30_000 }, "Timeout(30s)"],
  [{ kind: "Timeout", ms: 90_000 }, "Timeout(1m30s)"],
  [{ kind: "Timeout", ms: 3_600_000 }, "Timeout(1h0m0s)"],
  [{ kind: "Timeout", ms: 500 }, "Timeout(500ms)"],
  [{ kind: "Timeout", ms: 0 }, "Timeout(0s)"],
  [{ kind: "Timeout", ms: 1.5 }, "Timeout(1.5ms)"],
  [{ kind: "Timeout", ms: 129_690_500 }, "Timeout(36h1m30.5s)"],
  [{ kind: "Timeout", ms: -1000 }, "Timeout(-1s)"],
  [{ kind: "Deadline", at: at("2026-02-03T09:05:07Z") }, "Deadline(Tue Feb  3 09:05:07 UTC 2026)"],
  [{ kind: "Deadline", at: at("2030-01-01T00:00:00Z") }, "Deadline(Tue Jan  1 00:00:00 UTC 2030)"],
  [{ kind: "Unique", ms: 3_600_000 }, "Unique(1h0m0s)"],
  [{ kind: "ProcessAt", at: at("2030-01-02T03:04:05Z") }, "ProcessAt(Wed Jan  2 03:04:05 UTC 2030)"],
  [{ kind: "ProcessAt", at: at("2024-12-25T18:30:00Z") }, "ProcessAt(Wed Dec 25 18:30:00 UTC 2024)"],
  [{ kind: "ProcessIn", ms: 600_000 }, "ProcessIn(10m0s)"],
  [{ kind: "ProcessIn", ms: 5_400_000 }, "ProcessIn(1h30m0s)"],
  [{ kind: "Retention", ms: 86_400_000 }, "Retention(24h0m0s)"],
  [{ kind: "Group", value: "batch" }, 'Group("batch")'],
  [{ kind: "Header", key: "trace", value: "abc" }, 'Header(["trace","abc"])'],
  [
    { kind: "Header", key: "<a&b>", value: 'q"\\\n\u2028ü' },
    'Header(["\\u003ca\\u0026b\\u003e","q\\"\\\\\\n\\u2028ü"])',
  ],
];

describe("formatOption", () => {
  it.each(EXACT)("%j → %s", (o, want) => {
    expect(formatOption(o)).toBe(want);
  });

  it("clamps a negative MaxRetry to 0, as Go's MaxRetry(n) does", () => {
    expect(formatOption({ kind: "MaxRetry", value: -3 })).toBe("MaxRetry(0)");
  });

  it("drops sub-second parts of times, like Go's UnixDate layout", () => {
    expect(formatOption({ kind: "Deadline", at: at("2030-01-01T00:00:00.999Z") })).toBe(
      "Deadline(Tue Jan  1 00:00:00 UTC 2030)",
    );
  });

  it.each<OptionValue>([
    { kind: "MaxRetry", value: 1.5 },
    { kind: "MaxRetry", value: Number.NaN },
    { kind: "Timeout", ms: Number.POSITIVE_INFINITY },
    { kind: "Unique", ms: 1e16 },
    { kind: "Deadline", at: new Date(Number.NaN) },
    { kind: "Queue", value: "bad\ud800" },
    { kind: "Header", key: "k", value: "\udc00" },
  ])("rejects %j with a typed error", (o) => {
    expect(() => formatOption(o)).toThrow(OptionStringError);
    try {
      formatOption(o);
    } catch (err) {
      expect((err as OptionStringError).code).toBe("ERR_OPTION_STRING");
      expect((err as OptionStringError).input).toBe(o.kind);
    }
  });
});

describe("parseOption", () => {
  it.each(EXACT.map(([o, s]) => [s, o] as const))("%s → %j", (s, want) => {
    expect(parseOption(s)).toEqual(want);
  });

  it.each<[string, OptionValue]>([
    ["MaxRetry(-3)", { kind: "MaxRetry", value: 0 }],
    ["MaxRetry(+3)", { kind: "MaxRetry", value: 3 }],
    ["MaxRetry(007)", { kind: "MaxRetry", value: 7 }],
    ["Timeout(1h30m)", { kind: "Timeout", ms: 5_400_000 }],
    ["Timeout(0)", { kind: "Timeout", ms: 0 }],
    ["Unique(1.5h)", { kind: "Unique", ms: 5_400_000 }],
    ["ProcessIn(1µs)", { kind: "ProcessIn", ms: 0.001 }],
    ["Retention(2\u03bcs)", { kind: "Retention", ms: 0.002 }],
    ["ProcessAt(Tue Feb  3 18:05:07 JST 2026)", { kind: "ProcessAt", at: at("2026-02-03T09:05:07Z") }],
    ["Deadline(Tue Feb  3 02:05:07 -0700 2026)", { kind: "Deadline", at: at("2026-02-03T09:05:07Z") }],
    ['Queue("\\u263a\\x41\\101")', { kind: "Queue", value: "☺AA" }],
    // Lenient: the argument runs to the LAST ")", so parentheses inside quoted strings survive.
    ['Queue("a(b)")', { kind: "Queue", value: "a(b)" }],
    ['Group("x)y")', { kind: "Group", value: "x)y" }],
    ['Header(["a)","(b"])', { kind: "Header", key: "a)", value: "(b" }],
    ['Header([ "k" , "v" ])', { kind: "Header", key: "k", value: "v" }],
    ['Header(["\\ud800","v"])', { kind: "Header", key: "\ufffd", value: "v" }],
  ])("%s → %j", (s, want) => {
    expect(parseOption(s)).toEqual(want);
  });

  it.each([
    "",
    "Queue",
    'Queue"a")',
    'Queue("a"',
    'Queue("a")x',
    ')Queue("a"',
    'queue("a")',
    ' Queue("a")',
    'Queue ("a")',
    "Foo(1)",
    "()",
    "MaxRetry()",
    "MaxRetry(abc)",
    "MaxRetry(1.5)",
    "MaxRetry( 3)",
    "MaxRetry(1e3)",
    "MaxRetry(99999999999999999999)",
    "Timeout()",
    "Timeout(1d)",
    "Timeout(30)",
    "Unique(-)",
    "Deadline()",
    "Deadline(2030-01-01T00:00:00Z)",
    "ProcessAt(Tue Jan  1 00:00:00 XYZ 2030)",
    "Queue()",
    "Queue(abc)",
    "Queue('a')",
    'Queue("a\\q")',
    'TaskID("\\xff")',
    "Group(`g1`)",
    "Header()",
    "Header(nope)",
    'Header(["a"])',
    'Header(["a","b","c"])',
    "Header([1,2])",
    'Header({"a":"b"})',
  ])("rejects %j with a typed error naming the string", (s) => {
    let caught: unknown;
    try {
      parseOption(s);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(OptionStringError);
    const err = caught as OptionStringError;
    expect(err.code).toBe("ERR_OPTION_STRING");
    expect(err.input).toBe(s);
    expect(err.message).toContain(JSON.stringify(s));
  });

  it("keeps the Go format error as the cause", () => {
    try {
      parseOption("Timeout(1d)");
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(OptionStringError);
      expect((err as OptionStringError).cause).toBeInstanceOf(GoFormatError);
      expect((err as OptionStringError).message).toContain('time: unknown unit "d"');
    }
  });
});

// ---- The Go-generated vectors --------------------------------------------------------------------

const VECTORS = pathToFileURL(GOLDEN_DIR);

function readJson(url: URL): unknown {
  return JSON.parse(readFileSync(url, "utf8")) as unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every `enqueue_options` string array anywhere in `v` (decoded SchedulerEntry values). */
function collectEnqueueOptions(v: unknown, out: string[]): void {
  if (Array.isArray(v)) {
    for (const x of v) collectEnqueueOptions(x, out);
  } else if (isRecord(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (k === "enqueue_options" && Array.isArray(x)) out.push(...x.filter((s) => typeof s === "string"));
      else collectEnqueueOptions(x, out);
    }
  }
}

function vectorOptionStrings(): string[] {
  const out: string[] = [];
  // protobuf.json: messages.SchedulerEntry[].fields.enqueue_options (and anything else that has them).
  collectEnqueueOptions(readJson(new URL("protobuf.json", VECTORS)), out);
  // redis-snapshots: ops[].args.options, plus decoded SchedulerEntry values in the snapshots.
  const dir = new URL("redis-snapshots/", VECTORS);
  for (const name of readdirSync(dir).filter((n) => n.endsWith(".json"))) {
    const doc = readJson(new URL(name, dir));
    collectEnqueueOptions(doc, out);
    const ops = isRecord(doc) && Array.isArray(doc.ops) ? (doc.ops as unknown[]) : [];
    for (const op of ops) {
      const options = isRecord(op) && isRecord(op.args) ? op.args.options : undefined;
      if (Array.isArray(options)) out.push(...options.filter((s): s is string => typeof s === "string"));
    }
  }
  return out;
}

describe("option strings written by Go (test/golden)", () => {
  const strings = vectorOptionStrings();

  it("finds a non-trivial number of option strings of every kind Go wrote", () => {
    expect(strings.length).toBeGreaterThanOrEqual(50);
    const kinds = new Set(strings.map((s) => s.slice(0, s.indexOf("("))));
    for (const k of [
      "MaxRetry",
      "Queue",
      "TaskID",
      "Timeout",
      "Deadline",
      "Unique",
      "ProcessAt",
      "ProcessIn",
      "Retention",
      "Group",
    ]) {
      expect(kinds).toContain(k);
    }
  });

  it("parses every one and formats it back to the identical string", () => {
    for (const s of new Set(strings)) {
      expect(formatOption(parseOption(s)), s).toBe(s);
    }
  });

  it("reads the all_option_kinds SchedulerEntry as the values Go registered", () => {
    const doc = readJson(new URL("protobuf.json", VECTORS)) as {
      messages: { SchedulerEntry: { name: string; fields: { enqueue_options?: string[] } }[] };
    };
    const entry = doc.messages.SchedulerEntry.find((c) => c.name === "all_option_kinds");
    expect(entry?.fields.enqueue_options?.map(parseOption)).toEqual([
      { kind: "MaxRetry", value: 5 },
      { kind: "Queue", value: "critical" },
      { kind: "TaskID", value: "my-id" },
      { kind: "Timeout", ms: 90_000 },
      { kind: "Deadline", at: at("2030-01-02T03:04:05Z") },
      { kind: "Unique", ms: 3_600_000 },
      { kind: "ProcessAt", at: at("2030-01-02T03:04:05Z") },
      { kind: "ProcessIn", ms: 5_400_000 },
      { kind: "Retention", ms: 86_400_000 },
      { kind: "Group", value: "g1" },
    ]);
  });
});
