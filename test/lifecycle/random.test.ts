// Randomized lifecycle test: seeded fast-check sequences of enqueues, processing outcomes, crashes,
// inspector operations, pauses, forwarder / recoverer / janitor passes and clock jumps on a real
// Redis; the key-lifecycle invariant is checked after every step, and once everything has finished
// and every retention has run out only counters remain. Replay: LIFECYCLE_SEED, LIFECYCLE_PATH.
import fc from "fast-check";
import type { Redis } from "ioredis";
import { beforeAll, describe, expect, it } from "vitest";
import { openBroker } from "../../src/broker/broker.js";
import type { Broker } from "../../src/broker/ports.js";
import { openConnection } from "../../src/broker/connection/connection.js";
import { Client } from "../../src/client/client.js";
import { doctor, type DoctorReport } from "../../src/doctor/index.js";
import { ManualClock } from "../../src/internal/clock.js";
import { Inspector } from "../../src/inspector/inspector.js";
import { resolveServerConfig } from "../../src/server/config.js";
import { Forwarder } from "../../src/server/forwarder.js";
import { Finisher } from "../../src/server/finisher.js";
import { Outcomes } from "../../src/server/outcomes.js";
import { Janitor, Recoverer } from "../support/components.js";
import { freshRedis } from "../support/redis.js";
import { DAY, GRACE_MS, HOUR, LEASE_MS, QUEUES, Step, stepArbitrary, type StepData } from "./steps.js";
import { World, type Env } from "./world.js";

const SEED = Number(process.env.LIFECYCLE_SEED ?? 20_260_511);
const RUNS = Number(process.env.LIFECYCLE_RUNS ?? 200);
const PATH = process.env.LIFECYCLE_PATH;
const START = Date.UTC(2030, 0, 1);
/**
 * Effects every full run must have exercised at least once (`kind: tag` substrings), so that a change
 * of the generators cannot quietly stop testing a path.
 */
const MUST_COVER = [
  ...["pending", "scheduled", "aggregating", "duplicate", "conflict"].map((t) => `enqueue: ${t}`),
  "(reused ID)",
  ...["success", "error", "transient", "skip", "revoke", "timeout", "requeue", "expired", "aborted"].map(
    (t) => `settle: ${t}`,
  ),
  "settle: lease lost",
  " fenced", // a late settle after the task was recovered: the fenced write did nothing
  " late",
  "crash: left active",
  "heartbeat: extended",
  "heartbeat: lost",
  "dequeue: took",
  "dequeue: paused",
  "advance: locks expired",
  "forward: moved",
  "recover: recovered",
  "janitor: deleted",
  "janitor: trimmed",
  ...["delete", "archive", "run"].flatMap((op) => [`inspect: ${op} `, `inspectAll: ${op} `]),
  "TaskStateError",
  "TaskNotFoundError",
  "pause: paused",
  "pause: unpaused",
];
/** Keys that may outlive every task: the queue registry and the counters. */
const COUNTER = /^asynq:\{[^}]+\}:(processed|failed)(:\d{4}-\d{2}-\d{2})?$/;

interface RunConfig {
  archiveMaxSize: number;
  archiveMaxAge: number;
  onExpired: "archive" | "delete";
}

const configArbitrary: fc.Arbitrary<RunConfig> = fc.record({
  archiveMaxSize: fc.integer({ min: 1, max: 5 }),
  archiveMaxAge: fc.constantFrom(HOUR, DAY, 3 * DAY),
  onExpired: fc.constantFrom("archive" as const, "delete" as const),
});

let redis: Redis;
let client: Client;
let broker: Broker;
const clock = new ManualClock(START);
/** One Inspector per archive limit (they share the connection). */
const inspectors = new Map<string, Inspector>();
let stepsRun = 0;
let generated = 0;
/** How often each kind of step had each kind of effect, over all sequences (drain excluded). */
const coverage = new Map<string, number>();

beforeAll(async () => {
  redis = await freshRedis();
  // The client, the broker and one Inspector per archive limit share this connection.
  redis.setMaxListeners(32);
  client = new Client(redis, { clock });
  broker = openBroker(openConnection(redis, "test"));
});

/** The server components of one run, on the shared connection, with the run's limits. */
function environment(cfg: RunConfig): Env {
  const archive = { maxSize: cfg.archiveMaxSize, maxAge: cfg.archiveMaxAge };
  const retryDelay = { ms: 0 };
  const config = resolveServerConfig({
    clock,
    logLevel: "silent",
    retryDelay: () => retryDelay.ms,
    isFailure: (error) => !error.message.startsWith("transient"),
    archive,
    onExpired: cfg.onExpired,
  });
  const limits = `${archive.maxSize}/${archive.maxAge}`;
  if (!inspectors.has(limits)) inspectors.set(limits, new Inspector(redis, { clock, archive }));
  const { logger } = config;
  const queues = [...QUEUES];
  return {
    redis,
    clock,
    client,
    broker,
    inspector: inspectors.get(limits)!,
    outcomes: new Outcomes(broker, config, new Finisher(broker, () => clock.now())),
    recoverer: new Recoverer({
      broker,
      clock,
      logger,
      queues,
      retryDelay: config.retryDelay,
      isFailure: config.isFailure,
      grace: GRACE_MS,
    }),
    forwarder: new Forwarder({ broker, clock, logger, queues }),
    janitor: new Janitor({
      broker,
      clock,
      logger,
      queues,
      batchSize: 2,
      archiveMaxSize: archive.maxSize,
      archiveMaxAge: archive.maxAge,
    }),
    archive,
    onExpired: cfg.onExpired,
    retryDelay,
  };
}

