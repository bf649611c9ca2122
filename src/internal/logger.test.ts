// The log line format (one line, fields as key=value, hostile text escaped), the pino adapter, the
// level filter, and the duration and ordinal helpers the messages use.
import { describe, expect, it } from "vitest";
import {
  componentLogger,
  formatDuration,
  formatLogLine,
  leveledLogger,
  lineLogger,
  ordinal,
  pinoLogger,
  type LogFields,
  type Logger,
} from "./logger.js";

const AT = new Date("2026-12-07T08:40:00.123Z");

describe("formatLogLine", () => {
  it("writes time, level, message, then the fields as key=value pairs", () => {
    const line = formatLogLine(
      "warn",
      "asynq: task failed",
      { queue: "default", attempt: 2, counted: false, retryAt: new Date(0), missing: undefined, none: null },
      AT,
    );
    expect(line).toBe(
      "2026-12-07T08:40:00.123Z WARN  asynq: task failed | queue=default attempt=2 counted=false " +
        "retryAt=1970-01-01T00:00:00.000Z none=null",
    );
  });

  it("has no field part without fields", () => {
    expect(formatLogLine("info", "hello", undefined, AT)).toBe("2026-12-07T08:40:00.123Z INFO  hello");
    expect(formatLogLine("info", "hello", {}, AT)).toBe("2026-12-07T08:40:00.123Z INFO  hello");
  });

  it("quotes values with spaces, quotes, = or backslashes, and empty values", () => {
    const line = formatLogLine(
      "error",
      "m",
      { error: 'mail service said "no"', eq: "a=b", path: "C:\\x", empty: "", plain: "email:welcome" },
      AT,
    );
    expect(line).toContain(String.raw`error="mail service said \"no\""`);
    expect(line).toContain('eq="a=b"');
    expect(line).toContain(String.raw`path="C:\\x"`);
    expect(line).toContain('empty=""');
    expect(line).toContain("plain=email:welcome");
  });

  it("escapes newlines, ANSI escapes, C1 controls, line separators and bidi overrides in the message and the fields", () => {
    const hostile = "evil\ntype\r\x1b[31mRED\x1b[0m\x07\x9b2J\u2028\u202egnp.exe\t";
    const line = formatLogLine("warn", `task failed: ${hostile}`, { type: hostile, [hostile]: 1 }, AT);
    // Nothing a terminal acts on is left, and the line is one line.
    // eslint-disable-next-line no-control-regex -- looking for control characters is the point
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    expect(line.split("\n")).toHaveLength(1);
    expect(line).toContain(
      String.raw`task failed: evil\ntype\r\u001b[31mRED\u001b[0m\u0007\u009b2J\u2028\u202egnp.exe\t |`,
    );
    expect(line).toContain(
      String.raw`type="evil\ntype\r\u001b[31mRED\u001b[0m\u0007\u009b2J\u2028\u202egnp.exe\t"`,
    );
    // A hostile key is quoted too, so it cannot pose as another field.
    expect(line).toMatch(/ "evil\\ntype.*"=1$/);
  });

  it("writes errors as their message and objects as JSON", () => {
    const line = formatLogLine(
      "error",
      "m",
      { error: new Error("boom now"), obj: { a: [1, 2] }, big: 10n },
      AT,
    );
    expect(line).toContain('error="boom now"');
    expect(line).toContain(String.raw`obj="{\"a\":[1,2]}"`);
    expect(line).toContain("big=10");
  });
});

describe("lineLogger", () => {
  it("writes one line per call, ending with a newline, at every level", () => {
    const written: string[] = [];
    const logger = lineLogger(
      (line) => written.push(line),
      () => AT,
    );
    logger.debug("d", { count: 1 });
    logger.info("i");
    logger.warn("w");
    logger.error("e\nx");
    expect(written).toEqual([
      "2026-12-07T08:40:00.123Z DEBUG d | count=1\n",
      "2026-12-07T08:40:00.123Z INFO  i\n",
      "2026-12-07T08:40:00.123Z WARN  w\n",
      "2026-12-07T08:40:00.123Z ERROR e\\nx\n",
    ]);
  });
});

