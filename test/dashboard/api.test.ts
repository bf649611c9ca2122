// The dashboard's JSON API on a real Redis: what it reads agrees with the Inspector, mutations work,
// user errors get 400/404/409 (never a 500), and the safety checks (read-only, CSRF, auth, CSP) hold.
import { afterEach, describe, expect, it } from "vitest";
import { createDashboard } from "../../src/dashboard/index.js";
import { Server, ServeMux, ValidationError } from "../../src/index.js";
import { useRedisFixture } from "../support/fixture.js";
import { call, csrfToken, mutate, serveDashboard, type Served } from "./support.js";

const { url, client, inspector } = useRedisFixture({ client: true, inspector: true });

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

async function serve(options: Parameters<typeof serveDashboard>[1] = {}): Promise<string> {
  served = await serveDashboard(url, options);
  return `${served.origin}${options.basePath ?? ""}`;
}

async function seed(): Promise<{ pending: string; scheduled: string }> {
  const pending = await client.enqueue({ type: "email:send", payload: { to: "a@b.c" } }, { queue: "mail" });
  await client.enqueue({ type: "email:send", payload: "x" }, { queue: "mail" });
  const scheduled = await client.enqueue({ type: "report" }, { queue: "mail", processIn: 3_600_000 });
  await client.enqueue({ type: "other" }, { queue: "low" });
  return { pending: pending.id, scheduled: scheduled.id };
}

describe("reading", () => {
  it("the overview shows the Inspector's counts for a queue shared by several servers", async () => {
    // Two servers share "shared": one task in three fails for good, the rest succeed.
    for (let i = 0; i < 12; i++) {
      await client.enqueue(
        { type: i % 3 === 0 ? "fail" : "ok", payload: { i } },
        { queue: "shared", maxRetry: 0 },
      );
    }
    await client.enqueue({ type: "later" }, { queue: "shared", processIn: 3_600_000 });
    const mux = new ServeMux()
      .handle("ok", async () => {})
      .handle("fail", () => Promise.reject(new Error("boom")));
    const servers = [0, 1].map(
      () =>
        new Server(url, { concurrency: 2, queues: { shared: 1 }, logLevel: "error", shutdownTimeout: 1000 }),
    );
    await Promise.all(servers.map((s) => s.start(mux)));
    try {
      await expect
        .poll(
          async () =>
            (await inspector.getQueueInfo("shared")).pending +
            (await inspector.getQueueInfo("shared")).active,
          {
            timeout: 15_000,
          },
        )
        .toBe(0);
      await expect
        .poll(async () => (await inspector.getQueueInfo("shared")).archived, { timeout: 15_000 })
        .toBe(4);
    } finally {
      await Promise.all(servers.map((s) => s.shutdown()));
    }
    const base = await serve();
    const { status, body } = await call(`${base}/api/queues`);
    expect(status).toBe(200);
    const expected = await inspector.getQueueInfos();
    expect(body.queues.map((q: { queue: string }) => q.queue)).toEqual(expected.map((q) => q.queue));
    const shown = body.queues[0];
    const info = expected[0]!;
    for (const key of [
      "size",
      "pending",
      "active",
      "scheduled",
      "retry",
      "archived",
      "completed",
      "processed",
      "failed",
    ] as const) {
      expect(shown[key], key).toBe(info[key]);
    }
    expect(shown).toMatchObject({
      queue: "shared",
      paused: false,
      processed: 12,
      failed: 4,
      archived: 4,
      scheduled: 1,
    });
  });

  it("lists a state page by page with the total, and shows a task's detail", async () => {
    for (let i = 0; i < 25; i++) await client.enqueue({ type: "t", payload: { i } }, { queue: "q" });
    const base = await serve();
    const first = await call(`${base}/api/queues/q/tasks?state=pending&page=1&size=10`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ state: "pending", page: 1, size: 10, total: 25 });
    expect(first.body.tasks).toHaveLength(10);
    const last = await call(`${base}/api/queues/q/tasks?state=pending&page=3&size=10`);
    expect(last.body.tasks).toHaveLength(5);
    const ids = new Set([...first.body.tasks, ...last.body.tasks].map((t: { id: string }) => t.id));
    expect(ids.size).toBe(15);

    const id = first.body.tasks[0].id as string;
    const detail = await call(`${base}/api/queues/q/tasks/${id}`);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ id, queue: "q", type: "t", state: "pending", result: null });
    expect(JSON.parse(detail.body.payload.text as string)).toHaveProperty("i");
  });

  it("sends bytes that are not UTF-8 as hex, and the history, servers and scheduler", async () => {
    const info = await client.enqueue(
      { type: "bin", payload: new Uint8Array([0xff, 0x00, 0x41]) },
      { queue: "q" },
    );
    const base = await serve();
    const detail = await call(`${base}/api/queues/q/tasks/${info.id}`);
    expect(detail.body.payload).toEqual({ size: 3, text: null, hex: "ff0041", truncated: false });
    const history = await call(`${base}/api/queues/q/history?days=7`);
    expect(history.body.history).toHaveLength(7);
    expect((await call(`${base}/api/servers`)).body).toEqual({ servers: [] });
    expect((await call(`${base}/api/scheduler`)).body.entries).toEqual([]);
  });
});

