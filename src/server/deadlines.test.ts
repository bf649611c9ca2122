import { describe, expect, it } from "vitest";
import { DeadlineWatcher } from "./deadlines.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("DeadlineWatcher", () => {
  it("fires each deadline once, in order, and never one that was removed", async () => {
    const fired: string[] = [];
    const watcher = new DeadlineWatcher<string>(
      () => Date.now(),
      (name) => fired.push(name),
    );
    const t0 = Date.now();
    watcher.add(t0 + 60, "c");
    const a = watcher.add(t0 + 20, "a");
    watcher.add(t0 + 40, "b");
    watcher.remove(a); // the earliest leaves: the timer fires early once, finds nothing due, re-arms
    watcher.add(t0 + 5, "first");
    await sleep(120);
    expect(fired).toEqual(["first", "b", "c"]);
    watcher.remove(a); // removing twice, or after firing, changes nothing
    expect(fired).toEqual(["first", "b", "c"]);
  });

  it("clear forgets every entry", async () => {
    const fired: string[] = [];
    const watcher = new DeadlineWatcher<string>(
      () => Date.now(),
      (name) => fired.push(name),
    );
    watcher.add(Date.now() + 10, "x");
    watcher.clear();
    await sleep(40);
    expect(fired).toEqual([]);
  });
});
