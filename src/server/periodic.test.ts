// Periodic's runOnce / runAgain: joining the run in progress, or queuing one more behind it for a
// change that run started too early to see (the scheduler's register on a running scheduler).
import { describe, expect, it } from "vitest";
import { Periodic } from "./periodic.js";

/** A job that records what it saw at its start and waits until released. */
function gatedJob() {
  let value = 0;
  const seen: number[] = [];
  const gates: Array<() => void> = [];
  const periodic = new Periodic(
    async () => {
      seen.push(value);
      await new Promise<void>((resolve) => gates.push(resolve));
      return seen.length;
    },
    () => 60_000,
  );
  const releaseAll = async (): Promise<void> => {
    while (gates.length > 0) {
      gates.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { periodic, seen, set: (v: number) => (value = v), releaseAll, waiting: () => gates.length };
}

describe("Periodic", () => {
  it("runOnce joins the run in progress: a change made during it is not seen", async () => {
    const job = gatedJob();
    const first = job.periodic.runOnce();
    job.set(1);
    const joined = job.periodic.runOnce();
    await job.releaseAll();
    expect(await first).toBe(1);
    expect(await joined).toBe(1);
    expect(job.seen).toEqual([0]);
  });

  it("runAgain queues one more run after the one in progress, shared by the calls made meanwhile", async () => {
    const job = gatedJob();
    const first = job.periodic.runOnce();
    job.set(1);
    const again = job.periodic.runAgain();
    job.set(2);
    const alsoAgain = job.periodic.runAgain();
    expect(job.waiting()).toBe(1); // the second run waits for the first to end
    await job.releaseAll();
    expect(await first).toBe(1);
    expect(await again).toBe(2);
    expect(await alsoAgain).toBe(2);
    expect(job.seen).toEqual([0, 2]); // one more run, which saw the last change
  });

  it("runAgain with no run in progress runs at once", async () => {
    const job = gatedJob();
    job.set(5);
    const run = job.periodic.runAgain();
    await job.releaseAll();
    expect(await run).toBe(1);
    expect(job.seen).toEqual([5]);
  });
});