describe("mutations", () => {
  it("archive, run, delete one; pause and resume; batch and all", async () => {
    const { pending, scheduled } = await seed();
    const base = await serve();
    const token = await csrfToken(base);
    expect(token).toMatch(/^[\w-]{40,}$/);

    expect((await mutate(base, `/api/queues/mail/tasks/${pending}/archive`, token)).status).toBe(204);
    expect(await inspector.queueSizes("mail")).toMatchObject({ pending: 1, archived: 1, scheduled: 1 });
    expect((await mutate(base, `/api/queues/mail/tasks/${pending}/run`, token)).status).toBe(204);
    expect((await inspector.getTaskInfo("mail", pending)).state).toBe("pending");
    expect((await mutate(base, `/api/queues/mail/tasks/${scheduled}/delete`, token)).status).toBe(204);
    expect(await inspector.queueSizes("mail")).toMatchObject({ pending: 2, scheduled: 0 });

    expect((await mutate(base, "/api/queues/mail/pause", token)).status).toBe(204);
    expect((await inspector.getQueueInfo("mail")).paused).toBe(true);
    expect((await mutate(base, "/api/queues/mail/resume", token)).status).toBe(204);
    expect((await inspector.getQueueInfo("mail")).paused).toBe(false);

    const batch = await mutate(base, "/api/queues/mail/batch/archive", token, { ids: [pending, "nope"] });
    expect(batch.status).toBe(200);
    expect(batch.body.results).toEqual([
      { id: pending, ok: true },
      { id: "nope", ok: false, error: expect.stringContaining("not found") as string },
    ]);
    const all = await mutate(base, "/api/queues/mail/all/archive?state=pending", token);
    expect(all.body).toEqual({ count: 1 });
    expect(await inspector.queueSizes("mail")).toMatchObject({ pending: 0, archived: 2 });
  });

  it("answers 400, 404, 405, 409 for user errors, never 500", async () => {
    const { pending } = await seed();
    const base = await serve();
    const token = await csrfToken(base);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers read field by field
    const cases: Array<[() => Promise<{ status: number; body: any }>, number, string]> = [
      [() => call(`${base}/api/queues/nope`), 404, "ERR_QUEUE_NOT_FOUND"],
      [() => call(`${base}/api/queues/mail/tasks/nope`), 404, "ERR_TASK_NOT_FOUND"],
      [() => call(`${base}/api/queues/mail/tasks?state=bogus`), 400, "ERR_VALIDATION"],
      [() => call(`${base}/api/queues/mail/tasks?state=pending&page=0`), 400, "ERR_VALIDATION"],
      [() => call(`${base}/api/queues/mail/tasks?state=pending&size=1000`), 400, "ERR_VALIDATION"],
      [() => call(`${base}/api/queues/mail/tasks?state=aggregating`), 400, "ERR_VALIDATION"],
      [() => call(`${base}/api/queues/mail/history?days=x`), 400, "ERR_VALIDATION"],
      [() => call(`${base}/api/queues/%E0%A4%A`), 400, "ERR_BAD_PATH"],
      [() => call(`${base}/api/nothing`), 404, "ERR_NOT_FOUND"],
      [() => call(`${base}/api/queues`, { method: "POST" }), 405, "ERR_METHOD"],
      [() => mutate(base, `/api/queues/mail/tasks/${pending}/run`, token), 409, "ERR_TASK_STATE"],
      [() => mutate(base, `/api/queues/mail/tasks/${pending}/explode`, token), 404, "ERR_NOT_FOUND"],
      [() => mutate(base, "/api/queues/mail/resume", token), 409, "ERR_QUEUE_NOT_PAUSED"],
      [() => mutate(base, "/api/queues/nope/pause", token), 404, "ERR_QUEUE_NOT_FOUND"],
      [() => mutate(base, "/api/queues/mail/batch/run", token, { ids: "x" }), 400, "ERR_VALIDATION"],
      [() => mutate(base, "/api/queues/mail/all/delete?state=active", token), 400, "ERR_VALIDATION"],
      [
        () =>
          call(`${base}/api/queues/mail/batch/run`, {
            method: "POST",
            headers: { "X-Asynq-Csrf": token, "Content-Type": "application/json" },
            body: "{not json",
          }),
        400,
        "ERR_VALIDATION",
      ],
    ];
    for (const [answer, status, code] of cases) {
      const { status: got, body } = await answer();
      expect({ got, code: body?.error?.code }).toEqual({ got: status, code });
    }
  });
});

