// The `asynq-ts` binary (built, run as a child process on a real Redis): version, help, connection
// flags and config file, bad input (one line, non-zero exit, no stack trace), terminal safety, colour.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "../../src/index.js";
import { beforeAll, describe, expect, it } from "vitest";
import { useRedisFixture } from "../support/fixture.js";
import { builtCli, cliJson, enqueueOn, isOneLineError, runCli } from "./support.js";

const { url } = useRedisFixture();
const enqueue = (...args: Parameters<Client["enqueue"]>) => enqueueOn(url, ...args);

beforeAll(async () => {
  await builtCli();
}, 180_000);

const PACKAGE = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

describe("basics", () => {
  it("--version prints the package's version; --help lists asynq's commands", async () => {
    const version = await runCli(["--version"]);
    expect(version).toMatchObject({ code: 0, stdout: `${PACKAGE.version}\n` });
    const help = await runCli(["--help"]);
    expect(help.code).toBe(0);
    for (const name of ["stats", "queue", "task", "group", "server", "cron", "doctor", "dash"]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${name}\\b`, "m"));
    }
    const task = await runCli(["task", "--help"]);
    for (const name of [
      "ls",
      "inspect",
      "cancel",
      "archive",
      "delete",
      "run",
      "archiveall",
      "deleteall",
      "runall",
      "enqueue",
    ]) {
      expect(task.stdout).toMatch(new RegExp(`^  ${name}\\b`, "m"));
    }
  });

  it("bad input: one line on stderr, a non-zero exit, no stack trace", async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [["bogus"], 2, /unknown command 'bogus'/],
      [["stats", "--bogus"], 2, /unknown option '--bogus'/],
      [["task", "ls", "-q", "default"], 2, /required option '-s, --state <state>'/],
      [["task", "ls", "-q", "default", "-s", "lost"], 2, /--state: expected one of/],
      [["task", "ls", "-q", "default", "-s", "pending", "--size", "x"], 2, /--size: expected an integer/],
      [["queue", "inspect", "nope"], 1, /queue "nope" not found/],
      [["task", "inspect", "-q", "nope", "-i", "x"], 1, /queue "nope" not found/],
      [["-n", "abc", "stats"], 1, /--db: expected a DB index/],
      [["-u", "http://x", "stats"], 1, /scheme must be redis/],
      [["task", "enqueue", "-t", "x", "--timeout", "soon"], 2, /--timeout: expected a duration/],
    ];
    for (const [args, code, message] of cases) {
      const run = await runCli(args);
      expect(run.code, args.join(" ")).toBe(code);
      expect(isOneLineError(run.stderr), run.stderr).toBe(true);
      expect(run.stderr).toMatch(message);
    }
  });

  it("an unknown task: one line, exit 1", async () => {
    await enqueue({ type: "t" }, { queue: "q" });
    const run = await runCli(["task", "inspect", "-q", "q", "-i", "missing"]);
    expect(run.code).toBe(1);
    expect(isOneLineError(run.stderr), run.stderr).toBe(true);
    expect(run.stderr).toMatch(/missing/);
  });

  it("Redis unreachable: one line naming the address, exit 1 (doctor: 2)", async () => {
    const stats = await runCli(["-u", "redis://127.0.0.1:1", "stats"]);
    expect(stats.code).toBe(1);
    expect(isOneLineError(stats.stderr), stats.stderr).toBe(true);
    expect(stats.stderr).toMatch(/127\.0\.0\.1:1/);
    const doctor = await runCli(["doctor"], { env: { REDIS_URL: "redis://127.0.0.1:1" } });
    expect(doctor.code).toBe(2);
    expect(isOneLineError(doctor.stderr), doctor.stderr).toBe(true);
  });

  it("connection flags: --db, --uri as host:port, a config file", async () => {
    await enqueue({ type: "t" }, { queue: "flags" });
    const db = url.match(/\/(\d+)$/)![1]!;
    const hostPort = url.replace(/^redis:\/\//, "").replace(/\/\d+$/, "");
    expect(
      await cliJson(["-u", hostPort, "-n", db, "queue", "ls"], { env: { REDIS_URL: undefined } }),
    ).toEqual(["flags"]);
    const dir = mkdtempSync(join(tmpdir(), "asynq-ts-cli-config-"));
    try {
      const file = join(dir, "config.json");
      writeFileSync(file, JSON.stringify({ uri: `redis://${hostPort}`, db: Number(db) }));
      expect(await cliJson(["--config", file, "queue", "ls"], { env: { REDIS_URL: undefined } })).toEqual([
        "flags",
      ]);
      writeFileSync(file, JSON.stringify({ url: "x" }));
      const bad = await runCli(["--config", file, "queue", "ls"]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/unknown key "url"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("terminal safety and colour", () => {
  it("hostile queue names, types and payloads are escaped; JSON escapes C1 controls too", async () => {
    const queue = "evil\u001b[2J\u009b31m";
    await enqueue({ type: "t\u001b]0;pwned\u0007", payload: "\u001b[31mred\r\n\u202eabc" }, { queue });
    const outputs = [
      await runCli(["queue", "ls"]),
      await runCli(["stats"]),
      await runCli(["queue", "inspect", queue]),
      await runCli(["task", "ls", "-q", queue, "-s", "pending"]),
      await runCli(["queue", "ls", "--json"]),
      await runCli(["task", "ls", "-q", queue, "-s", "pending", "--json"]),
      await runCli(["queue", "inspect", `${queue}x`]),
    ];
    for (const run of outputs) {
      // eslint-disable-next-line no-control-regex -- the point
      expect(run.stdout + run.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    }
    expect(outputs[0]!.stdout).toBe("evil\\x1b[2J\\x9b31m\n");
    expect(outputs[3]!.stdout).toMatch(/t\\x1b]0;pwned\\x07\s+\\x1b\[31mred\\r\\n\\u202eabc/);
    expect(JSON.parse(outputs[4]!.stdout)).toEqual([queue]);
    expect(outputs[6]!.stderr).toMatch(/queue "evil\\x1b\[2J\\x9b31mx" not found/);
  });

  it("colour only with FORCE_COLOR on a pipe, never with NO_COLOR", async () => {
    await enqueue({ type: "t" }, { queue: "c" });
    // eslint-disable-next-line no-control-regex -- the point
    const ansi = /\u001b\[/;
    expect((await runCli(["stats"])).stdout).not.toMatch(ansi);
    expect((await runCli(["stats"], { env: { FORCE_COLOR: "1" } })).stdout).toMatch(ansi);
    expect((await runCli(["stats"], { env: { FORCE_COLOR: "1", NO_COLOR: "1" } })).stdout).not.toMatch(ansi);
  });
});
