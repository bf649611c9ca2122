// Go's time.Duration text (String and ParseDuration), as asynq's option strings write timeouts and deadlines.
import { GoFormatError } from "../errors.js";
import { goQuoteOrJson } from "./go-quote.js";

// ---- time.Duration -----------------------------------------------------------------------------

const NS_PER_MS = 1_000_000;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const TWO_63 = 1n << 63n;

/** Go's `unitMap` of `time.ParseDuration`, in nanoseconds. */
const DURATION_UNITS: ReadonlyMap<string, bigint> = new Map([
  ["ns", 1n],
  ["us", 1_000n],
  ["\u00b5s", 1_000n], // U+00B5 MICRO SIGN
  ["\u03bcs", 1_000n], // U+03BC GREEK SMALL LETTER MU
  ["ms", 1_000_000n],
  ["s", 1_000_000_000n],
  ["m", 60_000_000_000n],
  ["h", 3_600_000_000_000n],
]);

/**
 * Go's `time.Duration.String()` for a duration in integer nanoseconds (Go's own representation).
 *
 * @throws {GoFormatError} when `ns` is outside Go's int64 range.
 */
export function formatGoDurationNs(ns: bigint): string {
  if (ns < INT64_MIN || ns > INT64_MAX) {
    throw new GoFormatError(`duration ${ns}ns is outside Go's int64 range`);
  }
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;
  if (u < 1_000_000_000n) {
    // Below one second: a single unit with a fraction, e.g. "1.5ms".
    if (u === 0n) return "0s";
    let prec: number;
    let unit: string;
    if (u < 1_000n) {
      prec = 0;
      unit = "ns";
    } else if (u < 1_000_000n) {
      prec = 3;
      unit = "\u00b5s";
    } else {
      prec = 6;
      unit = "ms";
    }
    const [frac, whole] = fmtFrac(u, prec);
    out = `${whole}${frac}${unit}`;
  } else {
    const [frac, secs] = fmtFrac(u, 9);
    u = secs;
    out = `${u % 60n}${frac}s`;
    u /= 60n;
    if (u > 0n) {
      out = `${u % 60n}m${out}`;
      u /= 60n;
      // Go stops at hours: days can have different lengths.
      if (u > 0n) out = `${u}h${out}`;
    }
  }
  return neg ? `-${out}` : out;
}

/** Go's `fmtFrac`: the fraction `.ddd` of v/10^prec without trailing zeros ("" when zero), and v/10^prec. */
function fmtFrac(v: bigint, prec: number): [string, bigint] {
  let digits = "";
  let print = false;
  for (let i = 0; i < prec; i++) {
    const digit = v % 10n;
    print = print || digit !== 0n;
    if (print) digits = `${digit}${digits}`;
    v /= 10n;
  }
  return [print ? `.${digits}` : "", v];
}

/**
 * Go's `time.Duration.String()` for a duration given in milliseconds, e.g. `1.5` → `"1.5ms"`,
 * `5400000` → `"1h30m0s"`. Fractional milliseconds are rounded to the nearest nanosecond.
 *
 * @throws {GoFormatError} when `ms` is not finite or does not fit Go's int64 nanoseconds.
 */
export function formatGoDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new GoFormatError(`duration ${ms}ms is not a finite number`);
  return formatGoDurationNs(BigInt(Math.round(ms * NS_PER_MS)));
}

function isAsciiDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

/**
 * Go's `time.ParseDuration`, returning integer nanoseconds: an optional sign, then one or more
 * decimal numbers (optional fraction) each followed by a unit `ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`
 * or `h`, e.g. `"1h30m"`, `"-1.5s"`, `"300ms"`. A lone `"0"` is allowed. Overflow checks, and the
 * float64 arithmetic on fractions, follow Go exactly.
 *
 * @throws {GoFormatError} on anything Go rejects, with Go's message.
 */
export function parseGoDurationNs(s: string): bigint {
  const invalid = (): GoFormatError => new GoFormatError(`time: invalid duration ${goQuoteOrJson(s)}`);
  let i = 0;
  let neg = false;
  if (s[0] === "-" || s[0] === "+") {
    neg = s[0] === "-";
    i = 1;
  }
  if (s.slice(i) === "0") return 0n;
  if (i === s.length) throw invalid();
  let d = 0n;
  while (i < s.length) {
    // The next character must be [0-9.].
    if (!(s[i] === "." || isAsciiDigit(s[i]))) throw invalid();
    // [0-9]*
    let v = 0n;
    const intStart = i;
    while (isAsciiDigit(s[i])) {
      if (v > TWO_63 / 10n) throw invalid();
      v = v * 10n + BigInt(s.charCodeAt(i) - 48);
      if (v > TWO_63) throw invalid();
      i++;
    }
    const pre = i !== intStart;
    // (\.[0-9]*)?  Go stops accumulating precision on overflow instead of failing.
    let f = 0n;
    let scale = 1;
    let post = false;
    if (s[i] === ".") {
      i++;
      const fracStart = i;
      let overflow = false;
      while (isAsciiDigit(s[i])) {
        if (!overflow) {
          if (f > INT64_MAX / 10n) {
            overflow = true;
          } else {
            const y = f * 10n + BigInt(s.charCodeAt(i) - 48);
            if (y > TWO_63) {
              overflow = true;
            } else {
              f = y;
              scale *= 10;
            }
          }
        }
        i++;
      }
      post = i !== fracStart;
    }
    if (!pre && !post) throw invalid(); // no digits, e.g. ".s"
    // The unit: everything up to the next [0-9.].
    const unitStart = i;
    while (i < s.length && s[i] !== "." && !isAsciiDigit(s[i])) i++;
    if (i === unitStart) throw new GoFormatError(`time: missing unit in duration ${goQuoteOrJson(s)}`);
    const unitName = s.slice(unitStart, i);
    const unit = DURATION_UNITS.get(unitName);
    if (unit === undefined) {
      throw new GoFormatError(
        `time: unknown unit ${goQuoteOrJson(unitName)} in duration ${goQuoteOrJson(s)}`,
      );
    }
    if (v > TWO_63 / unit) throw invalid();
    v *= unit;
    if (f > 0n) {
      // Go: v += uint64(float64(f) * (float64(unit) / scale)); float64 keeps hours nanosecond-accurate.
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > TWO_63) throw invalid();
    }
    d += v;
    if (d > TWO_63) throw invalid();
  }
  if (neg) return -d;
  if (d > INT64_MAX) throw invalid();
  return d;
}

/**
 * Go's `time.ParseDuration`, returning milliseconds (fractional below 1 ms, e.g. `"1µs"` → `0.001`).
 * See {@link parseGoDurationNs} for the accepted syntax.
 *
 * @throws {GoFormatError} on anything Go rejects.
 */
export function parseGoDuration(s: string): number {
  return Number(parseGoDurationNs(s)) / NS_PER_MS;
}