/**
 * Finishes everything: unpause, settle what is held, then rounds of running the aggregating tasks,
 * jumping past every lease, retry, schedule, retention and archive age, recovering, forwarding,
 * processing all pending tasks successfully and running the janitor. Each action is a checked step.
 */
async function drain(world: World): Promise<void> {
  const apply = (d: StepData) => world.apply(new Step(d));
  for (const queue of QUEUES)
    if (world.snapshot.paused.has(queue)) await apply({ kind: "pause", queue, paused: false });
  const far = world.env.archive.maxAge + 4 * DAY + LEASE_MS + GRACE_MS;
  for (let round = 0; round < 6 && world.snapshot.tasks.size > 0; round++) {
    while (world.held.length > 0)
      await apply({ kind: "settle", pick: 0, outcome: "success", delay: 0, late: false });
    const tasks = () => [...world.snapshot.tasks.values()];
    const groups = new Set(
      tasks()
        .filter((t) => t.state === "aggregating")
        .map((t) => `${t.queue}\n${t.group}`),
    );
    for (const entry of groups) {
      const [queue, group] = entry.split("\n") as [string, string];
      await apply({ kind: "inspectAll", bulk: ["run", "aggregating"], queue, group });
    }
    await apply({ kind: "advance", ms: far });
    await apply({ kind: "recover" });
    await apply({ kind: "forward" });
    for (const queue of QUEUES) {
      while (tasks().some((t) => t.queue === queue && t.state === "pending")) {
        await apply({ kind: "dequeue", queue, max: 3 });
        while (world.held.length > 0)
          await apply({ kind: "settle", pick: 0, outcome: "success", delay: 0, late: false });
      }
    }
    await apply({ kind: "advance", ms: far });
    await apply({ kind: "janitor" });
  }
}

/** Doctor's findings as text; empty when the audit is clean. */
function findings(report: DoctorReport): string[] {
  return [...report.queues.flatMap((q) => q.issues), ...report.global].map(
    (i) => `${i.kind} ${i.key}: ${i.detail}`,
  );
}

/** One sequence: the steps, a doctor audit, the drain, another audit, and only counters left. */
async function runSequence(cfg: RunConfig, steps: readonly Step[]): Promise<void> {
  await redis.flushdb();
  clock.set(START);
  generated += steps.length;
  const world = new World(environment(cfg));
  try {
    await world.start();
    for (const step of steps) await world.apply(step);
    const audit = findings(await doctor(redis, { clock }));
    if (audit.length > 0) throw new Error(`doctor after the steps:\n  ${audit.join("\n  ")}`);
    world.counting = false;
    await drain(world);
    const left = world.snapshot.keys.filter((k) => k !== "asynq:queues" && !COUNTER.test(k));
    if (left.length > 0)
      throw new Error(`after the drain, keys other than counters remain: ${left.sort().join(", ")}`);
    const final = findings(await doctor(redis, { clock }));
    if (final.length > 0) throw new Error(`doctor after the drain:\n  ${final.join("\n  ")}`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n\nrun (${JSON.stringify(cfg)}):\n${world.trace.join("\n")}`, {
      cause: error,
    });
  } finally {
    stepsRun += world.trace.length;
    for (const [k, n] of world.coverage) coverage.set(k, (coverage.get(k) ?? 0) + n);
  }
}

/** The failing sequence after shrinking, readable, with how to replay it. */
function failureReport(details: fc.RunDetails<[RunConfig, Step[]]>): string {
  const [cfg, steps] = details.counterexample ?? [undefined, []];
  const lines = steps
    .map((s, i) => `${i + 1}. ${s.toString()}`)
    .filter((_, i) => steps[i]!.d.kind !== "noop");
  const error =
    details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  return (
    `lifecycle property failed after ${details.numRuns} run(s), shrunk ${details.numShrinks} time(s).\n` +
    `Replay: LIFECYCLE_SEED=${details.seed} LIFECYCLE_PATH=${details.counterexamplePath ?? ""}\n` +
    `Config: ${JSON.stringify(cfg)}\nShrunk sequence (noops omitted):\n${lines.join("\n")}\n\n${error}`
  );
}

describe("randomized key lifecycle", () => {
  it(`keeps the invariant over ${RUNS} random sequences of 50-80 steps (seed ${SEED})`, async () => {
    const started = performance.now();
    const property = fc.asyncProperty(
      configArbitrary,
      fc.array(stepArbitrary, { minLength: 50, maxLength: 80 }),
      (cfg, steps) => runSequence(cfg, steps),
    );
    const details = await fc.check(property, { seed: SEED, numRuns: RUNS, path: PATH });
    if (details.failed) expect.fail(failureReport(details));
    const covered = [...coverage].sort().map(([k, n]) => `  ${k} ×${n}`);
    console.log(
      `lifecycle: ${details.numRuns} sequences of ${generated} generated steps, ` +
        `${stepsRun} steps run (drain included, noops not), ` +
        `${Math.round(performance.now() - started)} ms, seed ${SEED}` +
        (process.env.LIFECYCLE_COVERAGE === undefined ? "" : `\n${covered.join("\n")}`),
    );
    if (PATH === undefined && RUNS >= 200) {
      expect(details.numRuns).toBe(RUNS);
      const missing = MUST_COVER.filter((want) => !covered.some((line) => line.includes(want)));
      expect(missing, "effects no sequence exercised").toEqual([]);
    }
  }, 600_000);
});
