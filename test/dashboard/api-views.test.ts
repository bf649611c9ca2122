// The API routes of the views beyond queues (servers and workers, scheduler entries and history,
// groups, Redis info, doctor) on a real Redis with a real Server and Scheduler: what they answer
// agrees with the Inspector, user errors get 400/404 (never a 500), group actions work and are
// refused in read-only mode.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { DOCTOR_REUSE_MS, DoctorRunner } from "../../src/dashboard/doctor.js";
import { createDashboard } from "../../src/dashboard/index.js";
import { Scheduler, Server, ServeMux } from "../../src/index.js";
import * as keys from "../../src/wire/keys.js";
import { useRedisFixture } from "../support/fixture.js";
import { useDashboardPerTest } from "./per-test.js";
import { call, csrfToken, mutate } from "./support.js";

const { url, redis, client, inspector } = useRedisFixture({ client: true, inspector: true });

const { serve, cleanups } = useDashboardPerTest(url);

/** A Server whose "hold" tasks run until `release()`; shut down after the test. */
async function holdingServer(queue: string): Promise<{ server: Server; release: () => void }> {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const mux = new ServeMux().handle("hold", () => held);
  const server = new Server(url, {
    queues: { [queue]: 1 },
    concurrency: 3,
    heartbeatInterval: 100,
    logLevel: "error",
    shutdownTimeout: 1000,
  });
  await server.start(mux);
  cleanups.push(async () => {
    release();
    await server.shutdown();
  });
  return { server, release };
}

describe("servers and workers", () => {
  it("lists a live server with its active worker, and one server's detail with the payload", async () => {
    const { server } = await holdingServer("work");
    const task = await client.enqueue({ type: "hold", payload: { job: 1 } }, { queue: "work" });
    const base = await serve();
    // A worker shows up at the heartbeat after its task started.
    await expect
      .poll(async () => (await call(`${base}/api/servers`)).body.servers[0]?.activeWorkers.length, {
        timeout: 10_000,
      })
      .toBe(1);
    const { body } = await call(`${base}/api/servers`);
    const [expected] = await inspector.listServers();
    expect(body.servers).toHaveLength(1);
    const s = body.servers[0];
    expect(s).toMatchObject({
      serverId: server.id,
      host: expected!.host,
      pid: process.pid,
      concurrency: 3,
      queues: { work: 1 },
      status: "active",
      startedAt: expected!.startedAt!.toISOString(),
    });
    expect(s.activeWorkers[0]).toMatchObject({ taskId: task.id, taskType: "hold", queue: "work" });
    expect(s.activeWorkers[0]).not.toHaveProperty("payload");
    expect(typeof s.activeWorkers[0].deadline).toBe("string");

    const detail = await call(`${base}/api/servers/${encodeURIComponent(server.id)}`);
    expect(detail.status).toBe(200);
    expect(detail.body.activeWorkers[0].payload.text).toBe('{"job":1}');
    const missing = await call(`${base}/api/servers/nope`);
    expect({ status: missing.status, code: missing.body.error.code }).toEqual({
      status: 404,
      code: "ERR_SERVER_NOT_FOUND",
    });
  });
});

describe("scheduler", () => {
  it("lists an entry with its queue, and its enqueue history page by page", async () => {
    const scheduler = new Scheduler(url, { heartbeatInterval: 100, logLevel: "error" });
    const id = scheduler.register(
      "@every 1s",
      { type: "tick", payload: { n: 1 } },
      { queue: "cron", maxRetry: 2 },
    );
    await scheduler.start();
    cleanups.push(() => scheduler.shutdown());
    const base = await serve();
    await expect
      .poll(async () => (await inspector.listSchedulerEnqueueEvents(id)).length, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(2);

    const { body } = await call(`${base}/api/scheduler`);
    expect(body.entries).toHaveLength(1);
    expect(body.entries[0]).toMatchObject({
      id,
      spec: "@every 1s",
      taskType: "tick",
      queue: "cron",
      options: expect.arrayContaining(['Queue("cron")', "MaxRetry(2)"]) as string[],
    });
    expect(body.entries[0].payload.text).toBe('{"n":1}');

    const all = await inspector.listSchedulerEnqueueEvents(id, { size: 2 });
    const first = await call(`${base}/api/scheduler/${id}/history?page=1&size=1`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ page: 1, size: 1, hasMore: true, entry: { id, queue: "cron" } });
    expect(first.body.events).toEqual([
      { taskId: all[0]!.taskId, enqueuedAt: all[0]!.enqueuedAt.toISOString() },
    ]);
    const second = await call(`${base}/api/scheduler/${id}/history?page=2&size=1`);
    expect(second.body.events[0].taskId).toBe(all[1]!.taskId);
    // Each event names a task the entry enqueued into its queue.
    expect((await inspector.getTaskInfo("cron", all[0]!.taskId)).type).toBe("tick");
    const count = (await inspector.listSchedulerEnqueueEvents(id, { size: 1000 })).length;
    const last = await call(`${base}/api/scheduler/${id}/history?page=${count}&size=1`);
    const beyond = await call(`${base}/api/scheduler/${id}/history?page=${count + 50}&size=1`);
    expect(last.body.events).toHaveLength(1);
    expect(beyond.body).toMatchObject({ events: [], hasMore: false });

    const unknown = await call(`${base}/api/scheduler/no-such-entry/history`);
    expect(unknown.status).toBe(200);
    expect(unknown.body).toMatchObject({ entry: null, events: [], hasMore: false });
  });
});

