// Tests of the Go formatting primitives against outputs of Go's time, strconv and encoding/json packages.
import { describe, expect, it } from "vitest";
import {
  GoFormatError,
  formatGoDuration,
  formatGoDurationNs,
  formatUnixDate,
  goJsonQuote,
  goQuote,
  goUnquote,
  parseGoDuration,
  parseGoDurationNs,
  parseUnixDate,
} from "./go-format.js";

const MAX_INT64 = (1n << 63n) - 1n;
const MIN_INT64 = -(1n << 63n);

function expectGoError(fn: () => unknown): GoFormatError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GoFormatError);
    expect((err as GoFormatError).code).toBe("ERR_GO_FORMAT");
    return err as GoFormatError;
  }
  throw new Error("expected a GoFormatError");
}

describe("formatGoDurationNs (Go's durationTests)", () => {
  it.each<[bigint, string]>([
    [0n, "0s"],
    [1n, "1ns"],
    [1100n, "1.1µs"],
    [2_200_000n, "2.2ms"],
    [3_300_000_000n, "3.3s"],
    [245_000_000_000n, "4m5s"],
    [245_001_000_000n, "4m5.001s"],
    [18_367_001_000_000n, "5h6m7.001s"],
    [480_000_000_001n, "8m0.000000001s"],
    [MAX_INT64, "2562047h47m16.854775807s"],
    [MIN_INT64, "-2562047h47m16.854775808s"],
    [-1n, "-1ns"],
    [999_999_999n, "999.999999ms"],
    [1_000_000_000n, "1s"],
    [86_400_000_000_000n, "24h0m0s"],
  ])("%s ns → %s", (ns, want) => {
    expect(formatGoDurationNs(ns)).toBe(want);
  });

  it("uses U+00B5 MICRO SIGN for microseconds", () => {
    expect(formatGoDurationNs(1000n)).toBe("1\u00b5s");
  });

  it("rejects values outside int64", () => {
    expectGoError(() => formatGoDurationNs(MAX_INT64 + 1n));
    expectGoError(() => formatGoDurationNs(MIN_INT64 - 1n));
  });
});

describe("formatGoDuration (milliseconds)", () => {
  it.each<[number, string]>([
    [0, "0s"],
    [-0, "0s"],
    [1.5, "1.5ms"],
    [500, "500ms"],
    [0.001, "1µs"],
    [0.0015, "1.5µs"],
    [0.000001, "1ns"],
    [1000, "1s"],
    [30_000, "30s"],
    [90_000, "1m30s"],
    [120_000, "2m0s"],
    [600_000, "10m0s"],
    [3_600_000, "1h0m0s"],
    [5_400_000, "1h30m0s"],
    [86_400_000, "24h0m0s"],
    [129_690_500, "36h1m30.5s"],
    [-1500, "-1.5s"],
    [-90_000, "-1m30s"],
    [1_000.000_001, "1.000000001s"],
  ])("%s ms → %s", (ms, want) => {
    expect(formatGoDuration(ms)).toBe(want);
  });

  it("rejects non-finite and out-of-range values", () => {
    expectGoError(() => formatGoDuration(Number.NaN));
    expectGoError(() => formatGoDuration(Number.POSITIVE_INFINITY));
    expectGoError(() => formatGoDuration(1e13)); // ~317 years > Go's ~292-year limit
  });
});