/** A logger recording (level, message, fields) calls. */
function recording(): { logger: Logger; calls: Array<[string, string, LogFields | undefined]> } {
  const calls: Array<[string, string, LogFields | undefined]> = [];
  const at = (level: string) => (message: string, fields?: LogFields) => calls.push([level, message, fields]);
  return { logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") }, calls };
}

describe("leveledLogger", () => {
  it("drops lines below the level, prefixes the rest, passes the fields on", () => {
    const { logger, calls } = recording();
    const leveled = leveledLogger(logger, "warn");
    leveled.debug("d", { a: 1 });
    leveled.info("i", { a: 2 });
    leveled.warn("w", { a: 3 });
    leveled.error("e");
    expect(calls).toEqual([
      ["warn", "asynq: w", { a: 3 }],
      ["error", "asynq: e", undefined],
    ]);
  });

  it("drops what a broken logger throws", () => {
    const throwing = (): void => {
      throw new Error("logger broken");
    };
    const leveled = leveledLogger(
      { debug: throwing, info: throwing, warn: throwing, error: throwing },
      "debug",
    );
    expect(() => leveled.error("x", { a: 1 })).not.toThrow();
  });
});

describe("componentLogger", () => {
  it("adds the component field to every line", () => {
    const { logger, calls } = recording();
    const scoped = componentLogger(logger, "forwarder");
    scoped.info("moved", { count: 2 });
    scoped.warn("w");
    expect(calls).toEqual([
      ["info", "moved", { count: 2, component: "forwarder" }],
      ["warn", "w", { component: "forwarder" }],
    ]);
  });
});

describe("pinoLogger", () => {
  it("calls a fields-first logger (pino, bunyan) with the fields, then the message, on the logger itself", () => {
    // pino's methods read `this`: the adapter must call them as methods.
    const records: Array<{ level: string; fields: LogFields; message: string }> = [];
    const pinoLike = {
      name: "pino-like",
      at(level: string, fields: LogFields, message: string): void {
        if (this.name !== "pino-like") throw new Error("called without its this");
        records.push({ level, fields, message });
      },
      debug(fields: LogFields, message: string) {
        this.at("debug", fields, message);
      },
      info(fields: LogFields, message: string) {
        this.at("info", fields, message);
      },
      warn(fields: LogFields, message: string) {
        this.at("warn", fields, message);
      },
      error(fields: LogFields, message: string) {
        this.at("error", fields, message);
      },
    };
    const logger = leveledLogger(pinoLogger(pinoLike), "info");
    logger.debug("dropped");
    logger.warn("task failed", { taskId: "t1", attempt: 2 });
    logger.info("no fields");
    expect(records).toEqual([
      { level: "warn", fields: { taskId: "t1", attempt: 2 }, message: "asynq: task failed" },
      { level: "info", fields: {}, message: "asynq: no fields" },
    ]);
  });
});

describe("formatDuration and ordinal", () => {
  it("say durations the way people do", () => {
    expect(formatDuration(250)).toBe("250 ms");
    expect(formatDuration(40_000)).toBe("40 s");
    expect(formatDuration(60_000)).toBe("1 min");
    expect(formatDuration(125_000)).toBe("2 min 5 s");
    expect(formatDuration(3 * 3600_000 + 10 * 60_000)).toBe("3 h 10 min");
    expect(formatDuration(2 * 86_400_000 + 4 * 3600_000)).toBe("2 d 4 h");
  });

  it("count failures in words", () => {
    expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111].map(ordinal)).toEqual([
      "1st",
      "2nd",
      "3rd",
      "4th",
      "11th",
      "12th",
      "13th",
      "21st",
      "22nd",
      "101st",
      "111th",
    ]);
  });
});
