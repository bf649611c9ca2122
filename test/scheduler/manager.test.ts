// The PeriodicTaskManager on a real Redis: the provider's list becomes the scheduler's entries;
// unchanged configs keep their entry ID (stable hash); a provider that throws or lists an invalid
// config leaves the last good set and is reported.
import { describe, expect, it, onTestFinished } from "vitest";
import { ValidationError } from "../../src/errors.js";
import {
  PeriodicTaskManager,
  type PeriodicTaskConfig,
  type PeriodicTaskManagerOptions,
} from "../../src/scheduler/manager.js";
import { useRedisFixture } from "../support/fixture.js";
import { waitFor } from "../support/server.js";

const { url, inspector } = useRedisFixture({ inspector: true });

/** A manager over a provider whose list the test changes; shut down after the test. */
function manager(
  configs: { current: PeriodicTaskConfig[] | Error },
  options: Partial<PeriodicTaskManagerOptions> = {},
): { manager: PeriodicTaskManager; syncErrors: Error[] } {
  const syncErrors: Error[] = [];
  const m = new PeriodicTaskManager(url, {
    provider: () => {
      const c = configs.current;
      if (c instanceof Error) throw c;
      return Promise.resolve(c);
    },
    // The test syncs by hand.
    syncInterval: 3_600_000,
    onSyncError: (e) => void syncErrors.push(e),
    logLevel: "silent",
    heartbeatInterval: 100,
    ...options,
  });
  onTestFinished(() => m.shutdown());
  return { manager: m, syncErrors };
}

const A: PeriodicTaskConfig = { cronspec: "@every 1h", task: { type: "a" } };
const B: PeriodicTaskConfig = {
  cronspec: "0 4 * * *",
  task: { type: "b", payload: { x: 1 } },
  options: { queue: "low" },
};
const C: PeriodicTaskConfig = { cronspec: "@daily", task: { type: "c" } };

describe("syncing with the provider", () => {
  it("registers the list at start, keeps unchanged entries, adds and removes the others", async () => {
    const configs = { current: [A, B] };
    const { manager: m } = manager(configs);
    await m.start();
    const [idA, idB] = m.scheduler.entryIds();
    await waitFor(async () => (await inspector.listSchedulerEntries()).length === 2, "two entries listed");

    // The same list (a new array of equal objects): nothing changes.
    configs.current = [{ ...A }, { ...B, options: { queue: "low" } }];
    expect(await m.sync()).toEqual({ added: [], removed: [], kept: 2 });
    expect(m.scheduler.entryIds()).toEqual([idA, idB]);

    // B's options change, C is new: B is replaced, A keeps its ID.
    configs.current = [A, { ...B, options: { queue: "critical" } }, C];
    const result = await m.sync();
    expect(result.removed).toEqual([idB]);
    expect(result.added).toHaveLength(2);
    expect(result.kept).toBe(1);
    expect(m.scheduler.entryIds()).toEqual([idA, ...result.added]);

    // Duplicates in the list are one entry.
    configs.current = [A, A];
    expect(await m.sync()).toMatchObject({ removed: result.added, added: [], kept: 1 });
    await waitFor(async () => {
      const listed = await inspector.listSchedulerEntries();
      return listed.length === 1 && listed[0]!.id === idA;
    }, "only A listed");
  });

  it("a provider that throws keeps the last good set and is reported", async () => {
    const configs: { current: PeriodicTaskConfig[] | Error } = { current: [A] };
    const { manager: m, syncErrors } = manager(configs);
    await m.start();
    const ids = m.scheduler.entryIds();
    configs.current = new Error("config service down");
    await expect(m.sync()).rejects.toThrow("config service down");
    expect(syncErrors.map((e) => e.message)).toEqual(["config service down"]);
    expect(m.scheduler.entryIds()).toEqual(ids);
  });

  it("an invalid config fails the whole sync, naming it; the entries stay", async () => {
    const configs: { current: PeriodicTaskConfig[] | Error } = { current: [A] };
    const { manager: m, syncErrors } = manager(configs);
    await m.start();
    configs.current = [C, { cronspec: "every day", task: { type: "d" } }];
    const error = await m.sync().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe("configs[1].cronspec");
    expect(syncErrors).toEqual([error]);
    configs.current = [A, { cronspec: "@daily", task: { type: "d" }, options: { maxRetry: -2 } }];
    expect(await m.sync().catch((e: unknown) => (e as ValidationError).field)).toBe(
      "configs[1].options.maxRetry",
    );
    expect(m.scheduler.entryIds()).toHaveLength(1);
  });

  it("a failing first read fails start: nothing is started", async () => {
    const { manager: m } = manager({ current: new Error("no configs") });
    await expect(m.start()).rejects.toThrow("no configs");
    expect(m.scheduler.entryIds()).toEqual([]);
    expect(await inspector.listSchedulerEntries()).toEqual([]);
  });

  it("syncs every syncInterval", async () => {
    const configs = { current: [A] };
    const { manager: m } = manager(configs, { syncInterval: 20 });
    await m.start();
    configs.current = [A, C];
    await waitFor(() => m.scheduler.entryIds().length === 2, "the periodic sync to add C");
  });

  it("refuses invalid options", () => {
    expect(() => new PeriodicTaskManager(url, {} as never)).toThrow(/options\.provider/);
    expect(() => new PeriodicTaskManager(url, { provider: () => [], syncInterval: 0 })).toThrow(
      /options\.syncInterval/,
    );
    expect(() => new PeriodicTaskManager(url, { provider: () => [], location: "X/Y" })).toThrow(
      /options\.location/,
    );
  });
});