describe("groups", () => {
  async function seedGroups(): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await client.enqueue({ type: "agg", payload: { i } }, { queue: "agg", group: "g1" })).id);
    }
    await client.enqueue({ type: "agg" }, { queue: "agg", group: "g2" });
    return ids;
  }

  it("lists the groups and a group's tasks page by page, as the Inspector does", async () => {
    const ids = await seedGroups();
    const base = await serve();
    expect((await call(`${base}/api/queues/agg/groups`)).body.groups).toEqual(
      await inspector.listGroups("agg"),
    );
    const first = await call(`${base}/api/queues/agg/groups/g1?page=1&size=2`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ queue: "agg", group: "g1", page: 1, size: 2, total: 3, corrupt: 0 });
    const second = await call(`${base}/api/queues/agg/groups/g1?page=2&size=2`);
    const listed = [...first.body.tasks, ...second.body.tasks].map((t: { id: string }) => t.id);
    expect(listed.sort()).toEqual([...ids].sort());
    expect(first.body.tasks[0]).toMatchObject({ state: "aggregating", group: "g1", type: "agg" });
    const empty = await call(`${base}/api/queues/agg/groups/none`);
    expect(empty.body).toMatchObject({ total: 0, tasks: [] });
  });

  it("runs, archives and deletes aggregating tasks, one, selected or all", async () => {
    const ids = await seedGroups();
    const base = await serve();
    const token = await csrfToken(base);
    expect((await mutate(base, `/api/queues/agg/tasks/${ids[0]}/archive`, token)).status).toBe(204);
    expect((await inspector.getTaskInfo("agg", ids[0]!)).state).toBe("archived");
    expect((await mutate(base, `/api/queues/agg/batch/run`, token, { ids: [ids[1]] })).body.results).toEqual([
      { id: ids[1], ok: true },
    ]);
    expect((await inspector.getTaskInfo("agg", ids[1]!)).state).toBe("pending");
    const all = await mutate(base, "/api/queues/agg/all/delete?state=aggregating&group=g1", token);
    expect(all.body).toEqual({ count: 1 });
    expect(await inspector.listGroups("agg")).toEqual([{ group: "g2", size: 1 }]);
  });

  it("read-only: group actions answer 403 and change nothing", async () => {
    const ids = await seedGroups();
    const base = await serve({ readOnly: true });
    for (const path of [
      `/api/queues/agg/tasks/${ids[0]}/archive`,
      "/api/queues/agg/all/delete?state=aggregating&group=g1",
      "/api/queues/agg/batch/run",
    ]) {
      const answer = await mutate(base, path, "x", path.includes("batch") ? { ids } : undefined);
      expect({ path, status: answer.status, code: answer.body.error.code }).toEqual({
        path,
        status: 403,
        code: "ERR_READ_ONLY",
      });
    }
    expect(await inspector.listGroups("agg")).toEqual([
      { group: "g1", size: 3 },
      { group: "g2", size: 1 },
    ]);
  });
});

