// Go formatting primitives asynq's option strings are built from: %q quoting, JSON strings, UnixDate;
// durations are in go-duration.ts (re-exported here).
import { GoFormatError } from "../errors.js";
import { goQuoteOr, goQuoteOrJson, hex } from "./go-quote.js";

export { GoFormatError } from "../errors.js";
export { formatGoDuration, formatGoDurationNs, parseGoDuration, parseGoDurationNs } from "./go-duration.js";

// ---- strconv.Quote / strconv.Unquote ------------------------------------------------------------

function loneSurrogate(index: number): GoFormatError {
  return new GoFormatError(`string has a lone UTF-16 surrogate at index ${index} (not valid UTF-8)`);
}

/** Calls `fn` for every code point of `s`; a lone UTF-16 surrogate throws (it has no UTF-8 form). */
function forEachCodePoint(s: string, fn: (cp: number) => void): void {
  for (let i = 0; i < s.length;) {
    const cp = s.codePointAt(i) as number;
    if (cp >= 0xd800 && cp <= 0xdfff) throw loneSurrogate(i);
    fn(cp);
    i += cp > 0xffff ? 2 : 1;
  }
}

/**
 * Go's `strconv.Quote` (what `%q` prints for a string): double quotes around the text; `"` and `\`
 * backslashed; `\a \b \f \n \r \t \v`; other bytes below space and DEL as `\xNN`; other non-printable
 * runes as `\uNNNN` / `\UNNNNNNNN`; printable non-ASCII (`ü`, `✓`, CJK, emoji) kept literally.
 * Printability uses the JS engine's Unicode tables, which may be newer than Go's.
 *
 * @throws {GoFormatError} when `s` holds a lone UTF-16 surrogate (not representable in UTF-8).
 */
export function goQuote(s: string): string {
  return goQuoteOr(s, (index) => {
    throw loneSurrogate(index);
  });
}

function pushUtf8(bytes: number[], cp: number): void {
  if (cp < 0x80) {
    bytes.push(cp);
  } else if (cp < 0x800) {
    bytes.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    bytes.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  } else {
    bytes.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
}

const UNQUOTE_SIMPLE: Readonly<Record<string, number>> = {
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
  "\\": 0x5c,
  '"': 0x22,
};

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Go's `strconv.Unquote` for a double-quoted string: the inverse of {@link goQuote}. Accepts every
 * escape Go accepts in `"..."` (`\a \b \f \n \r \t \v \\ \"`, `\xNN`, octal `\NNN`, `\uNNNN`,
 * `\UNNNNNNNN`) and raw characters other than `"`, `\` and newline. Back-quoted and single-quoted
 * forms, which Go's Unquote also reads, are rejected.
 *
 * @throws {GoFormatError} on malformed input, and when `\x`/octal escapes spell bytes that are not
 *   valid UTF-8 (Go would return such a string; JS cannot hold it).
 */
export function goUnquote(s: string): string {
  const bad = (why: string): GoFormatError =>
    new GoFormatError(`invalid Go quoted string ${safeQuote(s)}: ${why}`);
  if (s.length < 2 || s[0] !== '"' || s[s.length - 1] !== '"') throw bad("not enclosed in double quotes");
  const end = s.length - 1;
  const bytes: number[] = [];
  let i = 1;
  while (i < end) {
    const cp = s.codePointAt(i) as number;
    if (cp >= 0xd800 && cp <= 0xdfff) throw bad("lone UTF-16 surrogate");
    if (cp === 0x22) throw bad("unescaped double quote");
    if (cp === 0x0a) throw bad("unescaped newline");
    if (cp !== 0x5c) {
      pushUtf8(bytes, cp);
      i += cp > 0xffff ? 2 : 1;
      continue;
    }
    // A backslash escape. If it swallows the closing quote, the string is unterminated.
    const c = s[i + 1];
    i += 2;
    if (c === undefined || i > end) throw bad("unterminated escape or string");
    const simple = UNQUOTE_SIMPLE[c];
    if (simple !== undefined) {
      bytes.push(simple);
      continue;
    }
    if (c === "x" || c === "u" || c === "U") {
      const n = c === "x" ? 2 : c === "u" ? 4 : 8;
      const digits = s.slice(i, i + n);
      if (i + n > end || !/^[0-9a-fA-F]+$/.test(digits)) throw bad(`bad \\${c} escape`);
      i += n;
      const v = parseInt(digits, 16);
      if (c === "x") {
        bytes.push(v); // a single byte, possibly not UTF-8 on its own
      } else {
        if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) throw bad(`\\${c}${digits} is not a valid rune`);
        pushUtf8(bytes, v);
      }
      continue;
    }
    if (c >= "0" && c <= "7") {
      const digits = c + s.slice(i, i + 2);
      if (i + 2 > end || !/^[0-7]{3}$/.test(digits)) throw bad("bad octal escape");
      i += 2;
      const v = parseInt(digits, 8);
      if (v > 255) throw bad("octal escape above \\377");
      bytes.push(v);
      continue;
    }
    throw bad(`unknown escape \\${c}`);
  }
  try {
    return strictUtf8.decode(new Uint8Array(bytes));
  } catch (err) {
    throw new GoFormatError(`Go quoted string ${safeQuote(s)} decodes to invalid UTF-8`, { cause: err });
  }
}

/** Quote for error messages: never throws. */
function safeQuote(s: string): string {
  return goQuoteOrJson(s);
}

// ---- encoding/json strings ----------------------------------------------------------------------

const JSON_SHORT_ESCAPES: ReadonlyMap<number, string> = new Map([
  [0x22, '\\"'],
  [0x5c, "\\\\"],
  [0x08, "\\b"],
  [0x0c, "\\f"],
  [0x0a, "\\n"],
  [0x0d, "\\r"],
  [0x09, "\\t"],
]);

/**
 * A string as Go's `encoding/json` (`json.Marshal`, HTML escaping on) writes it: `"` `\` and the
 * control characters `\b \f \n \r \t` short-escaped (Go ≥ 1.22), other bytes below space as `\u00XX`,
 * `<` `>` `&` as `\u003c` `\u003e` `\u0026`, U+2028/U+2029 as `\u2028`/`\u2029`; everything else
 * (DEL and non-ASCII included) literal.
 *
 * @throws {GoFormatError} when `s` holds a lone UTF-16 surrogate.
 */
export function goJsonQuote(s: string): string {
  let out = '"';
  forEachCodePoint(s, (cp) => {
    const short = JSON_SHORT_ESCAPES.get(cp);
    if (short !== undefined) out += short;
    else if (cp < 0x20 || cp === 0x3c || cp === 0x3e || cp === 0x26 || cp === 0x2028 || cp === 0x2029) {
      out += `\\u${hex(cp, 4)}`;
    } else out += String.fromCodePoint(cp);
  });
  return `${out}"`;
}

// ---- time.UnixDate -------------------------------------------------------------------------------

const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;
const MONTH_NAMES = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
] as const;