describe("parseGoDurationNs (Go's parseDurationTests)", () => {
  it.each<[string, bigint]>([
    ["0", 0n],
    ["5s", 5_000_000_000n],
    ["30s", 30_000_000_000n],
    ["1478s", 1_478_000_000_000n],
    ["-5s", -5_000_000_000n],
    ["+5s", 5_000_000_000n],
    ["-0", 0n],
    ["+0", 0n],
    ["5.0s", 5_000_000_000n],
    ["5.6s", 5_600_000_000n],
    ["5.s", 5_000_000_000n],
    [".5s", 500_000_000n],
    ["1.0s", 1_000_000_000n],
    ["1.00s", 1_000_000_000n],
    ["1.004s", 1_004_000_000n],
    ["1.0040s", 1_004_000_000n],
    ["100.00100s", 100_001_000_000n],
    ["10ns", 10n],
    ["11us", 11_000n],
    ["12µs", 12_000n], // U+00B5
    ["12μs", 12_000n], // U+03BC
    ["13ms", 13_000_000n],
    ["14s", 14_000_000_000n],
    ["15m", 900_000_000_000n],
    ["16h", 57_600_000_000_000n],
    ["3h30m", 12_600_000_000_000n],
    ["10.5s4m", 250_500_000_000n],
    ["-2m3.4s", -123_400_000_000n],
    ["1h2m3s4ms5us6ns", 3_723_004_005_006n],
    ["39h9m14.425s", 140_954_425_000_000n],
    ["52763797000ns", 52_763_797_000n],
    ["0.3333333333333333333h", 1_200_000_000_000n],
    ["9007199254740993ns", 9_007_199_254_740_993n],
    ["9223372036854775807ns", MAX_INT64],
    ["9223372036854775.807us", MAX_INT64],
    ["9223372036s854ms775us807ns", MAX_INT64],
    ["-9223372036854775808ns", MIN_INT64],
    ["-9223372036854775.808us", MIN_INT64],
    ["-9223372036s854ms775us808ns", MIN_INT64],
    ["-2562047h47m16.854775808s", MIN_INT64],
    ["0.100000000000000000000h", 360_000_000_000n],
    ["0.830103483285477580700h", 2_988_372_539_827n],
  ])("%s → %s ns", (s, want) => {
    expect(parseGoDurationNs(s)).toBe(want);
  });

  it.each([
    "",
    "3",
    "-",
    "s",
    ".",
    "-.",
    ".s",
    "+.s",
    "1d",
    "1 s",
    " 1s",
    "1s ",
    "1S",
    "1sec",
    "\u0085\u0085",
    "9223372036854775810ns",
    "9223372036854775808ns",
    "-9223372036854775809ns",
    "9223372036854775.808us",
    "9223372036854ms775us808ns",
    "2562047h47m16.854775808s",
    "1e3s",
  ])("rejects %j", (s) => {
    expectGoError(() => parseGoDurationNs(s));
  });

  it("uses Go's error messages", () => {
    expect(expectGoError(() => parseGoDurationNs("3")).message).toBe('time: missing unit in duration "3"');
    expect(expectGoError(() => parseGoDurationNs("1d")).message).toBe(
      'time: unknown unit "d" in duration "1d"',
    );
    expect(expectGoError(() => parseGoDurationNs("x")).message).toBe('time: invalid duration "x"');
  });
});

describe("parseGoDuration (milliseconds)", () => {
  it.each<[string, number]>([
    ["0s", 0],
    ["1.5ms", 1.5],
    ["500ms", 500],
    ["1µs", 0.001],
    ["1h0m0s", 3_600_000],
    ["36h1m30.5s", 129_690_500],
    ["-1.5s", -1500],
  ])("%s → %s ms", (s, want) => {
    expect(parseGoDuration(s)).toBe(want);
  });

  it("round-trips with formatGoDuration", () => {
    for (const s of [
      "1ns",
      "1.1µs",
      "999.999999ms",
      "4m5.001s",
      "5h6m7.001s",
      "8m0.000000001s",
      "-36h1m30.5s",
    ]) {
      expect(formatGoDuration(parseGoDuration(s))).toBe(s);
    }
  });
});

describe("goQuote (strconv.Quote / %q)", () => {
  it.each<[string, string]>([
    ["", '""'],
    ["critical", '"critical"'],
    ['crit"ical\n✓\x01', '"crit\\"ical\\n✓\\x01"'],
    ["\x07\b\f\r\n\t\v", '"\\a\\b\\f\\r\\n\\t\\v"'],
    ["\\", '"\\\\"'],
    ["\u263a", '"☺"'],
    ["\u{10ffff}", '"\\U0010ffff"'],
    ["\x04", '"\\x04"'],
    ["\x00", '"\\x00"'],
    ["\x7f", '"\\x7f"'],
    ["!\u00a0!\u2000!\u3000!", '"!\\u00a0!\\u2000!\\u3000!"'],
    ["soft\u00adhyphen", '"soft\\u00adhyphen"'],
    ["\u0085", '"\\u0085"'],
    ["\u200b\ufeff\u2028", '"\\u200b\\ufeff\\u2028"'],
    ["\ue000", '"\\ue000"'],
    ["\u{f0000}", '"\\U000f0000"'],
    ["order:2024/05#1 ü", '"order:2024/05#1 ü"'],
    ["очередь", '"очередь"'],
    ["メール:送信", '"メール:送信"'],
    ["😀👍🏽", '"😀👍🏽"'],
    ["e\u0301", '"e\u0301"'],
    ["¡ÿ", '"¡ÿ"'],
    ["'single'", "\"'single'\""],
  ])("%j → %s", (s, want) => {
    expect(goQuote(s)).toBe(want);
  });

  it("rejects lone surrogates", () => {
    expectGoError(() => goQuote("a\ud800b"));
    expectGoError(() => goQuote("\udc00"));
  });
});

