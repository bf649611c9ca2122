// asynq's `Option.String()` forms (wire-format §6.3), as stored in SchedulerEntry.enqueue_options, and their parse-back.
import { OptionStringError } from "../errors.js";
import { errorMessage } from "../internal/errors.js";
import {
  formatGoDuration,
  formatUnixDate,
  goJsonQuote,
  goQuote,
  goUnquote,
  parseGoDuration,
  parseUnixDate,
} from "./go-format.js";

/** One asynq enqueue option, as its `String()` form describes it. Durations are in milliseconds. */
export type OptionValue =
  | { kind: "MaxRetry"; value: number }
  | { kind: "Queue"; value: string }
  | { kind: "TaskID"; value: string }
  | { kind: "Timeout"; ms: number }
  | { kind: "Deadline"; at: Date }
  | { kind: "Unique"; ms: number }
  | { kind: "ProcessAt"; at: Date }
  | { kind: "ProcessIn"; ms: number }
  | { kind: "Retention"; ms: number }
  | { kind: "Group"; value: string }
  | { kind: "Header"; key: string; value: string };

/** The name before the parenthesis of an option string, e.g. `"Timeout"`. */
export type OptionKind = OptionValue["kind"];

// Declared with every other error in src/errors.ts.
export { OptionStringError } from "../errors.js";

/**
 * The exact string Go's `Option.String()` gives for `o`, e.g. `MaxRetry(3)`, `Queue("critical")`,
 * `Timeout(1m30s)`, `Deadline(Tue Jan  1 00:00:00 UTC 2030)`, `Header(["trace","abc"])`. A negative
 * MaxRetry is clamped to 0 (Go's `MaxRetry(n)` does so before `String()`); times are rendered in UTC.
 *
 * @throws {OptionStringError} when a value has no Go form: a non-integer MaxRetry, a non-finite or
 *   out-of-int64 duration, an invalid Date, or a string with a lone UTF-16 surrogate.
 */
export function formatOption(o: OptionValue): string {
  try {
    switch (o.kind) {
      case "MaxRetry":
        if (!Number.isSafeInteger(o.value)) {
          throw new OptionStringError(`MaxRetry value ${o.value} is not a safe integer`, o.kind);
        }
        return `MaxRetry(${Math.max(0, o.value)})`;
      case "Queue":
      case "TaskID":
      case "Group":
        return `${o.kind}(${goQuote(o.value)})`;
      case "Timeout":
      case "Unique":
      case "ProcessIn":
      case "Retention":
        return `${o.kind}(${formatGoDuration(o.ms)})`;
      case "Deadline":
      case "ProcessAt":
        return `${o.kind}(${formatUnixDate(o.at)})`;
      case "Header":
        return `Header([${goJsonQuote(o.key)},${goJsonQuote(o.value)}])`;
    }
  } catch (err) {
    if (err instanceof OptionStringError) throw err;
    throw new OptionStringError(`cannot format ${o.kind} option: ${errorMessage(err)}`, o.kind, {
      cause: err,
    });
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Parses an option string back into its value, like Go's `Inspector.SchedulerEntries` does, but also
 * reading `TaskID(...)` and `Group(...)`, which Go's Inspector silently drops. Durations follow
 * `time.ParseDuration`, times `time.Parse(time.UnixDate, ...)`, quoted strings `strconv.Unquote`,
 * MaxRetry `strconv.Atoi` (then clamped to 0 like `MaxRetry(n)`), Header a JSON array of two strings.
 *
 * The argument is the text between the FIRST `(` and the LAST `)`, which must end the string. This is
 * more lenient than Go, which stops at the first `)` and so cannot read back e.g. `Queue("a(b)")`
 * (it ignores anything after that `)` instead).
 *
 * @throws {OptionStringError} naming `s` when the option is unknown or its argument malformed; the Go
 *   format error, if any, is its `cause`.
 */
export function parseOption(s: string): OptionValue {
  const fail = (reason: string, cause?: unknown): OptionStringError =>
    new OptionStringError(
      `cannot parse option string ${JSON.stringify(s)}: ${reason}`,
      s,
      cause === undefined ? undefined : { cause },
    );
  const open = s.indexOf("(");
  const close = s.lastIndexOf(")");
  if (open < 0) throw fail(`no "(" found`);
  if (close !== s.length - 1 || close < open) throw fail(`does not end with ")"`);
  const name = s.slice(0, open);
  const arg = s.slice(open + 1, close);
  try {
    switch (name) {
      case "MaxRetry": {
        if (!/^[+-]?[0-9]+$/.test(arg))
          throw fail(`MaxRetry argument ${JSON.stringify(arg)} is not an integer`);
        const n = Number(arg);
        if (!Number.isSafeInteger(n)) throw fail(`MaxRetry argument ${arg} is out of range`);
        return { kind: "MaxRetry", value: Math.max(0, n) };
      }
      case "Queue":
      case "TaskID":
      case "Group":
        return { kind: name, value: goUnquote(arg) };
      case "Timeout":
      case "Unique":
      case "ProcessIn":
      case "Retention":
        return { kind: name, ms: parseGoDuration(arg) };
      case "Deadline":
      case "ProcessAt":
        return { kind: name, at: parseUnixDate(arg) };
      case "Header":
        return parseHeader(arg, fail);
      default:
        throw fail(`unknown option ${JSON.stringify(name)}`);
    }
  } catch (err) {
    if (err instanceof OptionStringError) throw err;
    throw fail(errorMessage(err), err);
  }
}

/** Header's argument: a JSON array `[key, value]` of two strings. */
function parseHeader(
  json: string,
  fail: (reason: string, cause?: unknown) => OptionStringError,
): OptionValue {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw fail("Header argument is not valid JSON", err);
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) {
    throw fail("Header argument is not a JSON array of two strings");
  }
  const [key, value] = parsed as unknown[];
  if (typeof key !== "string" || typeof value !== "string") {
    throw fail("Header argument is not a JSON array of two strings");
  }
  // Go's decoder turns an unpaired \uD800-style escape into U+FFFD; JSON.parse would keep it.
  return {
    kind: "Header",
    key: key.replace(LONE_SURROGATE, "\uFFFD"),
    value: value.replace(LONE_SURROGATE, "\uFFFD"),
  };
}
