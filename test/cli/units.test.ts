// The command line's pure parts: terminal-safe text, durations, tables, and the dashboard's layout
// (it fits 80×24 whatever the data), and how the connection flags, the URL and the config file combine.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { QueueInfo, TaskInfo } from "../../src/index.js";
import { connectionOptions } from "../../src/cli/connection.js";
import { renderDash, type DashModel } from "../../src/cli/dash-view.js";
import { CliError } from "../../src/cli/fail.js";
import { parseDuration } from "../../src/cli/parse.js";
import { formatDuration, payloadText, safe, table } from "../../src/cli/output.js";

describe("safe", () => {
  it("escapes C0, DEL, C1, line separators and bidi controls, and nothing else", () => {
    expect(safe("a\u001b[31mb\r\n\t\u0000\u007f\u009b\u2028\u202e\u2066 ok é 日本")).toBe(
      "a\\x1b[31mb\\r\\n\\t\\x00\\x7f\\x9b\\u2028\\u202e\\u2066 ok é 日本",
    );
  });

  it("shows payloads as UTF-8 when they decode, else as hex", () => {
    expect(payloadText(Buffer.from('{"a":"\u001b"}'))).toBe('{"a":"\\x1b"}');
    expect(payloadText(new Uint8Array([0xff, 0x00]))).toBe("0xff00");
    expect(payloadText(new Uint8Array(0))).toBe("");
  });
});

describe("durations", () => {
  it("parses Go's syntax in ms", () => {
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("2.5s")).toBe(2500);
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("0")).toBe(0);
    for (const bad of ["", "5", "-1s", "1d", "s", "1h 30m"]) expect(parseDuration(bad)).toBeNull();
  });

  it("formats as Go prints them, whole seconds from 1 s on", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(250)).toBe("250ms");
    expect(formatDuration(90_400)).toBe("1m30s");
    expect(formatDuration(3_723_000)).toBe("1h2m3s");
  });
});

describe("table", () => {
  it("pads columns to their widest cell and cuts cells over the limit", () => {
    const text = table(
      ["a", "bb"],
      [
        ["xxx", "y"],
        ["z", "w".repeat(100)],
      ],
      10,
    );
    expect(text.split("\n")).toEqual(["a    bb", "---  ----------", "xxx  y", `z    ${"w".repeat(9)}…`]);
  });
});

function queue(name: string, n: number): QueueInfo {
  return {
    queue: name,
    size: n * 7,
    pending: n,
    active: n,
    scheduled: n,
    retry: n,
    archived: n,
    completed: n,
    aggregating: n,
    groups: 1,
    processed: n,
    failed: n,
    processedTotal: n,
    failedTotal: n,
    latency: 1500,
    memoryUsage: 100,
    paused: false,
    timestamp: new Date(0),
  };
}

describe("dashboard layout", () => {
  const base: DashModel = {
    view: "queues",
    address: "127.0.0.1:6379/0",
    now: new Date(Date.UTC(2030, 0, 1, 12, 0, 0)),
    queues: Array.from({ length: 50 }, (_, i) =>
      queue(`queue-with-a-rather-long-name-${i}\u001b[2J`, i * 123_456),
    ),
    selected: 40,
    servers: [],
    workers: [],
    entries: [],
  };

  it("fills exactly 24 lines of at most 80 characters, keeps the selected row in view", () => {
    const lines = renderDash(base, 80, 24).map((l) => l.map((s) => s.text).join(""));
    expect(lines).toHaveLength(24);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(lines.join("\n")).not.toContain("\u001b");
    const selected = renderDash(base, 80, 24).find((l) => l.some((s) => s.inverse === true && !s.bold));
    // Queue 40 (40 × 123,456 tasks per state), its name cut to the column.
    expect(selected?.[0]?.text).toMatch(/^queue-with-a-r…\s+34\.6M\s+4\.9M\s/);
    expect(lines[0]).toMatch(/^asynq-ts dash\s+127\.0\.0\.1:6379\/0\s+queues\s+12:00:00 UTC$/);
    expect(lines[23]).toMatch(/q quit/);
  });

  it("a queue's tasks fit too", () => {
    const task = {
      id: "x".repeat(36),
      type: "t".repeat(50),
      payload: Buffer.from("p".repeat(200)),
    } as unknown as TaskInfo;
    const model: DashModel = {
      ...base,
      view: "queue",
      selected: 0,
      queue: {
        name: base.queues[0]!.queue,
        info: base.queues[0]!,
        state: "pending",
        tasks: Array(40).fill(task) as TaskInfo[],
        groups: [],
        selected: 30,
      },
      error: "boom\u001b",
    };
    const lines = renderDash(model, 80, 24).map((l) => l.map((s) => s.text).join(""));
    expect(lines).toHaveLength(24);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(lines[2]).toMatch(
      /^active\(0\) pending\(0\) aggr\(0\) sched\(0\) retry\(0\) archived\(0\) done\(0\)/,
    );
    expect(lines[22]).toBe("error: boom\\x1b");
  });
});

describe("connection options", () => {
  const dir = mkdtempSync(join(tmpdir(), "asynq-ts-cli-units-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const none = join(dir, "none.json");
  writeFileSync(none, "{}");

  it("reads the URL, then lets the flags override its parts", () => {
    expect(connectionOptions({ uri: "redis://u:p%40ss@example.com:6380/4", config: none })).toEqual({
      host: "example.com",
      port: 6380,
      db: 4,
      username: "u",
      password: "p@ss",
    });
    expect(connectionOptions({ uri: "10.0.0.1:7000", db: "2", password: "x", config: none })).toEqual({
      host: "10.0.0.1",
      port: 7000,
      db: 2,
      password: "x",
    });
  });

  it("turns TLS on for rediss:// and the TLS flags, with the files read", () => {
    expect(connectionOptions({ uri: "rediss://h", config: none }).tls).toEqual({ rejectUnauthorized: true });
    const ca = join(dir, "ca.pem");
    writeFileSync(ca, "CA");
    const tls = connectionOptions({
      uri: "redis://h",
      tlsCa: ca,
      tlsServer: "name",
      insecure: true,
      config: none,
    }).tls;
    expect(tls).toEqual({ ca: Buffer.from("CA"), servername: "name", rejectUnauthorized: false });
    expect(() =>
      connectionOptions({ uri: "redis://h", tlsCert: join(dir, "missing.pem"), config: none }),
    ).toThrow(/--tls-cert: cannot read/);
  });

  it("takes what the flags leave out from the config file", () => {
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify({ uri: "redis://cfg:1234/1", db: 3, password: "pw", tls: true }));
    expect(connectionOptions({ uri: "redis://flag:5678", config: file })).toMatchObject({
      host: "flag",
      port: 5678,
      db: 3,
      password: "pw",
      tls: { rejectUnauthorized: true },
    });
    writeFileSync(file, "{ nope");
    expect(() => connectionOptions({ config: file })).toThrow(CliError);
    expect(() => connectionOptions({ uri: "redis://h/x", config: none })).toThrow(
      /--db: expected a DB index/,
    );
  });
});
