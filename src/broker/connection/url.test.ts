// The cluster and sentinel connection strings, and what openConnection makes of every connection form
// (nothing connects here: connections asynq-ts creates are lazy).
import { Cluster, Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../errors.js";
import { isCluster } from "./cluster.js";
import { openConnection } from "./connection.js";
import { parseConnectionUrl } from "./url.js";

const parse = (text: string) => parseConnectionUrl(new URL(text), text, "test");

describe("parseConnectionUrl", () => {
  it("leaves a single-server URL to ioredis", () => {
    expect(parse("redis://h:6380/3?family=6")).toEqual({ kind: "standalone" });
  });

  it("reads a cluster URL: every address a seed, credentials and TLS for the nodes", () => {
    expect(parse("rediss://u:p%40ss@a:7000?cluster=true&addr=b:7001&addr=[::1]:7002")).toEqual({
      kind: "cluster",
      nodes: [
        { host: "a", port: 7000 },
        { host: "b", port: 7001 },
        { host: "::1", port: 7002 },
      ],
      nodeOptions: { username: "u", password: "p@ss", tls: {} },
      clusterOptions: {},
    });
    expect(parse("redis://a?cluster=1")).toMatchObject({ nodes: [{ host: "a", port: 6379 }] });
  });

  it("reads a sentinel URL: the addresses are sentinels, the DB and credentials the master's", () => {
    expect(parse("redis://:secret@s1:26379/4?sentinel=mymaster&addr=s2:26380")).toEqual({
      kind: "sentinel",
      options: {
        password: "secret",
        sentinels: [
          { host: "s1", port: 26379 },
          { host: "s2", port: 26380 },
        ],
        name: "mymaster",
        db: 4,
      },
    });
  });

  it.each([
    ["redis://a:1?cluster=true&sentinel=m", "either a cluster or a sentinel"],
    ["redis://a:1?cluster=yes", '"cluster" parameter must be true'],
    ["redis://a:1?sentinel=", "must name the master"],
    ["redis://a:1/2?cluster=true", "only DB 0"],
    ["redis://a:1?cluster=true&addr=b", '"b" is not a host:port'],
    ["redis://a:1?cluster=true&addr=b:99999", "not a host:port"],
    ["redis://a:1?cluster=true&family=6", 'unknown parameter "family"'],
  ])("refuses %s", (text, reason) => {
    expect(() => parse(text)).toThrow(ValidationError);
    expect(() => parse(text)).toThrow(reason);
  });

  it("keeps the password out of its error messages", () => {
    expect(() => parse("redis://u:hunter2@a:1?cluster=no")).toThrow(/u:\*\*\*@a:1/);
    expect(() => parse("redis://u:hunter2@a:1?cluster=no")).not.toThrow(/hunter2/);
  });
});

describe("openConnection", () => {
  it("opens a Cluster for a cluster URL and for seed nodes, owned, with asynq-ts's node defaults", () => {
    for (const conn of [
      "redis://127.0.0.1:7000?cluster=true",
      { clusterNodes: [{ host: "127.0.0.1", port: 7000 }] },
    ]) {
      const opened = openConnection(conn, "test");
      expect(opened).toMatchObject({ owned: true, cluster: true });
      expect(isCluster(opened.redis)).toBe(true);
      const options = (opened.redis as unknown as Cluster).options;
      expect(options.lazyConnect).toBe(true);
      expect(options.redisOptions).toMatchObject({ connectionName: "asynq-ts", keepAlive: 10_000 });
      expect(options.redisOptions).not.toHaveProperty("lazyConnect");
      // Waits out a slot migration for about 6 s (docs/deployment.md, Resharding).
      expect(options).toMatchObject({ maxRedirections: 64, retryDelayOnTryAgain: 100 });
      opened.redis.disconnect();
    }
    const own = openConnection(
      { clusterNodes: [{ host: "127.0.0.1", port: 7000 }], clusterOptions: { maxRedirections: 3 } },
      "test",
    );
    expect((own.redis as unknown as Cluster).options.maxRedirections).toBe(3);
    own.redis.disconnect();
  });

  it("adopts a Cluster the caller owns, and answers pipeline() with one that spans masters", () => {
    const cluster = new Cluster([{ host: "127.0.0.1", port: 7000 }], { lazyConnect: true });
    const opened = openConnection(cluster, "test");
    expect(opened).toMatchObject({ owned: false, cluster: true });
    expect(opened.redis).not.toBe(cluster);
    expect(opened.redis.status).toBe(cluster.status);
    // The facade's own pipeline: ioredis's would refuse keys on several masters at exec().
    expect(opened.redis.pipeline().constructor).not.toBe(cluster.pipeline().constructor);
    expect(Object.hasOwn(cluster, "pipeline")).toBe(false); // the caller's Cluster is left as it was
    cluster.disconnect();
  });

  it("opens Sentinel from a sentinel URL, and a single server otherwise", () => {
    const sentinel = openConnection("redis://127.0.0.1:26379?sentinel=m", "test");
    expect(sentinel).toMatchObject({ owned: true, cluster: false });
    expect(sentinel.redis.options).toMatchObject({
      name: "m",
      sentinels: [{ host: "127.0.0.1", port: 26379 }],
    });
    sentinel.redis.disconnect();
    const single = openConnection("redis://127.0.0.1:6379/2", "test");
    expect(single.redis).toBeInstanceOf(Redis);
    expect(single.redis.options).toMatchObject({ db: 2, lazyConnect: true });
    single.redis.disconnect();
  });

  it("refuses seed nodes that are not a non-empty list", () => {
    expect(() => openConnection({ clusterNodes: [] }, "test")).toThrow(ValidationError);
  });
});
