// Mounting the dashboard's `(req, res)` handler in Express, Fastify and Hono (as docs/dashboard.md
// shows): under /admin beside the app's own routes, the page, a read and a mutation with a JSON body
// go through each framework.
import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { serve as honoServe, type HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { createDashboard, type DashboardHandler } from "../../src/dashboard/index.js";
import { useRedisFixture } from "../support/fixture.js";
import { call, csrfToken, mutate } from "./support.js";

const { url, client, inspector } = useRedisFixture({ client: true, inspector: true });

let stop: (() => Promise<void>) | undefined;
let dashboard: DashboardHandler | undefined;
afterEach(async () => {
  await stop?.();
  await dashboard?.close();
  stop = undefined;
  dashboard = undefined;
});

function listening(server: HttpServer): Promise<string> {
  return new Promise((resolve) => {
    const done = () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    if (server.listening) done();
    else server.once("listening", done);
  });
}

const closeServer = (server: HttpServer) => () =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

const FRAMEWORKS: Record<string, (d: DashboardHandler) => Promise<string>> = {
  async Express(d) {
    const app = express();
    app.get("/hello", (_req, res) => {
      res.send("app");
    });
    // Express strips the mount path from req.url: the dashboard takes the rest as it is.
    app.use("/admin", d);
    const server = app.listen(0, "127.0.0.1");
    stop = closeServer(server);
    return listening(server);
  },
  async Fastify(d) {
    const app = Fastify();
    app.get("/hello", (_request, reply) => {
      void reply.send("app");
    });
    await app.register(
      (scoped, _opts, ready) => {
        // Leave request bodies to the dashboard (it reads JSON mutations itself).
        scoped.removeAllContentTypeParsers();
        scoped.addContentTypeParser("*", (_req, _payload, done) => done(null));
        const route = async (
          request: { raw: Parameters<DashboardHandler>[0] },
          reply: { hijack(): void; raw: Parameters<DashboardHandler>[1] },
        ) => {
          reply.hijack();
          await d(request.raw, reply.raw);
        };
        scoped.all("/", route);
        scoped.all("/*", route);
        ready();
      },
      { prefix: "/admin" },
    );
    await app.listen({ port: 0, host: "127.0.0.1" });
    stop = () => app.close();
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  },
  async Hono(d) {
    const app = new Hono<{ Bindings: HttpBindings }>();
    app.get("/hello", (c) => c.text("app"));
    app.all("/admin/*", async (c) => {
      await d(c.env.incoming, c.env.outgoing);
      return RESPONSE_ALREADY_SENT;
    });
    const server = honoServe({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }) as HttpServer;
    stop = closeServer(server);
    return listening(server);
  },
};

describe("mounted under /admin", () => {
  it.for(Object.keys(FRAMEWORKS))("in %s", async (name) => {
    const a = await client.enqueue({ type: "t", payload: { n: 1 } }, { queue: "mounted" });
    const b = await client.enqueue({ type: "t", payload: { n: 2 } }, { queue: "mounted" });
    dashboard = createDashboard({ redis: url, basePath: "/admin" });
    const origin = await FRAMEWORKS[name]!(dashboard);
    const base = `${origin}/admin`;

    expect((await call(`${origin}/hello`)).body).toBe("app");
    const page = await call(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.body).toContain('src="/admin/assets/app.js"');
    expect((await call(`${base}/assets/app.css`)).status).toBe(200);
    const queues = await call(`${base}/api/queues`);
    expect(queues.body.queues[0]).toMatchObject({ queue: "mounted", pending: 2 });
    expect((await call(`${base}/api/queues/nope`)).status).toBe(404);

    const token = await csrfToken(base);
    expect((await mutate(base, `/api/queues/mounted/tasks/${a.id}/archive`, token)).status).toBe(204);
    const batch = await mutate(base, "/api/queues/mounted/batch/archive", token, { ids: [b.id] });
    expect(batch.status).toBe(200);
    expect(batch.body.results).toEqual([{ id: b.id, ok: true }]);
    expect(await inspector.queueSizes("mounted")).toMatchObject({ pending: 0, archived: 2 });
    expect((await call(`${base}/api/queues/mounted/pause`, { method: "POST" })).status).toBe(403);
  });
});
