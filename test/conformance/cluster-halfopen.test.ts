// Half-open links on a Redis Cluster (run by `npm run test:conformance -- cluster`): a Cluster has a
// socket per node and one for its subscriber, and each must be replaced when it goes silent while
// commands wait, as a single server's is. Every node is reached through a FaultProxy (ioredis `natMap`
// maps the addresses the cluster announces to the proxies), whose `halfOpen()` silences the links open
// at that moment for good while new ones work: only a watchdog that destroys the silent sockets lets
// the Client and the Server go on.
import { Cluster, type ClusterOptions } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import { parseConnectionUrl } from "../../src/broker/connection/url.js";
import { Inspector } from "../../src/inspector/inspector.js";
import * as keys from "../../src/wire/keys.js";
import { FaultProxy } from "../support/fault-proxy.js";
import { useRedisFixture } from "../support/fixture.js";
import { waitFor } from "../support/server-helpers.js";
import { startServer } from "../support/server.js";

const { redis, url } = useRedisFixture();

/** A short bound, so that a silent socket is replaced within about 1.2 s. */
const COMMAND_TIMEOUT = 1000;

let proxies: FaultProxy[] = [];

afterEach(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  proxies = [];
});

/** A proxy in front of every node, and the cluster options that route through them. */
async function proxiedCluster(): Promise<{
  seeds: Array<{ host: string; port: number }>;
  options: ClusterOptions;
}> {
  const nodes = String(await redis.call("CLUSTER", "NODES"))
    .trim()
    .split("\n")
    .map((line) => line.split(" ")[1]!.split("@")[0]!);
  const natMap: Record<string, { host: string; port: number }> = {};
  for (const addr of nodes) {
    const [host, port] = addr.split(":");
    const proxy = await FaultProxy.start({ target: { host: host!, port: Number(port) } });
    proxies.push(proxy);
    natMap[addr] = { host: "127.0.0.1", port: proxy.port };
  }
  return { seeds: Object.values(natMap), options: { natMap } };
}

/** Silences every link open now through any proxy; links opened afterwards work. */
function halfOpenAll(): void {
  for (const proxy of proxies) proxy.halfOpen();
}

const accepted = (): number => proxies.reduce((sum, p) => sum + p.stats.accepted, 0);

describe("a half-open link to a cluster node", () => {
  it("is replaced under a Client's call, which then succeeds on a new link", async () => {
    const { seeds, options } = await proxiedCluster();
    await using client = new Client(
      { clusterNodes: seeds, clusterOptions: options },
      { commandTimeout: COMMAND_TIMEOUT },
    );
    await client.enqueue({ type: "before" });
    const before = accepted();
    halfOpenAll();
    // Without a watchdog per node socket, this waits on the silent link until the call's bound (twice
    // the command timeout) and fails with a ConnectionError.
    const info = await client.enqueue({ type: "after" });
    expect(await redis.hget(keys.taskKey("default", info.id), "state")).toBe("pending");
    expect(accepted()).toBeGreaterThan(before);
  });

  it("is replaced under a Server: it processes again, and its cancelation subscription hears again", async () => {
    const { seeds, options } = await proxiedCluster();
    await using client = new Client(url);
    await using inspector = new Inspector(url);
    const done = new Set<string>();
    let aborted: unknown;
    let started = false;
    await startServer(
      { clusterNodes: seeds, clusterOptions: options },
      async (task, ctx) => {
        if (task.type !== "long") return void done.add(ctx.id);
        started = true;
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
        aborted = ctx.signal.reason;
        throw ctx.signal.reason;
      },
      { commandTimeout: COMMAND_TIMEOUT, pollInterval: 200 },
    );
    const first = await client.enqueue({ type: "t" });
    await waitFor(() => done.has(first.id), { message: "the first task processed" });
    // Subscribed: the server's subscriber counts on some node.
    await waitFor(async () => (await inspector.cancelProcessing("nothing")) >= 1, {
      message: "the server's cancelation subscription",
    });

    const before = accepted();
    halfOpenAll();
    const second = await client.enqueue({ type: "t" });
    await waitFor(() => done.has(second.id), {
      message: "a task processed after the links went silent",
      timeout: 20_000,
    });

    const long = await client.enqueue({ type: "long" }, { maxRetry: 0 });
    await waitFor(() => started, { message: "the long task to start", timeout: 20_000 });
    // The PUBLISH reaches the subscribers of every node; the server's must be a new link by now.
    await waitFor(
      async () => {
        await inspector.cancelProcessing(long.id);
        return aborted !== undefined;
      },
      { message: "the cancelation to reach the server", timeout: 20_000, interval: 300 },
    );
    expect(aborted).toMatchObject({ reason: "canceled" });
    expect(accepted()).toBeGreaterThan(before);
  }, 60_000);
});

describe("cancelProcessing on a cluster", () => {
  it("counts the subscribers on every node, not only on the node that took the PUBLISH", async () => {
    await using inspector = new Inspector(url);
    const parsed = parseConnectionUrl(new URL(url), url, "test");
    if (parsed.kind !== "cluster") throw new Error(`not a cluster URL: ${url}`);
    // Three subscribers, each a Cluster of its own: each subscribes on a node it picks at random, so
    // the PUBLISH's own node rarely has them all.
    const subscribers = [0, 1, 2].map(() => new Cluster(parsed.nodes));
    try {
      await Promise.all(subscribers.map((s) => s.subscribe(keys.CANCEL_CHANNEL)));
      expect(await inspector.cancelProcessing("nobody-runs-this")).toBe(3);
    } finally {
      for (const s of subscribers) s.disconnect();
    }
  });
});
