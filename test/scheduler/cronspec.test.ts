// Cron specs as asynq (robfig/cron v3's standard parser) reads them (wire-format §6.1): five fields,
// descriptors, @every with a Go duration, CRON_TZ=/TZ= prefixes; what robfig refuses is refused with a
// ValidationError naming the spec and the cron field.
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/errors.js";
import { parseCronSpec } from "../../src/scheduler/cronspec.js";

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The next `n` ticks after `from`. */
function ticks(spec: string, from: string, n = 3, location = "UTC"): Array<string | null> {
  const s = parseCronSpec(spec, location);
  const out: Array<string | null> = [];
  let t: number | null = at(from);
  for (let i = 0; i < n && t !== null; i++) {
    t = s.next(t);
    out.push(iso(t));
  }
  return out;
}

function refused(spec: unknown, location = "UTC"): ValidationError {
  try {
    parseCronSpec(spec, location);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error(`${String(spec)} was accepted`);
}

describe("five fields", () => {
  it("reads minute hour day-of-month month day-of-week, with lists, ranges, steps and names", () => {
    expect(ticks("*/15 * * * *", "2030-01-01T10:07:00Z")).toEqual([
      "2030-01-01T10:15:00.000Z",
      "2030-01-01T10:30:00.000Z",
      "2030-01-01T10:45:00.000Z",
    ]);
    expect(ticks("5/20 9-10 * * *", "2030-01-01T09:00:00Z")).toEqual([
      "2030-01-01T09:05:00.000Z",
      "2030-01-01T09:25:00.000Z",
      "2030-01-01T09:45:00.000Z",
    ]);
    // 2030-01-01 is a Tuesday.
    expect(ticks("0 8 * JAN-mar mon,FRI", "2030-01-01T00:00:00Z")).toEqual([
      "2030-01-04T08:00:00.000Z",
      "2030-01-07T08:00:00.000Z",
      "2030-01-11T08:00:00.000Z",
    ]);
    // ? is *; extra spaces are fine.
    expect(ticks("0  0 ? * 0", "2030-01-01T00:00:00Z", 1)).toEqual(["2030-01-06T00:00:00.000Z"]);
  });

  it("ORs day-of-month and day-of-week when both are restricted, ANDs them when one is * (robfig)", () => {
    // The 15th, or any Sunday.
    expect(ticks("0 0 15 * 0", "2030-01-01T00:00:00Z")).toEqual([
      "2030-01-06T00:00:00.000Z",
      "2030-01-13T00:00:00.000Z",
      "2030-01-15T00:00:00.000Z",
    ]);
    // */1 is * for robfig: Sundays only.
    expect(ticks("0 0 */1 * 0", "2030-01-01T00:00:00Z", 2)).toEqual([
      "2030-01-06T00:00:00.000Z",
      "2030-01-13T00:00:00.000Z",
    ]);
  });

  it("has no tick for a date that never comes", () => {
    expect(ticks("0 0 30 2 *", "2030-01-01T00:00:00Z", 1)).toEqual([null]);
  });

  it("finds the last tick at or before an instant (for missed ticks)", () => {
    const s = parseCronSpec("0 */6 * * *", "UTC");
    expect(iso(s.previous(at("2030-01-01T13:59:59Z")))).toBe("2030-01-01T12:00:00.000Z");
    expect(iso(s.previous(at("2030-01-01T12:00:00Z")))).toBe("2030-01-01T12:00:00.000Z");
  });
});

describe("descriptors and @every", () => {
  it.each([
    ["@yearly", "2031-01-01T00:00:00.000Z"],
    ["@annually", "2031-01-01T00:00:00.000Z"],
    ["@monthly", "2030-06-01T00:00:00.000Z"],
    ["@weekly", "2030-05-19T00:00:00.000Z"],
    ["@daily", "2030-05-16T00:00:00.000Z"],
    ["@midnight", "2030-05-16T00:00:00.000Z"],
    ["@hourly", "2030-05-15T11:00:00.000Z"],
  ])("%s", (spec, next) => {
    expect(ticks(spec, "2030-05-15T10:20:00Z", 1)).toEqual([next]);
  });

  it("@every counts from the instant given, truncated to its second; sub-second parts dropped, 1 s at least", () => {
    expect(parseCronSpec("@every 1h30m", "UTC").everyMs).toBe(5_400_000);
    expect(parseCronSpec("@every 1.5s", "UTC").everyMs).toBe(1000);
    expect(parseCronSpec("@every 500ms", "UTC").everyMs).toBe(1000);
    expect(ticks("@every 3s", "2030-01-01T00:00:00.383Z", 2)).toEqual([
      "2030-01-01T00:00:03.000Z",
      "2030-01-01T00:00:06.000Z",
    ]);
    expect(parseCronSpec("@every 3s", "UTC").previous(at("2030-01-01T00:00:00Z"))).toBeNull();
  });

  it("reads CRON_TZ= and TZ= prefixes; the spec is kept as given", () => {
    const s = parseCronSpec("CRON_TZ=Asia/Tokyo 0 9 * * *", "UTC");
    expect(s.spec).toBe("CRON_TZ=Asia/Tokyo 0 9 * * *");
    expect(s.timeZone).toBe("Asia/Tokyo");
    expect(iso(s.next(at("2030-01-01T00:00:00Z")))).toBe("2030-01-02T00:00:00.000Z");
    expect(ticks("TZ=Europe/Paris @daily", "2030-01-01T12:00:00Z", 1)).toEqual(["2030-01-01T23:00:00.000Z"]);
    // Without a prefix: the scheduler's location.
    expect(ticks("0 9 * * *", "2030-01-01T00:00:00Z", 1, "America/New_York")).toEqual([
      "2030-01-01T14:00:00.000Z",
    ]);
    expect(parseCronSpec("TZ=UTC 0 9 * * *", "Asia/Tokyo").timeZone).toBe("UTC");
  });
});

describe("refused as robfig refuses them, naming the spec and the field", () => {
  it.each([
    ["", "the cron spec is empty"],
    ["* * * *", "expected 5 fields"],
    ["0 * * * * *", "expected 5 fields"],
    ["60 * * * *", 'minute field "60": 60 is outside 0-59'],
    ["* 24 * * *", 'hour field "24"'],
    ["* * 0 * *", 'day-of-month field "0"'],
    ["* * * 13 *", 'month field "13"'],
    ["* * * * 7", 'day-of-week field "7": 7 is outside 0-6'],
    ["* * L * *", 'day-of-month field "L": unknown value "L"'],
    ["* * * * 1#2", 'day-of-week field "1#2": cannot read'],
    ["* * 15W * *", "day-of-month field"],
    ["* * * * mon-sun", "the range starts after it ends"],
    ["* * * foo *", 'month field "foo": unknown value'],
    ["*/0 * * * *", "the step must be a positive number"],
    ["@fortnightly", 'unrecognized descriptor "@fortnightly"'],
    ["@every", 'unrecognized descriptor "@every"'],
    ["@every 5 minutes", "@every needs a Go duration"],
    ["@every 1d", "@every needs a Go duration"],
    ["CRON_TZ=Mars/Olympus 0 0 * * *", 'unknown time zone "Mars/Olympus"'],
    ["TZ=Europe/Paris", "a time zone prefix must be followed by a schedule"],
  ])("%j", (spec, reason) => {
    const error = refused(spec);
    expect(error.field).toBe("cronspec");
    expect(error.value).toBe(spec);
    expect(error.message).toContain(reason);
    expect(error.message).toContain(`invalid cronspec (`);
  });

  it("a spec that is not a string", () => {
    expect(refused(42).message).toContain("a cron spec must be a string");
  });
});
