// DEFAULTS (src/defaults.ts) is the one source of the options' defaults: it is deeply frozen, the
// `@defaultValue` tags of the option types cite its numbers, and the resolvers apply them.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { resolveConnectionOptions } from "../../src/broker/connection/options.js";
import { DEFAULTS } from "../../src/defaults.js";
import { ValidationError } from "../../src/errors.js";
import { Inspector } from "../../src/inspector/inspector.js";
import { resolveServerConfig } from "../../src/server/config.js";

const DAY = 24 * 3600 * 1000;

const source = (file: string): string => readFileSync(new URL(`../../src/${file}`, import.meta.url), "utf8");

/** The text after `@defaultValue` in the TSDoc comment right before the property `key?:` of `file`. */
function defaultTag(file: string, key: string): string {
  const doc = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*${key}\\?:`).exec(source(file));
  const tag = /@defaultValue\s+([^\n*]*)/.exec(doc?.[1] ?? "");
  if (tag === null) throw new Error(`${file}: no @defaultValue on ${key}`);
  return tag[1]!.trim();
}

function isDeeplyFrozen(value: object): boolean {
  return (
    Object.isFrozen(value) &&
    Object.values(value).every((v) => typeof v !== "object" || v === null || isDeeplyFrozen(v as object))
  );
}

describe("DEFAULTS", () => {
  it("is deeply frozen", () => {
    expect(isDeeplyFrozen(DEFAULTS)).toBe(true);
    expect(() => {
      (DEFAULTS.archive as { maxSize: number }).maxSize = 1;
    }).toThrow(TypeError);
  });

  it("is what the Server's config and the connection options resolve to", () => {
    const config = resolveServerConfig({});
    const S = DEFAULTS.server;
    expect(config).toMatchObject({
      queues: S.queues,
      strictPriority: S.strictPriority,
      shutdownTimeout: S.shutdownTimeout,
      onExpired: S.onExpired,
      archiveMaxSize: DEFAULTS.archive.maxSize,
      archiveMaxAge: DEFAULTS.archive.maxAge,
      leaseDuration: S.leaseDuration,
      pollInterval: S.pollInterval,
      healthCheckInterval: S.healthCheckInterval,
      heartbeatInterval: S.heartbeatInterval,
      recoverInterval: S.recoverInterval,
      recoveryGrace: S.recoveryGrace,
      janitorInterval: S.janitorInterval,
      janitorBatchSize: S.janitorBatchSize,
    });
    expect(resolveConnectionOptions()).toMatchObject({
      commandTimeout: DEFAULTS.connection.commandTimeout,
      connectTimeout: DEFAULTS.connection.connectTimeout,
    });
  });
});

describe("the archive limits", () => {
  it.each([
    [{ maxSize: 0 }, "archive.maxSize"],
    [{ maxSize: 2.5 }, "archive.maxSize"],
    [{ maxAge: 999 }, "archive.maxAge"],
  ])("%j is rejected by the Server's config and the Inspector alike", (archive, field) => {
    expect(() => resolveServerConfig({ archive })).toThrow(ValidationError);
    expect(() => resolveServerConfig({ archive })).toThrow(`invalid config.${field}`);
    // Nothing connects before the first call.
    expect(() => new Inspector("redis://127.0.0.1:1", { archive })).toThrow(`invalid options.${field}`);
  });
});

describe("@defaultValue tags cite DEFAULTS", () => {
  const S = DEFAULTS.server;
  const cases: Array<[file: string, key: string, expected: string]> = [
    ["server/config.ts", "queues", `\`{ default: ${S.queues.default} }\``],
    ["server/config.ts", "strictPriority", String(S.strictPriority)],
    ["server/config.ts", "shutdownTimeout", String(S.shutdownTimeout)],
    ["server/config.ts", "onExpired", JSON.stringify(S.onExpired)],
    ["server/config.ts", "maxSize", String(DEFAULTS.archive.maxSize)],
    ["server/config.ts", "maxAge", `${DEFAULTS.archive.maxAge / DAY} days`],
    ["server/config.ts", "leaseDuration", String(S.leaseDuration)],
    ["server/config.ts", "pollInterval", String(S.pollInterval)],
    ["server/config.ts", "healthCheckInterval", String(S.healthCheckInterval)],
    ["server/config.ts", "heartbeatInterval", String(S.heartbeatInterval)],
    ["server/config.ts", "recoverInterval", `${S.recoverInterval} (asynq: 60000)`],
    ["server/config.ts", "recoveryGrace", `${S.recoveryGrace} (asynq's)`],
    ["server/config.ts", "janitorInterval", String(S.janitorInterval)],
    ["server/config.ts", "janitorBatchSize", String(S.janitorBatchSize)],
    ["server/config.ts", "logLevel", JSON.stringify(S.logLevel)],
    ["broker/connection/options.ts", "commandTimeout", String(DEFAULTS.connection.commandTimeout)],
    ["broker/connection/options.ts", "connectTimeout", String(DEFAULTS.connection.connectTimeout)],
    ["client/options.ts", "queue", `\`${JSON.stringify(DEFAULTS.enqueue.queue)}\``],
    ["client/options.ts", "maxRetry", String(DEFAULTS.enqueue.maxRetry)],
    ["inspector/task-support.ts", "size", String(DEFAULTS.inspector.pageSize)],
    ["inspector/task-support.ts", "batch", String(DEFAULTS.inspector.iterateBatch)],
    ["inspector/servers.ts", "size", String(DEFAULTS.inspector.pageSize)],
  ];

  it.each(cases)("%s %s", (file, key, expected) => {
    expect(defaultTag(file, key)).toBe(expected);
  });

  it("client/options.ts timeout and the Inspector's archive", () => {
    expect(defaultTag("client/options.ts", "timeout")).toMatch(
      new RegExp(`^${DEFAULTS.enqueue.timeout / 60_000} minutes\\b`),
    );
    const { maxSize, maxAge } = DEFAULTS.archive;
    expect(defaultTag("inspector/inspector.ts", "archive")).toMatch(
      new RegExp(`^${maxSize.toLocaleString("en-US")} tasks and ${maxAge / DAY} days\\b`),
    );
  });
});
