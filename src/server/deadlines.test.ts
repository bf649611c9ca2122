import { describe, expect, it } from "vitest";
import { DeadlineWatcher } from "./deadlines.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("DeadlineWatcher", () => {
  it("fires each deadline once, in order, and never one that was removed", async () => {
    const watcher = new DeadlineWatcher(() => Date.now());
    const fired: string[] = [];
    const t0 = Date.now();
    watcher.add(t0 + 60, () => fired.push("c"));
    const removeA = watcher.add(t0 + 20, () => fired.push("a"));
    watcher.add(t0 + 40, () => fired.push("b"));
    removeA(); // the earliest leaves: the timer fires early once, finds nothing due, re-arms
    watcher.add(t0 + 5, () => fired.push("first"));
    await sleep(120);
    expect(fired).toEqual(["first", "b", "c"]);
  });

  it("clear forgets every entry", async () => {
    const watcher = new DeadlineWatcher(() => Date.now());
    const fired: string[] = [];
    watcher.add(Date.now() + 10, () => fired.push("x"));
    watcher.clear();
    await sleep(40);
    expect(fired).toEqual([]);
  });
});