describe("safety", () => {
  it("sends a strict CSP and an HTML shell without inline script", async () => {
    const base = await serve();
    const page = await call(`${base}/`);
    expect(page.status).toBe(200);
    const csp = page.headers.get("content-security-policy")!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("unsafe");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    const html = page.body as string;
    for (const [tag] of html.matchAll(/<script[^>]*>/g)) expect(tag).toMatch(/ src="/);
    expect(html).not.toMatch(/<script[^>]*>[^<]+<\/script>/);
    expect(html).not.toMatch(/ on[a-z]+=/);
    expect(html).not.toContain("style=");
    const asset = await call(`${base}/assets/app.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect((await call(`${base}/assets/../handler.ts`)).status).toBe(404);
  });

  it("read-only: every mutation answers 403 and the meta has no token", async () => {
    const { pending } = await seed();
    const base = await serve({ readOnly: true });
    const meta = await call(`${base}/api/meta`);
    expect(meta.body).toMatchObject({ readOnly: true });
    expect(meta.body).not.toHaveProperty("csrfToken");
    for (const path of [
      `/api/queues/mail/tasks/${pending}/archive`,
      `/api/queues/mail/tasks/${pending}/delete`,
      "/api/queues/mail/pause",
      "/api/queues/mail/all/delete?state=pending",
    ]) {
      const answer = await mutate(base, path, "anything");
      expect(answer.status, path).toBe(403);
      expect(answer.body.error.code).toBe("ERR_READ_ONLY");
    }
    expect(await inspector.queueSizes("mail")).toMatchObject({ pending: 2, archived: 0 });
  });

  it("CSRF: a mutation without the token, with a wrong one, or from another origin answers 403", async () => {
    const { pending } = await seed();
    const base = await serve();
    const token = await csrfToken(base);
    const path = `${base}/api/queues/mail/tasks/${pending}/archive`;
    const tries: Array<Record<string, string>> = [
      {},
      { "X-Asynq-Csrf": "wrong" },
      { "X-Asynq-Csrf": token, Origin: "http://evil.example" },
      { "X-Asynq-Csrf": token, "Sec-Fetch-Site": "cross-site" },
    ];
    for (const headers of tries) {
      const answer = await call(path, { method: "POST", headers });
      expect(answer.status).toBe(403);
      expect(answer.body.error.code).toBe("ERR_CSRF");
    }
    expect((await inspector.getTaskInfo("mail", pending)).state).toBe("pending");
    const same = await call(path, {
      method: "POST",
      headers: { "X-Asynq-Csrf": token, Origin: new URL(base).origin },
    });
    expect(same.status).toBe(204);
  });

  it("auth hook: false answers 401 on every route, true lets through", async () => {
    const base = await serve({ auth: (req) => req.headers["x-user"] === "admin" });
    for (const path of ["/", "/assets/app.js", "/api/queues", "/api/meta"]) {
      expect((await call(`${base}${path}`)).status, path).toBe(401);
    }
    expect((await call(`${base}/api/queues`, { headers: { "x-user": "admin" } })).status).toBe(200);
  });

  it("basic auth: 401 with a challenge without or with wrong credentials", async () => {
    const base = await serve({ basicAuth: { username: "ops", password: "s3cret:x" } });
    const none = await call(`${base}/api/queues`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
    const basic = (s: string) => ({ Authorization: `Basic ${Buffer.from(s).toString("base64")}` });
    expect((await call(`${base}/api/queues`, { headers: basic("ops:wrong") })).status).toBe(401);
    expect((await call(`${base}/api/queues`, { headers: basic("opsx:s3cret:x") })).status).toBe(401);
    expect((await call(`${base}/api/queues`, { headers: basic("ops:s3cret:x") })).status).toBe(200);
  });

  it("a thrown auth hook is a 500 that says nothing of the error", async () => {
    const base = await serve({
      auth: () => {
        throw new Error("secret detail");
      },
    });
    const answer = await call(`${base}/api/queues`);
    expect(answer.status).toBe(500);
    expect(JSON.stringify(answer.body)).not.toContain("secret");
  });
});

describe("base path and options", () => {
  it("serves under a base path, and the page's asset URLs carry it", async () => {
    await seed();
    const base = await serve({ basePath: "/admin/asynq" });
    expect((await call(`${base}/api/queues`)).body.queues).toHaveLength(2);
    const html = (await call(`${base}/`)).body as string;
    expect(html).toContain('src="/admin/asynq/assets/app.js"');
    expect((await call(`${base}`)).status).toBe(200);
  });

  it("refuses invalid options with a ValidationError", () => {
    expect(() => createDashboard({})).toThrow(ValidationError);
    expect(() => createDashboard({ redis: url, basePath: "admin/" })).toThrow(ValidationError);
    expect(() => createDashboard({ redis: url, basePath: "/<x>" })).toThrow(ValidationError);
    expect(() => createDashboard({ redis: url, pollIntervalMs: 10 })).toThrow(ValidationError);
    expect(() => createDashboard({ redis: url, basicAuth: { username: "a:b", password: "c" } })).toThrow(
      ValidationError,
    );
  });

  it("uses an Inspector it is given and leaves it open", async () => {
    await seed();
    const dashboard = createDashboard({ inspector });
    await dashboard.close();
    expect(await inspector.queues()).toEqual(["low", "mail"]);
  });
});
