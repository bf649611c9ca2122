// `asynq-ts dashboard` from the built binary (test/cli/support.ts): serves on the port it prints,
// with --read-only, --basic-auth and --base-path, and stops on SIGINT with exit code 0.
import { beforeAll, describe, expect, it } from "vitest";
import { startServing } from "../cli/serving.js";
import { builtCli, enqueueOn, runCli } from "../cli/support.js";
import { testRedisUrl } from "../support/redis.js";
import { call } from "./support.js";

describe("asynq-ts dashboard", () => {
  // The build (shared by the CLI tests of this run) takes seconds on an idle machine and minutes on a
  // loaded one: it is not part of what the tests time.
  beforeAll(async () => {
    await builtCli();
  }, 600_000);

  it(
    "serves read-only under a base path with basic auth, and stops on SIGINT",
    { timeout: 120_000 },
    async () => {
      const redis = testRedisUrl();
      const info = await enqueueOn(redis, { type: "t" }, { queue: "cli-dash" });
      const server = await startServing("dashboard", [
        "--read-only",
        "--basic-auth",
        "ops:pw",
        "--base-path",
        "/admin",
      ]);
      try {
        expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/admin$/);
        expect((await call(`${server.url}/api/queues`)).status).toBe(401);
        const auth = { Authorization: `Basic ${Buffer.from("ops:pw").toString("base64")}` };
        const queues = await call(`${server.url}/api/queues`, { headers: auth });
        expect(queues.status).toBe(200);
        expect(queues.body.queues.map((q: { queue: string }) => q.queue)).toContain("cli-dash");
        // The bundle has the views' routes, the doctor's through the doctor's own bundle.
        const redisInfo = await call(`${server.url}/api/redis`, { headers: auth });
        expect(typeof redisInfo.body.info.redis_version).toBe("string");
        const report = await call(`${server.url}/api/doctor?queue=cli-dash`, { headers: auth });
        expect(report.body).toMatchObject({ clean: true, queues: [{ queue: "cli-dash" }] });
        const archive = await call(`${server.url}/api/queues/cli-dash/tasks/${info.id}/archive`, {
          method: "POST",
          headers: auth,
        });
        expect(archive.status).toBe(403);
      } finally {
        expect(await server.stop()).toBe(0);
      }
    },
  );

  it("refuses a bad port or basic auth with a usage error", { timeout: 120_000 }, async () => {
    const port = await runCli(["dashboard", "--port", "http"]);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain("--port");
    const auth = await runCli(["dashboard", "--port", "0", "--basic-auth", "nocolon"]);
    expect(auth.code).toBe(2);
    expect(auth.stderr).toContain("--basic-auth");
  });
});
