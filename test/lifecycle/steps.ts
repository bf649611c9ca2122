// Random lifecycle steps: what a step is, and how fast-check generates and prints it.
import fc from "fast-check";
import type { TaskState } from "../../src/wire/keys.js";

export const QUEUES = ["default", "critical", "low"] as const;
export const SECOND = 1000;
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** Lease written by a dequeue, and how long after it ran out the recoverer takes the task. */
export const LEASE_MS = 30_000;
export const GRACE_MS = 30_000;

const OUTCOMES = ["success", "error", "transient", "skip", "revoke", "timeout", "requeue"] as const;
export type Outcome = (typeof OUTCOMES)[number];
type Bulk = readonly ["delete" | "archive" | "run", TaskState];
const BULK: readonly Bulk[] = [
  ...(["pending", "scheduled", "retry", "archived", "completed", "aggregating"] as const).map(
    (s) => ["delete", s] as const,
  ),
  ...(["pending", "scheduled", "retry", "completed", "aggregating"] as const).map(
    (s) => ["archive", s] as const,
  ),
  ...(["scheduled", "retry", "archived", "completed", "aggregating"] as const).map(
    (s) => ["run", s] as const,
  ),
];

/** One step of a sequence, as generated (IDs are picked by index among those known at run time). */
export type StepData =
  | { kind: "noop" | "heartbeat" | "forward" | "recover" | "janitor" }
  | {
      kind: "enqueue";
      queue: string;
      type: string;
      payload: number;
      /** Reuse the ID of known task #reuse, else a new ID. */
      reuse?: number;
      unique?: number;
      processIn?: number;
      /** processAt this long after now (negative: in the past, so pending now). */
      processAt?: number;
      /** Deadline this long after now. */
      deadline?: number;
      retention?: number;
      group?: string;
      maxRetry: number;
      timeout?: number;
      headers: boolean;
    }
  | { kind: "dequeue"; queue: string; max: number }
  | { kind: "settle"; pick: number; outcome: Outcome; delay: number; late: boolean }
  | { kind: "crash"; pick: number }
  | { kind: "advance"; ms: number }
  | { kind: "inspect"; op: "delete" | "archive" | "run"; pick: number }
  | { kind: "inspectAll"; bulk: Bulk; queue: string; group: string }
  | { kind: "pause"; queue: string; paused: boolean };

/** `90s`, `3h`, `1500ms`: a duration as short as it reads. */
export function fmt(ms: number): string {
  for (const [unit, size] of [
    ["d", DAY],
    ["h", HOUR],
    ["m", 60_000],
    ["s", SECOND],
  ] as const)
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** A step with a readable toString, which fast-check prints in counterexamples. */
export class Step {
  constructor(readonly d: StepData) {}
  toString(): string {
    const d = this.d;
    switch (d.kind) {
      case "enqueue": {
        const opt = (name: string, v: number | string | undefined, f = fmt) =>
          v === undefined ? "" : ` ${name}=${typeof v === "number" ? f(v) : v}`;
        return (
          `enqueue ${d.queue} ${d.type}/${d.payload} id=${d.reuse === undefined ? "new" : `#${d.reuse}`}` +
          `${opt("unique", d.unique)}${opt("in", d.processIn)}${opt("at", d.processAt, (v) => (v < 0 ? `-${fmt(-v)}` : `+${fmt(v)}`))}${opt("deadline", d.deadline, (v) => `+${fmt(v)}`)}` +
          `${opt("retention", d.retention)}${opt("group", d.group)}${opt("timeout", d.timeout)}` +
          ` retry=${d.maxRetry}${d.headers ? " headers" : ""}`
        );
      }
      case "dequeue":
        return `dequeue ${d.queue} x${d.max}`;
      case "settle":
        return `settle #${d.pick} ${d.outcome} delay=${fmt(d.delay)}${d.late ? " late" : ""}`;
      case "crash":
        return `crash #${d.pick}`;
      case "advance":
        return `advance ${fmt(d.ms)}`;
      case "inspect":
        return `inspect ${d.op} #${d.pick}`;
      case "inspectAll":
        return `inspect ${d.bulk[0]}All ${d.queue} ${d.bulk[1]}${d.bulk[1] === "aggregating" ? ` ${d.group}` : ""}`;
      case "pause":
        return `${d.paused ? "pause" : "unpause"} ${d.queue}`;
      default:
        return d.kind;
    }
  }
}

const maybe = <T>(arb: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 100 - percent }, { arbitrary: arb, weight: percent });
const ranges = (...rs: Array<[number, number, number]>): fc.Arbitrary<number> =>
  fc.oneof(...rs.map(([min, max, weight]) => ({ arbitrary: fc.integer({ min, max }), weight })));