describe("goUnquote (strconv.Unquote, double-quoted)", () => {
  it.each<[string, string]>([
    ['""', ""],
    ['"abc"', "abc"],
    ['"crit\\"ical\\n✓\\x01"', 'crit"ical\n✓\x01'],
    ['"\\a\\b\\f\\n\\r\\t\\v\\\\\\""', '\x07\b\f\n\r\t\v\\"'],
    ['"\\u263a"', "☺"],
    ['"\\u263A"', "☺"],
    ['"\\U0001F600"', "😀"],
    ['"\\x41"', "A"],
    ['"\\101"', "A"],
    ['"\\303\\274"', "ü"],
    ['"\\xc3\\xbc"', "ü"],
    ['"tab\there"', "tab\there"],
    ['"ü ✓ 😀"', "ü ✓ 😀"],
  ])("%s → %j", (s, want) => {
    expect(goUnquote(s)).toBe(want);
  });

  it.each([
    "",
    '"',
    '"a',
    'a"',
    '"\\"',
    '"a"b"',
    "'a'",
    "`a`",
    '"\n"',
    '"\\q"',
    '"\\\'"',
    '"\\x4"',
    '"\\xg0"',
    '"\\u12"',
    '"\\ud800"',
    '"\\U00110000"',
    '"\\400"',
    '"\\18"',
    '"\\xff"',
    '"\\377\\xbf"',
    '"\\xc3"',
    '"a\ud800"',
  ])("rejects %j", (s) => {
    expectGoError(() => goUnquote(s));
  });

  it("inverts goQuote", () => {
    const samples = [
      "",
      'crit"ical\n✓\x01',
      "\x00\x7f\u0085\u00a0\u00ad\u2028\ufeff\ue000\u{10ffff}",
      "order:2024/05#1 ü",
      "очередь メール 😀",
      "\\x41 \\u263a",
    ];
    for (let cp = 0; cp < 0x3000; cp += 7)
      samples.push(String.fromCodePoint(cp, cp + 1, 0x1f600 + (cp % 50)));
    for (const s of samples) expect(goUnquote(goQuote(s))).toBe(s);
  });
});

describe("goJsonQuote (encoding/json)", () => {
  it.each<[string, string]>([
    ["trace", '"trace"'],
    ['a"b\\c', '"a\\"b\\\\c"'],
    ["<script>&", '"\\u003cscript\\u003e\\u0026"'],
    ["\b\f\n\r\t", '"\\b\\f\\n\\r\\t"'],
    ["\x00\x01\x1f\x0b", '"\\u0000\\u0001\\u001f\\u000b"'],
    ["\x7f", '"\x7f"'],
    ["\u2028\u2029", '"\\u2028\\u2029"'],
    ["ü✓😀\u00ad", '"ü✓😀\u00ad"'],
  ])("%j → %s", (s, want) => {
    expect(goJsonQuote(s)).toBe(want);
  });

  it("is valid JSON that JSON.parse reads back", () => {
    const s = '<a&b>\u2028\x01"\\ ü';
    expect(JSON.parse(goJsonQuote(s))).toBe(s);
  });

  it("rejects lone surrogates", () => {
    expectGoError(() => goJsonQuote("\ud83d"));
  });
});

describe("formatUnixDate (time.UnixDate in UTC)", () => {
  it.each<[Date, string]>([
    [new Date(Date.UTC(2030, 0, 1)), "Tue Jan  1 00:00:00 UTC 2030"],
    [new Date(Date.UTC(2030, 0, 2, 3, 4, 5)), "Wed Jan  2 03:04:05 UTC 2030"],
    [new Date(Date.UTC(2026, 1, 3, 9, 5, 7)), "Tue Feb  3 09:05:07 UTC 2026"],
    [new Date(Date.UTC(2020, 0, 1)), "Wed Jan  1 00:00:00 UTC 2020"],
    [new Date(Date.UTC(2024, 11, 31, 23, 59, 59, 999)), "Tue Dec 31 23:59:59 UTC 2024"],
    [new Date(0), "Thu Jan  1 00:00:00 UTC 1970"],
    [new Date(-500), "Wed Dec 31 23:59:59 UTC 1969"],
    [new Date("2006-01-02T22:04:05Z"), "Mon Jan  2 22:04:05 UTC 2006"],
    [new Date("0099-07-04T00:00:00Z"), "Sat Jul  4 00:00:00 UTC 0099"],
  ])("%s → %s", (d, want) => {
    expect(formatUnixDate(d)).toBe(want);
  });

  it("formats Go's zero time", () => {
    expect(formatUnixDate(new Date(-62135596800000))).toBe("Mon Jan  1 00:00:00 UTC 0001");
  });

  it("rejects an invalid Date", () => {
    expectGoError(() => formatUnixDate(new Date(Number.NaN)));
  });
});

