// Cron specs as asynq reads them (robfig/cron v3's standard parser, wire-format §6.1): five fields,
// the descriptors, `@every <Go duration>` and the `CRON_TZ=` / `TZ=` prefixes. The times are computed
// by croner; this module only checks the spec against robfig's grammar (croner accepts more: seconds,
// `L`, `W`, `#`, day-of-week 7) and maps the descriptors.
import { Cron } from "croner";
import { ValidationError } from "../errors.js";
import { errorMessage } from "../internal/errors.js";
import { parseGoDurationNs } from "../wire/go-format.js";

/** When an entry fires: the parsed form of a cron spec. */
export interface Schedule {
  /** The spec as given (stored in SchedulerEntry.spec, wire-format §2.4). */
  readonly spec: string;
  /** `@every`'s interval in ms (whole seconds, at least 1000); undefined for a cron schedule. */
  readonly everyMs: number | undefined;
  /** The IANA time zone the spec is read in (`@every` ignores it). */
  readonly timeZone: string;
  /** The first tick strictly after `afterMs` (ms), or null when there is none. */
  next(afterMs: number): number | null;
  /** The last tick at or before `atMs` (ms); null for `@every` or when there is none. */
  previous(atMs: number): number | null;
}

/** robfig's descriptors (wire-format §6.1) and the five fields they stand for. */
const DESCRIPTORS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/** The five fields of robfig's standard parser: name, bounds, and the names it accepts. */
const FIELDS: ReadonlyArray<{ name: string; min: number; max: number; names: readonly string[] }> = [
  { name: "minute", min: 0, max: 59, names: [] },
  { name: "hour", min: 0, max: 23, names: [] },
  { name: "day-of-month", min: 1, max: 31, names: [] },
  { name: "month", min: 1, max: 12, names: MONTHS },
  { name: "day-of-week", min: 0, max: 6, names: DAYS },
];

/** One item of a field: `*`, `?`, `N` or `N-M` (numbers or names), optionally `/step`. */
const ITEM = /^(?:([*?])|([0-9]+|[a-zA-Z]+)(?:-([0-9]+|[a-zA-Z]+))?)(?:\/([0-9]+))?$/;

const NS_PER_MS = 1_000_000n;

/**
 * Parses a cron spec as asynq (robfig/cron v3) does. Without a `CRON_TZ=`/`TZ=` prefix the spec is
 * read in `location`.
 * @param field how the spec is named in errors (`cronspec`, `configs[2].cronspec`).
 * @throws ValidationError naming `field`, the spec and what is wrong with it (which cron field, an
 *   unknown time zone, a bad `@every` duration).
 */
export function parseCronSpec(spec: unknown, location: string, field = "cronspec"): Schedule {
  if (typeof spec !== "string") throw new ValidationError(field, spec, "a cron spec must be a string");
  const fail = (reason: string, cause?: unknown): ValidationError =>
    new ValidationError(field, spec, reason, cause === undefined ? undefined : { cause });
  let rest = spec.trim();
  if (rest === "") throw fail("the cron spec is empty");
  let timeZone = location;
  if (rest.startsWith("TZ=") || rest.startsWith("CRON_TZ=")) {
    const space = rest.indexOf(" ");
    if (space < 0) throw fail("a time zone prefix must be followed by a schedule");
    timeZone = resolveTimeZone(rest.slice(rest.indexOf("=") + 1, space), (reason) => fail(reason));
    rest = rest.slice(space).trim();
  }
  if (rest.startsWith("@every ")) return everySchedule(spec, timeZone, rest.slice(7), fail);
  let pattern = rest;
  if (rest.startsWith("@")) {
    const fields = DESCRIPTORS[rest];
    if (fields === undefined) throw fail(`unrecognized descriptor ${JSON.stringify(rest)}`);
    pattern = fields;
  }
  const normalized = checkFields(pattern, fail);
  let cron: Cron;
  try {
    // Croner's own checks (value bounds, a step of 0) stand behind ours. domAndDow false: the day
    // of month and the day of week are ORed when both are restricted, as in robfig/cron.
    cron = new Cron(normalized, { timezone: timeZone, mode: "5-part", sloppyRanges: true, domAndDow: false });
  } catch (cause) {
    throw fail(errorMessage(cause), cause);
  }
  return {
    spec,
    everyMs: undefined,
    timeZone,
    next: (afterMs) => cron.nextRun(new Date(afterMs))?.getTime() ?? null,
    previous: (atMs) => {
      // previousRuns returns runs strictly before the reference; ticks are whole minutes.
      const [last] = cron.previousRuns(1, new Date(Math.floor(atMs) + 1));
      return last === undefined ? null : last.getTime();
    },
  };
}

