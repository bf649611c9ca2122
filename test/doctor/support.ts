// Helpers for the doctor tests: a baseline of real tasks (Client and a Go-style raw write) and report queries.
import type { Redis } from "ioredis";
import { expect } from "vitest";
import { dequeue } from "../../src/broker/fetch/dequeue.js";
import { Client } from "../../src/client/client.js";
import { doctor, type DoctorOptions, type DoctorReport, type Issue } from "../../src/doctor/index.js";
import * as keys from "../../src/wire/keys.js";
import { rawPending } from "../support/server-helpers.js";

export const Q = "default";
export const HOUR = 3_600_000;

/** IDs of the baseline tasks. */
export interface Baseline {
  pending: string;
  goPending: string;
  scheduled: string;
  unique: string;
  uniqueLock: string;
  grouped: [string, string];
  active: string;
  other: string;
}

/**
 * Writes healthy tasks: pending, scheduled, unique (with its lock), two in group "g1", one active
 * (dequeued with a lease), one in queue "other", and a pending task written the way a Go client does.
 */
export async function baseline(redis: Redis): Promise<Baseline> {
  const client = new Client(redis);
  const enqueue = async (payload: object, options = {}): Promise<string> =>
    (await client.enqueue({ type: "email:send", payload }, options)).id;
  const active = await enqueue({ n: "active" }, { taskId: "active-1" });
  const { tasks } = await dequeue(redis, Q, 1, Date.now() + 30_000);
  expect(tasks.map((t) => t.id)).toEqual([active]);
  const uniqueInfo = await client.enqueue({ type: "email:send", payload: { n: "unique" } }, { unique: HOUR });
  return {
    active,
    pending: await enqueue({ n: "pending" }),
    goPending: await rawPending(redis, Q, { type: "go:task" }),
    scheduled: await enqueue({ n: "scheduled" }, { processIn: HOUR }),
    unique: uniqueInfo.id,
    uniqueLock: (await redis.hget(keys.taskKey(Q, uniqueInfo.id), "unique_key")) ?? "",
    grouped: [await enqueue({ n: "g-a" }, { group: "g1" }), await enqueue({ n: "g-b" }, { group: "g1" })],
    other: await enqueue({ n: "other" }, { queue: "other" }),
  };
}

/** Runs the doctor on the test's connection. */
export function audit(redis: Redis, options: DoctorOptions = {}): Promise<DoctorReport> {
  return doctor(redis, options);
}

/** Every issue of a report, queues and global. */
export function issuesOf(report: DoctorReport): Issue[] {
  return [...report.queues.flatMap((q) => q.issues), ...report.global];
}

/** `kind key [id]` of every issue, for readable assertions. */
export function summary(report: DoctorReport): string[] {
  return issuesOf(report).map((i) => `${i.kind} ${i.key}${i.id !== undefined ? ` ${i.id}` : ""}`);
}

/** Asserts that the report holds exactly these issues (as `kind key [id]`), in any order. */
export function expectIssues(report: DoctorReport, expected: string[]): void {
  expect(summary(report).sort()).toEqual([...expected].sort());
  expect(report.clean).toBe(expected.length === 0);
}

/** Runs a fixing audit that must repair exactly the expected issues, then a clean audit. */
export async function expectRepaired(redis: Redis, expected: string[]): Promise<DoctorReport> {
  const fixed = await audit(redis, { fix: true });
  expectIssues(fixed, expected);
  for (const issue of issuesOf(fixed))
    expect(issue.repair, issue.detail).toMatchObject({ outcome: "repaired" });
  const after = await audit(redis);
  expectIssues(after, []);
  return after;
}
