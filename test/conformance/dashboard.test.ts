// The web dashboard on a Redis Cluster (run by `npm run test:conformance -- cluster`): queues whose slots
// are served by the three masters, with tasks in every state written by a real Client, Server and
// Scheduler, read through the dashboard's HTTP API and compared with what the Inspector says; its
// mutations on queues of different masters; the Redis view, which on a Cluster shows every master
// (a Cluster sends a keyless INFO to a random master, so the view used to describe a different server
// on each refresh, and only that server's keys); and the pages in chromium.
import type { Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { Scheduler, Server, ServeMux, type Inspector } from "../../src/index.js";
import { useBrowser } from "../dashboard/browser.js";
import { call, csrfToken, mutate as post, serveDashboard, type Served } from "../dashboard/support.js";
import { useRedisFixture } from "../support/fixture.js";
import { waitFor } from "../support/server-helpers.js";
import { QUEUE_COUNTS } from "../support/queue-json.js";
import { queuesOnMasters } from "./support.js";

const { url, client, inspector } = useRedisFixture({ client: true, inspector: true });
const { openPage, screenshot } = useBrowser();

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Serves a dashboard on the cluster until the test ends; returns its origin. */
async function serve(): Promise<string> {
  const served: Served = await serveDashboard(url, { pollIntervalMs: 1000 });
  cleanups.push(() => served.close());
  return served.origin;
}

/** What each queue holds once {@link seed} returns. */
const EXPECTED = { pending: 2, active: 1, scheduled: 1, retry: 1, archived: 1, completed: 1, aggregating: 2 };

/** The state {@link seed} leaves: the queues, the running server, the scheduler entry. */
interface Seeded {
  queues: string[];
  server: Server;
  entryId: string;
  /** The ID of each queue's task held active by the server. */
  active: Map<string, string>;
  /** The IDs of held tasks whose signal was aborted (canceled). */
  aborted: Set<string>;
}

/**
 * Per queue (on three masters): a completed task (kept 1 h), an archived and a retried failure (next
 * try in 1 h), an active task held by a running Server (3 slots: one per queue), then two pending
 * tasks (no slot is free), one scheduled in 1 h and two tasks in group "g" (no aggregator runs); and a
 * Scheduler with one hourly entry. Both are stopped after the test.
 */
async function seed(): Promise<Seeded> {
  const queues = [...(await queuesOnMasters(inspector, 3, "dash")).keys()];
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const active = new Map<string, string>();
  const aborted = new Set<string>();
  const mux = new ServeMux()
    .handle("ok", async () => {})
    .handle("fail", () => Promise.reject(new Error("boom")))
    .handle("hold", (_task, ctx) => {
      active.set(ctx.queue, ctx.id);
      ctx.signal.addEventListener("abort", () => aborted.add(ctx.id));
      return held;
    });
  const server = new Server(url, {
    queues: Object.fromEntries(queues.map((q) => [q, 1])),
    concurrency: queues.length,
    pollInterval: 50,
    heartbeatInterval: 200,
    retryDelay: () => 3_600_000,
    shutdownTimeout: 1000,
    logLevel: "error",
  });
  await server.start(mux);
  cleanups.push(async () => {
    release();
    await server.shutdown();
  });
  for (const queue of queues) {
    await client.enqueue({ type: "ok" }, { queue, retention: 3_600_000 });
    await client.enqueue({ type: "fail" }, { queue, maxRetry: 0 });
    await client.enqueue({ type: "fail" }, { queue, maxRetry: 5 });
  }
  const settled = async (): Promise<boolean> =>
    (await inspector.getQueueInfos()).every((q) => q.completed === 1 && q.archived === 1 && q.retry === 1);
  await waitFor(settled, { message: "a completed, an archived and a retried task in each queue" });
  for (const queue of queues) await client.enqueue({ type: "hold" }, { queue });
  await waitFor(() => active.size === queues.length, { message: "a held task in each queue" });
  for (const queue of queues) {
    for (let i = 0; i < EXPECTED.pending; i++) await client.enqueue({ type: "later" }, { queue });
    await client.enqueue({ type: "later" }, { queue, processIn: 3_600_000 });
    for (let i = 0; i < EXPECTED.aggregating; i++)
      await client.enqueue({ type: "agg" }, { queue, group: "g" });
  }
  const scheduler = new Scheduler(url, { heartbeatInterval: 100, logLevel: "error" });
  const entryId = scheduler.register("@every 1h", { type: "cron" }, { queue: queues[0]! });
  await scheduler.start();
  cleanups.push(() => scheduler.shutdown());
  await waitFor(async () => (await inspector.listSchedulerEntries()).length === 1, {
    message: "the scheduler's entry",
  });
  // The held tasks are in the registry from the heartbeat after they started.
  const beating = async (): Promise<boolean> =>
    (await inspector.listServers())[0]?.activeWorkers.length === queues.length;
  await waitFor(beating, { message: "a heartbeat with the held tasks" });
  return { queues, server, entryId, active, aborted };
}

/** The counts of a queue, as the dashboard's JSON and the Inspector's QueueInfo both name them. */
const COUNTS = ["queue", "paused", ...QUEUE_COUNTS] as const;

function counts(q: object): Record<string, unknown> {
  return Object.fromEntries(COUNTS.map((k) => [k, (q as Record<string, unknown>)[k]]));
}

/** The IDs of a queue's tasks in a state, sorted, from the Inspector. */
async function idsOf(queue: string, state: Parameters<Inspector["listTasks"]>[1], group?: string) {
  const tasks =
    group === undefined
      ? await inspector.listTasks(queue, state, { size: 100 })
      : await inspector.listAggregatingTasks(queue, group, { size: 100 });
  return tasks.map((t) => t.id).sort();
}

/** The JSON answers this file reads (test/dashboard/support.ts types them `any`). */
type Json = Record<string, unknown>;
interface TaskListJson {
  total: number;
  tasks: Array<{ id: string }>;
}
interface WorkerJson {
  taskId: string;
  queue: string;
}
interface NodeJson {
  addr: string;
  info: Record<string, string>;
}

/** GETs `path` of the dashboard at `base`: the status and the JSON body, typed `T`. */
async function get<T = Json>(base: string, path: string): Promise<{ status: number; body: T }> {
  const answer = await call(`${base}${path}`);
  return { status: answer.status, body: answer.body as T };
}

/** POSTs a mutation with the CSRF token: the status and the JSON body (if any), typed `T`. */
async function mutate<T = Json>(
  base: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const answer = await post(base, path, token, body);
  return { status: answer.status, body: answer.body as T };
}

/** The `data-*` attribute of every element `selector` matches, in page order. */
async function attributes(page: Page, selector: string, name: string): Promise<Array<string | null>> {
  return Promise.all((await page.locator(selector).all()).map((el) => el.getAttribute(name)));
}

const ids = (list: { tasks: Array<{ id: string }> }): string[] => list.tasks.map((t) => t.id).sort();

describe("the dashboard's API on a cluster", () => {
  it("answers what the Inspector says for queues on three masters: counts, task lists, details", async () => {
    const { queues } = await seed();
    const base = await serve();
    const overview = await get<{ queues: Json[] }>(base, "/api/queues");
    expect(overview.status).toBe(200);
    const infos = await inspector.getQueueInfos();
    expect(overview.body.queues.map(counts)).toEqual(infos.map(counts));
    expect(overview.body.queues.map((q) => q.queue)).toEqual([...queues].sort());
    for (const queue of queues) {
      const one = await get(base, `/api/queues/${queue}`);
      expect(counts(one.body)).toEqual(counts(await inspector.getQueueInfo(queue)));
      expect(one.body).toMatchObject({ ...EXPECTED, paused: false, groups: 1, processed: 3, failed: 2 });
      for (const state of ["pending", "active", "scheduled", "retry", "archived", "completed"] as const) {
        const listed = await get<TaskListJson>(base, `/api/queues/${queue}/tasks?state=${state}&size=100`);
        expect(listed.status, `${queue} ${state}`).toBe(200);
        expect(listed.body.total, `${queue} ${state}`).toBe(EXPECTED[state]);
        expect(ids(listed.body), `${queue} ${state}`).toEqual(await idsOf(queue, state));
        // The detail of one task of each state, as the Inspector reads it.
        const id = ids(listed.body)[0]!;
        const detail = await get(base, `/api/queues/${queue}/tasks/${id}`);
        const info = await inspector.getTaskInfo(queue, id);
        expect(detail.body).toMatchObject({ id, queue, state, type: info.type });
      }
      const history = await get<{ history: Json[] }>(base, `/api/queues/${queue}/history?days=2`);
      const days = await inspector.history(queue, 2);
      expect(history.body.history).toEqual(
        days.map((d) => ({ date: d.date, processed: d.processed, failed: d.failed })),
      );
      // Today's counters (summed over the two days, should the test cross midnight UTC).
      const sum = (k: "processed" | "failed") => days.reduce((n, d) => n + d[k], 0);
      expect([sum("processed"), sum("failed")]).toEqual([3, 2]);
      const grouped = await get<TaskListJson>(base, `/api/queues/${queue}/tasks?state=aggregating&group=g`);
      expect(grouped.body.total).toBe(EXPECTED.aggregating);
      expect(ids(grouped.body)).toEqual(await idsOf(queue, "aggregating", "g"));
    }
  });

  it("lists the server and its workers of every master, the scheduler entry, the groups; cancels a task; the doctor is clean", async () => {
    const { queues, server, entryId, active, aborted } = await seed();
    const base = await serve();
    const servers = await get<{ servers: Array<{ serverId: string }> }>(base, "/api/servers");
    const listed = await inspector.listServers();
    expect(servers.body.servers.map((s) => s.serverId)).toEqual(listed.map((s) => s.serverId));
    expect(listed.map((s) => s.serverId)).toEqual([server.id]);
    const detail = await get<{ queues: Json; activeWorkers: WorkerJson[] }>(
      base,
      `/api/servers/${server.id}`,
    );
    expect(detail.body.queues).toEqual(Object.fromEntries(queues.map((q) => [q, 1])));
    const workers = detail.body.activeWorkers.map((w) => [w.queue, w.taskId]);
    expect(workers.sort()).toEqual([...active].sort());

    const scheduler = await get<{ entries: Json[] }>(base, "/api/scheduler");
    expect(scheduler.body.entries).toHaveLength(1);
    expect(scheduler.body.entries[0]).toMatchObject({ id: entryId, spec: "@every 1h", queue: queues[0] });
    const history = await get(base, `/api/scheduler/${entryId}/history`);
    expect(history.body).toMatchObject({ entry: { id: entryId }, events: [], hasMore: false });

    for (const queue of queues) {
      const groups = await get<{ groups: Json[] }>(base, `/api/queues/${queue}/groups`);
      expect(groups.body.groups).toEqual(await inspector.listGroups(queue));
      expect(groups.body.groups).toEqual([{ group: "g", size: EXPECTED.aggregating }]);
      const group = await get<TaskListJson>(base, `/api/queues/${queue}/groups/g`);
      expect(group.body.total).toBe(EXPECTED.aggregating);
      expect(ids(group.body)).toEqual(await idsOf(queue, "aggregating", "g"));
    }

    const doctor = await get<{ clean: boolean; global: Json[]; queues: Json[] }>(base, "/api/doctor");
    expect(doctor.status).toBe(200);
    expect(doctor.body.global).toEqual([]);
    for (const queue of queues) {
      const report = doctor.body.queues.find((q) => q.queue === queue);
      expect(report, queue).toMatchObject({ registered: true, issues: [] });
    }
    expect(doctor.body.clean).toBe(true);
    // The audit of one queue, on its master only.
    const one = await get<{ clean: boolean; queues: Json[] }>(base, `/api/doctor?queue=${queues[2]}`);
    expect(one.body.queues.map((q) => q.queue)).toEqual([queues[2]]);
    expect(one.body.clean).toBe(true);

    // Canceling the task of the third master's queue aborts its handler; as in cluster.test.ts, the
    // PUBLISH's count is of one node's subscribers, so the cancel is sent until the server has heard it.
    const token = await csrfToken(base);
    const canceled = active.get(queues[2]!)!;
    await waitFor(
      async () => {
        const answer = await mutate(base, `/api/queues/${queues[2]}/tasks/${canceled}/cancel`, token);
        expect(answer.status).toBe(200);
        return aborted.has(canceled);
      },
      { message: "the held task to be aborted", interval: 200 },
    );
    expect([...aborted]).toEqual([canceled]);
  });

  it("shows Redis as its three masters, each by its own INFO, and the same first master on every read", async () => {
    const queues = await queuesOnMasters(inspector, 3, "dash");
    for (const queue of queues.keys()) await client.enqueue({ type: "t" }, { queue });
    const base = await serve();
    const first = await get<{ info: Record<string, string>; nodes: NodeJson[] }>(base, "/api/redis");
    expect(first.status).toBe(200);
    const nodes = first.body.nodes;
    expect(nodes.map((n) => n.addr)).toEqual([...new Set(queues.values())].sort());
    for (const node of nodes) {
      expect(node.info.role).toBe("master");
      expect(node.info.tcp_port).toBe(node.addr.split(":")[1]);
      expect(node.info.cluster_enabled).toBe("1");
      // Each master holds the keys of its queue (the task hash, the pending list, ...).
      expect(Number(/keys=(\d+)/.exec(node.info.db0 ?? "")?.[1])).toBeGreaterThanOrEqual(2);
    }
    expect(new Set(nodes.map((n) => n.info.run_id)).size).toBe(3);
    // `info` is the first master's, on every read (a Cluster would answer INFO from any master).
    for (let i = 0; i < 10; i++) {
      const again = await get<{ info: Record<string, string> }>(base, "/api/redis");
      expect(again.body.info.run_id).toBe(nodes[0]!.info.run_id);
    }
  });

  it("runs, archives and deletes tasks, pauses and resumes queues on different masters", async () => {
    const queues = [...(await queuesOnMasters(inspector, 3, "dash")).keys()];
    const [a, b, c] = queues as [string, string, string];
    const enqueued = new Map<string, string[]>();
    for (const queue of queues) {
      const pending = [];
      for (let i = 0; i < 3; i++) pending.push((await client.enqueue({ type: "t" }, { queue })).id);
      const later = await client.enqueue({ type: "t" }, { queue, processIn: 3_600_000 });
      enqueued.set(queue, [...pending, later.id]);
    }
    const base = await serve();
    const token = await csrfToken(base);
    const [a0, , , aLater] = enqueued.get(a) as [string, string, string, string];
    const [b0, b1] = enqueued.get(b) as [string, string];
    const [c0, , , cLater] = enqueued.get(c) as [string, string, string, string];

    expect((await mutate(base, `/api/queues/${a}/tasks/${aLater}/run`, token)).status).toBe(204);
    expect((await inspector.getTaskInfo(a, aLater)).state).toBe("pending");
    expect((await mutate(base, `/api/queues/${b}/tasks/${b0}/archive`, token)).status).toBe(204);
    expect((await inspector.getTaskInfo(b, b0)).state).toBe("archived");
    expect((await mutate(base, `/api/queues/${c}/tasks/${c0}/delete`, token)).status).toBe(204);
    expect((await get(base, `/api/queues/${c}/tasks/${c0}`)).status).toBe(404);
    // A batch and an "all" action, each on one queue's master (b1 is not a task of queue a).
    const batch = await mutate<{ results: Array<{ ok: boolean }> }>(
      base,
      `/api/queues/${a}/batch/archive`,
      token,
      { ids: [a0, b1] },
    );
    expect(batch.body.results.map((r) => r.ok)).toEqual([true, false]);
    const all = await mutate<{ count: number }>(base, `/api/queues/${c}/all/run?state=scheduled`, token);
    expect(all.body.count).toBe(1);
    expect((await inspector.getTaskInfo(c, cLater)).state).toBe("pending");
    const sizes = await get<{ queues: Json[] }>(base, "/api/queues");
    const expected: Array<[string, number, number, number]> = [
      [a, 3, 0, 1],
      [b, 2, 1, 1],
      [c, 3, 0, 0],
    ];
    expect(sizes.body.queues.map((q) => [q.queue, q.pending, q.scheduled, q.archived])).toEqual(
      expected.sort((x, y) => x[0].localeCompare(y[0])),
    );

    for (const queue of [a, c])
      expect((await mutate(base, `/api/queues/${queue}/pause`, token)).status).toBe(204);
    const paused = async () =>
      Object.fromEntries((await inspector.getQueueInfos()).map((q) => [q.queue, q.paused]));
    expect(await paused()).toEqual({ [a]: true, [b]: false, [c]: true });
    expect((await get(base, `/api/queues/${c}`)).body.paused).toBe(true);
    expect((await mutate(base, `/api/queues/${a}/resume`, token)).status).toBe(204);
    expect(await paused()).toEqual({ [a]: false, [b]: false, [c]: true });

    // The dashboard has no route that deletes a queue: one the Inspector deletes leaves its views.
    await inspector.deleteQueue(b, { force: true });
    const left = await get<{ queues: Json[] }>(base, "/api/queues");
    expect(left.body.queues.map((q) => q.queue)).toEqual([a, c].sort());
    expect((await get(base, `/api/queues/${b}`)).status).toBe(404);
    expect((await mutate(base, `/api/queues/${b}/pause`, token)).status).toBe(404);
  });
});

const STATES = ["pending", "active", "scheduled", "retry", "archived", "completed"] as const;
/** How long a page may take to show what the API answers (the machine may be loaded). */
const SHOWN = 10_000;

describe("the dashboard's pages on a cluster, in chromium", () => {
  it("overview, one queue and the Redis view show the counts of queues on three masters", async () => {
    const { queues } = await seed();
    const base = await serve();
    const { page, problems } = await openPage();
    await page.goto(`${base}/`);
    await expect.poll(() => page.locator("tr[data-queue]").count(), { timeout: SHOWN }).toBe(3);
    for (const queue of queues) {
      const row = page.locator(`tr[data-queue="${queue}"]`);
      for (const state of STATES)
        await expect
          .poll(() => row.locator(`[data-col="${state}"]`).textContent(), {
            message: `${queue} ${state}`,
            timeout: SHOWN,
          })
          .toBe(String(EXPECTED[state]));
    }
    await screenshot(page, "cluster-overview");

    const queue = queues[1]!;
    await page.locator(`tr[data-queue="${queue}"] [data-col="queue"] a`).click();
    const tab = (state: string) => page.locator(`.tabs a[data-state="${state}"] .count`);
    for (const state of STATES)
      await expect
        .poll(() => tab(state).textContent(), { message: state, timeout: SHOWN })
        .toBe(String(EXPECTED[state]));
    await expect
      .poll(() => page.locator("table.tasks tbody tr").count(), { timeout: SHOWN })
      .toBe(EXPECTED.pending);
    const shown = await attributes(page, "table.tasks tbody tr", "data-task");
    expect(shown.sort()).toEqual(await idsOf(queue, "pending"));
    await screenshot(page, "cluster-queue");

    await page.goto(`${base}/#/redis`);
    await expect.poll(() => page.locator("#redis-nodes tbody tr").count(), { timeout: SHOWN }).toBe(3);
    const masters = await Promise.all(queues.map(async (q) => (await inspector.clusterNodes(q))[0]!.addr));
    const rows = await attributes(page, "#redis-nodes tbody tr", "data-node");
    expect(rows).toEqual([...masters].sort());
    expect(await page.locator("#redis-first").textContent()).toContain(rows[0]);
    expect(await page.locator('#redis-info tr[data-field="redis_mode"] td').textContent()).toBe("cluster");
    // The keyspace lists every master's database.
    expect(await attributes(page, '#redis-keyspace tbody tr[data-db="db0"]', "data-node")).toEqual(rows);
    await screenshot(page, "cluster-redis");
    expect(problems).toEqual([]);
  });
});