/**
 * Resolves a time-zone name as Go's `time.LoadLocation` does: "" and "UTC" are UTC, "Local" the
 * machine's zone, anything else an IANA name.
 * @throws what `fail` builds, for an unknown zone.
 */
export function resolveTimeZone(name: string, fail: (reason: string) => Error): string {
  if (name === "" || name === "UTC") return "UTC";
  if (name === "Local") return new Intl.DateTimeFormat().resolvedOptions().timeZone;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
  } catch {
    throw fail(`unknown time zone ${JSON.stringify(name)}`);
  }
  return name;
}

/** `@every <d>`: every d from when the entry starts, d truncated to whole seconds, at least 1 s. */
function everySchedule(
  spec: string,
  timeZone: string,
  duration: string,
  fail: (reason: string, cause?: unknown) => ValidationError,
): Schedule {
  let ns: bigint;
  try {
    ns = parseGoDurationNs(duration);
  } catch (cause) {
    throw fail(`@every needs a Go duration such as "30s" or "1h30m": ${errorMessage(cause)}`, cause);
  }
  // robfig: below one second means one second; sub-second parts are dropped.
  const seconds = ns < 1_000_000_000n ? 1n : ns / 1_000_000_000n;
  const everyMs = Number((seconds * 1_000_000_000n) / NS_PER_MS);
  return {
    spec,
    everyMs,
    timeZone,
    // robfig's ConstantDelaySchedule: the time given, truncated to its second, plus the interval.
    next: (afterMs) => Math.floor(afterMs / 1000) * 1000 + everyMs,
    previous: () => null,
  };
}

/**
 * Checks five fields against robfig's grammar and returns them as croner should read them: `*\/1`
 * and `?` become `*` (robfig treats them as `*` when combining the day fields).
 */
function checkFields(pattern: string, fail: (reason: string) => ValidationError): string {
  const parts = pattern.split(/\s+/).filter((p) => p !== "");
  if (parts.length !== 5) {
    throw fail(
      `expected 5 fields (minute hour day-of-month month day-of-week), found ${parts.length}; seconds are not supported`,
    );
  }
  return parts.map((part, i) => checkField(part, FIELDS[i]!, fail)).join(" ");
}

function checkField(
  part: string,
  f: (typeof FIELDS)[number],
  fail: (reason: string) => ValidationError,
): string {
  const items = part.split(",").map((item) => {
    const m = ITEM.exec(item);
    if (m === null)
      throw fail(`${f.name} field ${JSON.stringify(part)}: cannot read ${JSON.stringify(item)}`);
    const [, star, from, to, step] = m;
    if (step !== undefined && Number(step) <= 0) {
      throw fail(`${f.name} field ${JSON.stringify(part)}: the step must be a positive number`);
    }
    if (star !== undefined) return step === undefined || Number(step) === 1 ? "*" : `*/${step}`;
    const start = value(from!, f, part, fail);
    const end = to === undefined ? undefined : value(to, f, part, fail);
    if (end !== undefined && start > end) {
      throw fail(`${f.name} field ${JSON.stringify(part)}: the range starts after it ends`);
    }
    return item;
  });
  return items.join(",");
}

function value(
  text: string,
  f: (typeof FIELDS)[number],
  part: string,
  fail: (reason: string) => ValidationError,
): number {
  let n: number;
  if (/^[0-9]+$/.test(text)) {
    n = Number(text);
  } else {
    const index = f.names.indexOf(text.toLowerCase());
    if (index < 0)
      throw fail(`${f.name} field ${JSON.stringify(part)}: unknown value ${JSON.stringify(text)}`);
    n = index + f.min;
  }
  if (n < f.min || n > f.max) {
    throw fail(`${f.name} field ${JSON.stringify(part)}: ${n} is outside ${f.min}-${f.max}`);
  }
  return n;
}
