// An entry's option strings are Go's `Option.String()` forms (wire-format §6.3), in the order given;
// its record has Go's zero time for "never"; its identity is stable across processes.
import { describe, expect, it } from "vitest";
import { buildEntry, configHash, formatOptions, toSchedulerEntry } from "../../src/scheduler/entry.js";
import { GO_ZERO_TIME_SECONDS } from "../../src/wire/messages.js";
import { decodeSchedulerEntry, encodeSchedulerEntry } from "../../src/wire/proto.js";

const NOW = Date.UTC(2030, 0, 1);

describe("option strings", () => {
  it("renders every option as Go does, in the order of the options object", () => {
    expect(
      formatOptions({
        retention: 86_400_000,
        queue: 'crit"ical',
        maxRetry: 3,
        timeout: 1500,
        deadline: Date.UTC(2030, 1, 3, 9, 5, 7),
        processIn: 600_000,
        unique: 3_600_000,
        taskId: "abc",
        group: "batch",
        headers: { trace: "a<b" },
      }),
    ).toEqual([
      "Retention(24h0m0s)",
      'Queue("crit\\"ical")',
      "MaxRetry(3)",
      "Timeout(1.5s)",
      "Deadline(Sun Feb  3 09:05:07 UTC 2030)",
      "ProcessIn(10m0s)",
      "Unique(1h0m0s)",
      'TaskID("abc")',
      'Group("batch")',
      'Header(["trace","a\\u003cb"])',
    ]);
    expect(formatOptions({ processAt: new Date(Date.UTC(2030, 1, 3, 18, 5, 7)), queue: undefined })).toEqual([
      "ProcessAt(Sun Feb  3 18:05:07 UTC 2030)",
    ]);
  });
});

describe("the SchedulerEntry record", () => {
  it("holds the spec as given, the payload bytes, the option strings and both times", () => {
    const entry = buildEntry(
      {
        cronspec: "TZ=Asia/Tokyo 0 9 * * *",
        task: { type: "t", payload: { a: 1 } },
        options: { queue: "low" },
      },
      "UTC",
      NOW,
    );
    const never = decodeSchedulerEntry(encodeSchedulerEntry(toSchedulerEntry(entry)));
    expect(never).toMatchObject({
      id: entry.id,
      spec: "TZ=Asia/Tokyo 0 9 * * *",
      taskType: "t",
      enqueueOptions: ['Queue("low")'],
      nextEnqueueTime: { seconds: GO_ZERO_TIME_SECONDS, nanos: 0 },
      prevEnqueueTime: { seconds: GO_ZERO_TIME_SECONDS, nanos: 0 },
    });
    expect(Buffer.from(never.taskPayload).toString()).toBe('{"a":1}');
    entry.next = Date.UTC(2030, 0, 2);
    entry.prev = Date.UTC(2030, 0, 1);
    expect(toSchedulerEntry(entry)).toMatchObject({
      nextEnqueueTime: { seconds: BigInt(Date.UTC(2030, 0, 2) / 1000), nanos: 0 },
      prevEnqueueTime: { seconds: BigInt(Date.UTC(2030, 0, 1) / 1000), nanos: 0 },
    });
  });
});

describe("identity", () => {
  it("is the same for the same registration, whatever the entry ID or the options' order", () => {
    const a = buildEntry(
      { cronspec: "@hourly", task: { type: "t" }, options: { queue: "q", maxRetry: 1 } },
      "UTC",
      NOW,
    );
    const b = buildEntry(
      { cronspec: "@hourly", task: { type: "t" }, options: { maxRetry: 1, queue: "q" } },
      "UTC",
      NOW,
    );
    expect(a.id).not.toBe(b.id);
    expect(a.identity).toBe(b.identity);
    expect(a.identity).toMatch(/^[0-9a-f]{64}$/);
    expect(
      configHash(
        { cronspec: "@hourly", task: { type: "t" }, options: { queue: "q", maxRetry: 1 } },
        "UTC",
        NOW,
      ),
    ).toBe(a.identity);
    expect(
      buildEntry({ cronspec: "@hourly", task: { type: "t", headers: { k: "v" } } }, "UTC", NOW).identity,
    ).not.toBe(buildEntry({ cronspec: "@hourly", task: { type: "t" } }, "UTC", NOW).identity);
  });
});