describe("parseUnixDate (time.Parse(time.UnixDate, s))", () => {
  it.each<[string, string]>([
    ["Tue Jan  1 00:00:00 UTC 2030", "2030-01-01T00:00:00.000Z"],
    ["Wed Jan  2 03:04:05 UTC 2030", "2030-01-02T03:04:05.000Z"],
    ["Tue Feb  3 09:05:07 UTC 2026", "2026-02-03T09:05:07.000Z"],
    ["Tue Dec 31 23:59:59 UTC 2024", "2024-12-31T23:59:59.000Z"],
    ["Mon Jan  1 00:00:00 UTC 0001", "0001-01-01T00:00:00.000Z"],
    ["Sat Jul  4 00:00:00 UTC 0099", "0099-07-04T00:00:00.000Z"],
    ["Thu Feb 29 12:00:00 UTC 2024", "2024-02-29T12:00:00.000Z"],
    // Go's leniency: runs of spaces, 1-2 digit day and hour, case-insensitive names, fractions.
    ["Tue Feb 3 09:05:07 UTC 2026", "2026-02-03T09:05:07.000Z"],
    ["Tue Feb 03 9:05:07 UTC 2026", "2026-02-03T09:05:07.000Z"],
    ["tue FEB  3 09:05:07   UTC  2026", "2026-02-03T09:05:07.000Z"],
    ["Tue Feb  3 09:05:07.123456789 UTC 2026", "2026-02-03T09:05:07.123Z"],
    ["Tue Feb  3 09:05:07,5 UTC 2026", "2026-02-03T09:05:07.500Z"],
    // The weekday is checked for syntax only (Jan 1 2030 is a Tuesday).
    ["Mon Jan  1 00:00:00 UTC 2030", "2030-01-01T00:00:00.000Z"],
    // Zones.
    ["Tue Feb  3 09:05:07 GMT 2026", "2026-02-03T09:05:07.000Z"],
    ["Tue Feb  3 09:05:07 Z 2026", "2026-02-03T09:05:07.000Z"],
    ["Tue Feb  3 18:05:07 JST 2026", "2026-02-03T09:05:07.000Z"],
    ["Tue Feb  3 18:05:07 +0900 2026", "2026-02-03T09:05:07.000Z"],
    ["Tue Feb  3 18:05:07 +09:00 2026", "2026-02-03T09:05:07.000Z"],
    ["Tue Feb  3 18:05:07 +09 2026", "2026-02-03T09:05:07.000Z"],
    ["Tue Feb  3 18:05:07 GMT+9 2026", "2026-02-03T09:05:07.000Z"],
    ["Tue Feb  3 02:05:07 -0700 2026", "2026-02-03T09:05:07.000Z"],
    ["Tue Feb  3 01:05:07 PST 2026", "2026-02-03T09:05:07.000Z"],
    ["Tue Feb  3 10:05:07 CET 2026", "2026-02-03T09:05:07.000Z"],
    ["Tue Feb  3 14:35:07 +0530 2026", "2026-02-03T09:05:07.000Z"],
  ])("%s → %s", (s, want) => {
    expect(parseUnixDate(s).toISOString()).toBe(want);
  });

  it.each([
    "",
    "2026-02-03T09:05:07Z",
    "Tue Feb  3 09:05:07 UTC 26",
    "Tue Feb  3 09:05:07 UTC 2026 ",
    "Tue Feb  3 09:05:07 UTC 20261",
    " Tue Feb  3 09:05:07 UTC 2026",
    "Xyz Feb  3 09:05:07 UTC 2026",
    "Tue Foo  3 09:05:07 UTC 2026",
    "Tue Feb 30 09:05:07 UTC 2026",
    "Tue Feb 29 09:05:07 UTC 2026",
    "Tue Feb  0 09:05:07 UTC 2026",
    "Tue Feb 32 09:05:07 UTC 2026",
    "Tue Feb  3 24:00:00 UTC 2026",
    "Tue Feb  3 09:5:07 UTC 2026",
    "Tue Feb  3 09:60:07 UTC 2026",
    "Tue Feb  3 09:05:60 UTC 2026",
    "Tue Feb  3 09:05 UTC 2026",
    "Tue Feb  3 09:05:07 2026",
    "Tue Feb  3 09:05:07 XYZ 2026",
    "Tue Feb  3 09:05:07 utc 2026",
    "Tue Feb  3 09:05:07 +2400 2026",
    "Tue Feb  3 09:05:07 +900 2026",
    "Tue Feb  3 09:05:07 GMT+0900 2026",
    "TueFeb  3 09:05:07 UTC 2026",
  ])("rejects %j", (s) => {
    expectGoError(() => parseUnixDate(s));
  });

  it("round-trips with formatUnixDate (whole seconds)", () => {
    for (let t = Date.UTC(1999, 0, 1); t < Date.UTC(2101, 0, 1); t += 86_400_000 * 37 + 3_723_000) {
      const d = new Date(t);
      expect(parseUnixDate(formatUnixDate(d)).getTime()).toBe(t);
    }
  });
});