const queue = fc.constantFrom(...QUEUES);
const simple = (kind: "noop" | "heartbeat" | "forward" | "recover" | "janitor") => fc.constant({ kind });

/** Steps as fast-check generates them; any step shrinks to `noop` (dropped when printed). */
export const stepArbitrary: fc.Arbitrary<Step> = fc
  .oneof(
    { withCrossShrink: true },
    { arbitrary: simple("noop"), weight: 1 },
    {
      weight: 22,
      arbitrary: fc.record({
        kind: fc.constant("enqueue" as const),
        queue,
        type: fc.constantFrom("a", "b"),
        payload: fc.integer({ min: 0, max: 2 }),
        reuse: maybe(fc.nat(40), 20),
        unique: maybe(fc.constantFrom(10 * SECOND, 60 * SECOND, HOUR, DAY), 30),
        processIn: maybe(ranges([0, 10_000, 3], [10_000, 2 * HOUR, 2], [2 * HOUR, 2 * DAY, 1]), 20),
        processAt: maybe(ranges([-60_000, 0, 1], [1, 2 * HOUR, 2]), 10),
        deadline: maybe(ranges([1000, 5000, 1], [60_000, 2 * DAY, 1]), 15),
        retention: maybe(ranges([1000, 60_000, 1], [60_000, 2 * DAY, 1]), 25),
        group: maybe(fc.constantFrom("g1", "g2"), 20),
        maxRetry: fc.integer({ min: 0, max: 3 }),
        timeout: maybe(ranges([1000, 60_000, 2], [60_000, HOUR, 1]), 20),
        headers: fc.boolean(),
      }),
    },
    {
      weight: 14,
      arbitrary: fc.record({
        kind: fc.constant("dequeue" as const),
        queue,
        max: fc.integer({ min: 1, max: 3 }),
      }),
    },
    {
      weight: 12,
      arbitrary: fc.record({
        kind: fc.constant("settle" as const),
        pick: fc.nat(9),
        outcome: fc.oneof(
          { arbitrary: fc.constant("success" as const), weight: 4 },
          { arbitrary: fc.constantFrom(...OUTCOMES.filter((o) => o !== "success")), weight: 6 },
        ),
        delay: fc.constantFrom(0, SECOND, 30 * SECOND, HOUR),
        late: fc.oneof(
          { arbitrary: fc.constant(false), weight: 9 },
          { arbitrary: fc.constant(true), weight: 1 },
        ),
      }),
    },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("crash" as const), pick: fc.nat(9) }) },
    { weight: 3, arbitrary: simple("heartbeat") },
    {
      weight: 10,
      arbitrary: fc.record({
        kind: fc.constant("advance" as const),
        ms: ranges([1, 5000, 4], [5000, 120_000, 3], [120_000, 2 * HOUR, 2], [2 * HOUR, 4 * DAY, 1]),
      }),
    },
    { weight: 6, arbitrary: simple("forward") },
    { weight: 4, arbitrary: simple("recover") },
    { weight: 4, arbitrary: simple("janitor") },
    {
      weight: 8,
      arbitrary: fc.record({
        kind: fc.constant("inspect" as const),
        op: fc.constantFrom("delete" as const, "archive" as const, "run" as const),
        pick: fc.nat(40),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant("inspectAll" as const),
        bulk: fc.constantFrom(...BULK),
        queue,
        group: fc.constantFrom("g1", "g2"),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("pause" as const),
        queue,
        paused: fc.oneof(
          { arbitrary: fc.constant(false), weight: 2 },
          { arbitrary: fc.constant(true), weight: 1 },
        ),
      }),
    },
  )
  .map((d: StepData) => new Step(d));