describe("Redis info and doctor", () => {
  it("sends Redis's INFO as the Inspector reads it", async () => {
    await client.enqueue({ type: "t" }, { queue: "q" });
    const base = await serve();
    const { status, body } = await call(`${base}/api/redis`);
    expect(status).toBe(200);
    const info = await inspector.redisInfo();
    expect(body.info.redis_version).toBe(info.redis_version);
    expect(body.info.tcp_port).toBe(info.tcp_port);
    expect(Object.keys(body.info).some((k) => /^db\d+$/.test(k))).toBe(true);
  });

  it("reports an orphaned task hash, reuses the report, and repairs nothing", async () => {
    const orphan = await client.enqueue({ type: "t" }, { queue: "q" });
    await client.enqueue({ type: "t" }, { queue: "ok" });
    await redis.lrem(keys.pendingKey("q"), 0, orphan.id);
    const base = await serve({ readOnly: true }); // the audit is a read: allowed when read-only
    const first = await call(`${base}/api/doctor`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ clean: false, reused: false, truncated: false });
    const q = first.body.queues.find((r: { queue: string }) => r.queue === "q");
    expect(q.counts).toEqual({ "orphaned-task": 1 });
    expect(q.issues).toEqual([
      expect.objectContaining({
        kind: "orphaned-task",
        queue: "q",
        id: orphan.id,
        key: keys.taskKey("q", orphan.id),
        fixable: true,
      }),
    ]);
    expect(first.body.queues.find((r: { queue: string }) => r.queue === "ok").issues).toEqual([]);
    const again = await call(`${base}/api/doctor`);
    expect(again.body).toMatchObject({ reused: true, startedAt: first.body.startedAt });
    // Nothing was repaired: the task is still outside its pending list.
    expect(await redis.lrange(keys.pendingKey("q"), 0, -1)).toEqual([]);
    expect(await redis.hget(keys.taskKey("q", orphan.id), "state")).toBe("pending");

    const scoped = await call(`${base}/api/doctor?queue=ok`);
    expect(scoped.body).toMatchObject({ clean: true, reused: false });
    expect(scoped.body.queues.map((r: { queue: string }) => r.queue)).toEqual(["ok"]);
  });

  it("audits once at a time: the same scope joins, another gets 409; a report is reused a while", async () => {
    await client.enqueue({ type: "t" }, { queue: "q" });
    let now = 1_000_000;
    const runner = new DoctorRunner(url, () => now);
    const first = runner.check(undefined);
    const joined = runner.check(undefined);
    await expect(runner.check("q")).rejects.toMatchObject({ status: 409, code: "ERR_DOCTOR_BUSY" });
    const [a, b] = await Promise.all([first, joined]);
    expect(a).toMatchObject({ reused: false, clean: true });
    expect(b).toMatchObject({ reused: true, startedAt: a.startedAt });
    // Reused for 30 s, or ten times the audit's duration when that is longer.
    expect(a.reuseMs).toBe(Math.max(DOCTOR_REUSE_MS, 10 * (a.elapsedMs as number)));
    now += (a.reuseMs as number) - 1;
    expect(await runner.check(undefined)).toMatchObject({ reused: true, startedAt: a.startedAt });
    now += 1;
    expect(await runner.check(undefined)).toMatchObject({ reused: false });
  });

  it("stops an audit in progress when the dashboard closes: it rejects with 503, as later checks do", async () => {
    // Enough keys for the audit to be running when close() comes (SCAN steps of 10).
    const pipeline = redis.pipeline();
    for (let i = 0; i < 2000; i++) pipeline.hset(keys.taskKey("big", `t${i}`), "state", "pending");
    await pipeline.exec();
    const runner = new DoctorRunner(url);
    const running = runner.check(undefined);
    runner.close();
    await expect(running).rejects.toMatchObject({ status: 503, code: "ERR_CLOSED" });
    await expect(runner.check("q")).rejects.toMatchObject({ status: 503, code: "ERR_CLOSED" });
  });

  it("answers 400 for a blank queue, and 404 when given an Inspector (no connection to audit)", async () => {
    const base = await serve();
    const blank = await call(`${base}/api/doctor?queue=%20`);
    expect({ status: blank.status, code: blank.body.error.code }).toEqual({
      status: 400,
      code: "ERR_VALIDATION",
    });
    const dashboard = createDashboard({ inspector });
    const server = createServer((req, res) => void dashboard(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const answer = await call(`${origin}/api/doctor`);
    expect({ status: answer.status, code: answer.body.error.code }).toEqual({
      status: 404,
      code: "ERR_DOCTOR_UNAVAILABLE",
    });
    expect((await call(`${origin}/api/meta`)).body).toMatchObject({ doctor: false });
  });
});

describe("user errors on the new routes", () => {
  it("answers 400 and 404, never 500", async () => {
    await client.enqueue({ type: "t" }, { queue: "q" });
    const base = await serve();
    const cases: Array<[string, number, string]> = [
      ["/api/queues/nope/groups/g", 404, "ERR_QUEUE_NOT_FOUND"],
      ["/api/queues/q/groups/g?page=0", 400, "ERR_VALIDATION"],
      ["/api/queues/q/groups/g?size=101", 400, "ERR_VALIDATION"],
      ["/api/scheduler/e/history?page=x", 400, "ERR_VALIDATION"],
      ["/api/scheduler/e/history?size=0", 400, "ERR_VALIDATION"],
      ["/api/scheduler/%20/history", 400, "ERR_VALIDATION"],
      ["/api/servers/%E0%A4%A", 400, "ERR_BAD_PATH"],
      ["/api/servers/x/y", 404, "ERR_NOT_FOUND"],
    ];
    for (const [path, status, code] of cases) {
      const answer = await call(`${base}${path}`);
      expect({ path, status: answer.status, code: answer.body?.error?.code }).toEqual({ path, status, code });
    }
    for (const path of ["/api/redis", "/api/doctor", "/api/scheduler/e/history"]) {
      expect((await call(`${base}${path}`, { method: "POST" })).status, path).toBe(405);
    }
  });
});
