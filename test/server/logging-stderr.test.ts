// What an operator sees with the default settings (issue 12, item 5): a worker process whose handler
// fails prints one warn line per failed attempt on stderr, nothing of the library's on stdout, with
// the task's type, ID, queue, "attempt n of max" and the error as key=value fields; text from task
// types and errors cannot break a line or send escape sequences to the terminal.
import { afterEach, describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import * as keys from "../../src/wire/keys.js";
import { killAll, poll, spawnWorker, type WorkerProcess } from "../support/processes.js";
import { useRedisFixture } from "../support/fixture.js";
import { testRedisUrl } from "../support/redis.js";

const Q = "default";
const { redis } = useRedisFixture();
afterEach(async () => {
  await killAll();
});

/** One stderr line of the default logger: time, level, message and fields. */
interface ConsoleLine {
  raw: string;
  level: string;
  message: string;
  fields: Record<string, string>;
}

const LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (DEBUG|INFO |WARN |ERROR) (.*?)(?: \| (.*))?$/;

/** Parses the lines of the default logger; fails on any other line. */
function parseStderr(stderr: string): ConsoleLine[] {
  const lines = stderr.split("\n");
  expect(lines.pop()).toBe(""); // every line ends with a newline
  return lines.map((raw) => {
    const m = LINE.exec(raw);
    if (m === null) throw new Error(`not a log line: ${JSON.stringify(raw)}`);
    const fields: Record<string, string> = {};
    for (const pair of (m[4] ?? "").matchAll(/("(?:[^"\\]|\\.)*"|[^\s=]+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
      const unquote = (t: string): string => (t.startsWith('"') ? (JSON.parse(t) as string) : t);
      fields[unquote(pair[1]!)] = unquote(pair[2]!);
    }
    return { raw, level: m[2]!.trim(), message: m[3]!, fields };
  });
}

async function runFailingWorker(type: string, error: string, maxRetry: number): Promise<WorkerProcess> {
  const client = new Client(redis);
  const { id } = await client.enqueue({ type, payload: { fail: error } }, { maxRetry, taskId: "task-1" });
  await client.close();
  const worker = spawnWorker({ redisUrl: testRedisUrl(), name: "w1", defaultLogging: true, retryDelay: 0 });
  await worker.ready;
  await poll(
    async () => (await redis.hget(keys.taskKey(Q, id), "state")) === "archived",
    "the task archived",
    {
      timeoutMs: 15_000,
      describe: () => worker.tail(),
    },
  );
  worker.signal("SIGTERM");
  expect((await worker.exited).code).toBe(0);
  return worker;
}

describe("the default logger", () => {
  it("prints one warn line per failed attempt on stderr, with the task's facts as key=value fields", async () => {
    const worker = await runFailingWorker("email:welcome", "mail service answered 503", 2);

    const lines = parseStderr(worker.stderr());
    const failures = lines.filter((l) => l.message.startsWith("asynq: task failed:"));
    expect(failures.map((l) => l.level)).toEqual(["WARN", "WARN", "WARN"]);
    expect(failures.map((l) => l.message)).toEqual([
      'asynq: task failed: email:welcome "task-1" in queue "default", attempt 1 of 3; will retry in 0 ms: mail service answered 503',
      'asynq: task failed: email:welcome "task-1" in queue "default", attempt 2 of 3; will retry in 0 ms: mail service answered 503',
      'asynq: task failed: email:welcome "task-1" in queue "default", attempt 3 of 3; archived (retries exhausted): mail service answered 503',
    ]);
    failures.forEach((l, i) => {
      expect(l.fields).toMatchObject({
        queue: Q,
        taskId: "task-1",
        type: "email:welcome",
        attempt: String(i + 1),
        maxAttempts: "3",
        outcome: i < 2 ? "retry" : "archived",
        error: "mail service answered 503",
        component: "processor",
      });
    });
    expect(failures[2]!.raw).toContain(' error="mail service answered 503" ');
    // At the default level: info lines (start, shutdown) and the failures; no debug.
    expect(lines.filter((l) => l.level === "DEBUG")).toEqual([]);
    expect(lines.some((l) => l.level === "INFO" && / started \(concurrency/.test(l.message))).toBe(true);
    // stdout is the application's: only the fixture's own lines.
    expect(worker.lines.filter((l) => l.text.includes("asynq"))).toEqual([]);
    expect(worker.lines.filter((l) => l.text.startsWith("FAIL "))).toHaveLength(3);
  }, 30_000);

  it("escapes control characters of task types and errors: no broken line, no terminal escape", async () => {
    const type = "evil\ntype\x1b[2J";
    const error = "line one\r\nline two \x1b]0;pwned\x07 \u202eexe.txt";
    const worker = await runFailingWorker(type, error, 0);

    const stderr = worker.stderr();
    // eslint-disable-next-line no-control-regex -- control characters are what must not be there
    expect(stderr.replace(/\n/g, "")).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
    const lines = parseStderr(stderr);
    const [failure, ...more] = lines.filter((l) => l.message.startsWith("asynq: task failed:"));
    expect(more).toEqual([]);
    expect(failure!.message).toBe(
      String.raw`asynq: task failed: evil\ntype\u001b[2J "task-1" in queue "default", attempt 1 of 1; ` +
        String.raw`archived (retries exhausted): line one\r\nline two \u001b]0;pwned\u0007 \u202eexe.txt`,
    );
    // The fields give the exact text back once unquoted.
    expect(failure!.fields.type).toBe(type);
    expect(failure!.fields.error).toBe(error);
  }, 30_000);
});