/**
 * Go's `time.UnixDate` layout `Mon Jan _2 15:04:05 MST 2006` for `date` in UTC, e.g.
 * `Tue Jan  1 00:00:00 UTC 2030` (day of month padded with a space; sub-second part dropped; year
 * zero-padded to four digits, as Go does).
 *
 * @throws {GoFormatError} when `date` is an invalid Date.
 */
export function formatUnixDate(date: Date): string {
  const t = date.getTime();
  if (Number.isNaN(t)) throw new GoFormatError("cannot format an invalid Date");
  const year = date.getUTCFullYear();
  const yearStr = year < 0 ? `-${String(-year).padStart(4, "0")}` : String(year).padStart(4, "0");
  const pad2 = (n: number): string => String(n).padStart(2, "0");
  return (
    `${DAY_NAMES[date.getUTCDay()]} ${MONTH_NAMES[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, " ")} ` +
    `${pad2(date.getUTCHours())}:${pad2(date.getUTCMinutes())}:${pad2(date.getUTCSeconds())} UTC ${yearStr}`
  );
}

/**
 * Offsets (seconds east of UTC) of the zone abbreviations we accept besides UTC/GMT/Z and numeric
 * offsets. Go itself resolves an abbreviation only through the process's local zone and otherwise
 * treats it as offset 0; we use fixed, unambiguous-in-practice meanings instead (CST = US Central).
 */
const ZONE_ABBREVIATIONS: ReadonlyMap<string, number> = new Map(
  (
    [
      ["UTC", 0],
      ["GMT", 0],
      ["UT", 0],
      ["WET", 0],
      ["WEST", 1],
      ["BST", 1],
      ["CET", 1],
      ["CEST", 2],
      ["MET", 1],
      ["MEST", 2],
      ["EET", 2],
      ["EEST", 3],
      ["MSK", 3],
      ["WAT", 1],
      ["CAT", 2],
      ["SAST", 2],
      ["EAT", 3],
      ["PKT", 5],
      ["WIB", 7],
      ["WITA", 8],
      ["WIT", 9],
      ["HKT", 8],
      ["AWST", 8],
      ["JST", 9],
      ["KST", 9],
      ["ACST", 9.5],
      ["ACDT", 10.5],
      ["AEST", 10],
      ["AEDT", 11],
      ["ChST", 10],
      ["NZST", 12],
      ["NZDT", 13],
      ["HST", -10],
      ["AKST", -9],
      ["AKDT", -8],
      ["PST", -8],
      ["PDT", -7],
      ["MST", -7],
      ["MDT", -6],
      ["CST", -6],
      ["CDT", -5],
      ["EST", -5],
      ["EDT", -4],
      ["AST", -4],
      ["ADT", -3],
      ["NST", -3.5],
      ["NDT", -2.5],
    ] as const
  ).map(([name, hours]) => [name, hours * 3600] as const),
);

/**
 * Parses Go's `time.UnixDate` layout (`Mon Jan _2 15:04:05 MST 2006`) as Go's `time.Parse` does:
 * day and month names case-insensitive, runs of spaces equivalent, day and hour of one or two
 * digits, minutes and seconds of exactly two, an optional `.fraction`/`,fraction` after the seconds,
 * a four-digit year, nothing after it; the weekday is checked for syntax only. The zone may be
 * `UTC`, `GMT`, `GMT±h`, `Z`, a numeric offset `±hh`, `±hhmm` or `±hh:mm`, or one of a small
 * table of common abbreviations (`JST`, `PST`, `CET`...). Sub-millisecond digits are truncated.
 *
 * @throws {GoFormatError} on a malformed string, an out-of-range field or an unknown zone.
 */
export function parseUnixDate(s: string): Date {
  let rest = s;
  const bad = (why: string): GoFormatError =>
    new GoFormatError(`cannot parse ${safeQuote(s)} as Go UnixDate "Mon Jan _2 15:04:05 MST 2006": ${why}`);

  const lookup = (names: readonly string[], what: string): number => {
    const head = rest.slice(0, 3).toLowerCase();
    const idx = names.findIndex((n) => n.toLowerCase() === head);
    if (idx < 0) throw bad(`bad ${what}`);
    rest = rest.slice(3);
    return idx;
  };
  const spaces = (): void => {
    if (rest.length > 0 && rest[0] !== " ") throw bad("expected a space");
    rest = rest.replace(/^ +/, "");
  };
  const literal = (lit: string): void => {
    if (!rest.startsWith(lit)) throw bad(`expected ${JSON.stringify(lit)}`);
    rest = rest.slice(lit.length);
  };
  const num = (fixed: boolean, what: string): number => {
    const m = (fixed ? /^\d\d/ : /^\d\d?/).exec(rest);
    if (m === null) throw bad(`bad ${what}`);
    rest = rest.slice(m[0].length);
    return Number(m[0]);
  };

  const consumeOffset = (m: RegExpExecArray): number => {
    const sign = m[1] === "-" ? -1 : 1;
    const hours = Number(m[2]);
    const minutes = m[3] === undefined ? 0 : Number(m[3]);
    if (hours > 23 || minutes > 59) throw bad("zone offset out of range");
    rest = rest.slice(m[0].length);
    return sign * (hours * 3600 + minutes * 60);
  };
  /** Go: UTC, GMT[±h], ±hh, or 3-5 upper-case letters (ChST/MeST too); we add Z, ±hhmm, ±hh:mm. */
  const parseZone = (): number => {
    let m = /^([+-])(\d\d):?(\d\d)(?!\d)/.exec(rest) ?? /^([+-])(\d\d?)(?!\d)/.exec(rest);
    if (m !== null) return consumeOffset(m);
    m = /^GMT([+-])(\d\d?)(?!\d)/.exec(rest);
    if (m !== null) return consumeOffset(m);
    m = /^(?:ChST|MeST|[A-Z]{2,5})/.exec(rest);
    if (m === null) {
      if (rest.startsWith("Z")) {
        rest = rest.slice(1);
        return 0;
      }
      throw bad("missing time zone");
    }
    const name = m[0];
    const off = ZONE_ABBREVIATIONS.get(name);
    if (off === undefined) throw bad(`unknown time zone abbreviation ${safeQuote(name)}`);
    rest = rest.slice(name.length);
    return off;
  };

  lookup(DAY_NAMES, "day of week");
  spaces();
  const month = lookup(MONTH_NAMES, "month");
  spaces();
  const day = num(false, "day of month");
  if (day > 31) throw bad("day out of range");
  spaces();
  const hour = num(false, "hour");
  if (hour > 23) throw bad("hour out of range");
  literal(":");
  const minute = num(true, "minute");
  if (minute > 59) throw bad("minute out of range");
  literal(":");
  const second = num(true, "second");
  if (second > 59) throw bad("second out of range");
  let ms = 0;
  const frac = /^[.,](\d+)/.exec(rest);
  if (frac !== null) {
    // Go keeps at most nine digits (nanoseconds); a Date keeps three.
    ms = Number((frac[1] as string).slice(0, 3).padEnd(3, "0"));
    rest = rest.slice(frac[0].length);
  }
  spaces();
  const offsetSec = parseZone();
  spaces();
  const yearMatch = /^\d{4}/.exec(rest);
  if (yearMatch === null) throw bad("bad year (four digits expected)");
  const year = Number(yearMatch[0]);
  rest = rest.slice(4);
  if (rest.length > 0) throw bad(`extra text ${safeQuote(rest)}`);

  const d = new Date(0);
  d.setUTCFullYear(year, month, day); // setUTCFullYear: no 1900 offset for years 0..99
  d.setUTCHours(hour, minute, second, ms);
  if (d.getUTCDate() !== day) throw bad("day out of range");
  return new Date(d.getTime() - offsetSec * 1000);
}
