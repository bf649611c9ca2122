// The fault-injection proxy (fault-proxy.ts) against the real test Redis: normal forwarding, each fault
// as ioredis and a raw socket see it, and the RESP scanner that finds reply boundaries.
import { randomUUID } from "node:crypto";
import { connect as netConnect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis, type RedisOptions } from "ioredis";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FaultProxy, RespScanner } from "./fault-proxy.js";
import { freshRedis, testDb, testRedisUrl } from "./redis.js";
import { waitFor } from "./server.js";

/** Long enough for a fault to show, short enough for the whole file to take a few seconds. */
const TIMEOUT_MS = 200;

let redis: Redis;
let proxy: FaultProxy;
/** This test's keys and connection-name tag (others may share the Redis, so nothing is taken as unique). */
let K: string;
let N: string;
let tag: string;
const clients: Redis[] = [];
const sockets: Socket[] = [];
/** Errors ioredis clients emitted, by client. */
const errors = new Map<Redis, Array<Error & { code?: string }>>();

beforeAll(async () => {
  redis = await freshRedis();
});

beforeEach(async () => {
  await redis.flushdb();
  tag = `fault-proxy-${randomUUID()}`;
  K = `${tag}:k`;
  N = `${tag}:n`;
  proxy = await FaultProxy.start({ target: testRedisUrl() });
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  for (const socket of sockets.splice(0)) socket.destroy();
  errors.clear();
  await proxy.close();
});

/** An ioredis client of this worker's DB through the proxy (not connected yet). */
function client(options: RedisOptions = {}): Redis {
  const c = new Redis(proxy.url(testDb()), { lazyConnect: true, maxRetriesPerRequest: 1, ...options });
  const seen: Array<Error & { code?: string }> = [];
  errors.set(c, seen);
  c.on("error", (error: Error) => seen.push(error));
  clients.push(c);
  return c;
}

/** A raw TCP connection through the proxy, with everything it receives and whether it ended or closed. */
async function rawSocket(): Promise<{ socket: Socket; received: () => string; ended: () => boolean }> {
  const socket = netConnect({ host: "127.0.0.1", port: proxy.port });
  sockets.push(socket);
  let data = "";
  let ended = false;
  socket.on("data", (chunk: Buffer) => (data += chunk.toString("latin1")));
  socket.on("end", () => (ended = true));
  socket.on("close", () => (ended = true));
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return { socket, received: () => data, ended: () => ended };
}

function write(socket: Socket, text: string): Promise<void> {
  return new Promise((resolve, reject) => socket.write(text, (error) => (error ? reject(error) : resolve())));
}

describe("FaultProxy forwarding", () => {
  it("forwards commands and replies both ways and counts them", async () => {
    const c = client();
    await c.connect();
    expect(await c.set(K, "v")).toBe("OK");
    expect(await c.get(K)).toBe("v");
    expect(await redis.get(K)).toBe("v"); // the real Redis, this worker's DB
    expect(proxy.url(3)).toBe(`redis://127.0.0.1:${proxy.port}/3`);
    expect(proxy.connections).toBe(1);
    const stats = proxy.stats;
    expect(stats.accepted).toBe(1);
    expect(stats.forwarded.toServer.bytes).toBeGreaterThan(0);
    expect(stats.forwarded.toClient.bytes).toBeGreaterThan(0);
    expect(stats.swallowed).toEqual({ toServer: { bytes: 0, chunks: 0 }, toClient: { bytes: 0, chunks: 0 } });
    expect(stats.droppedReplies).toBe(0);
    expect(stats.resets).toBe(0);
  });
});

describe("FaultProxy faults", () => {
  it("cut: resets every connection (ECONNRESET), and the client reconnects through the proxy", async () => {
    const c = client();
    await c.connect();
    await c.set(K, "v");
    const closed = new Promise((resolve) => c.once("close", resolve));
    const readyAgain = new Promise((resolve) => c.once("ready", resolve));
    expect(proxy.cut()).toBe(1);
    await closed;
    expect(errors.get(c)!.map((e) => e.code)).toContain("ECONNRESET");
    await readyAgain;
    expect(await c.get(K)).toBe("v");
    expect(proxy.stats.accepted).toBe(2);
    expect(proxy.stats.resets).toBe(1);
    expect(proxy.connections).toBe(1);
  });

  it("blackhole: existing and new connections stay open and get no answer; heal serves new ones", async () => {
    const before = client({ commandTimeout: TIMEOUT_MS });
    await before.connect();
    await before.set(K, "v");
    proxy.blackhole();
    await expect(before.get(K)).rejects.toThrow(/timed out/i);

    // A new connection is accepted (the TCP connect succeeds), but nothing reaches Redis.
    const raw = await rawSocket();
    await write(raw.socket, "*1\r\n$4\r\nPING\r\n");
    await sleep(TIMEOUT_MS);
    expect(raw.received()).toBe("");
    expect(raw.ended()).toBe(false);
    expect(before.status).toBe("ready");
    expect(proxy.connections).toBe(2);
    expect(proxy.stats.swallowed.toServer.bytes).toBeGreaterThan(0);

    proxy.heal();
    const after = client();
    await after.connect();
    expect(await after.get(K)).toBe("v");
    await expect(before.get(K)).rejects.toThrow(/timed out/i); // silenced for good
    expect(raw.received()).toBe("");
  });

  it("halfOpen: the existing connection never answers, never closes; a new connection works", async () => {
    const old = client({ commandTimeout: TIMEOUT_MS });
    await old.connect();
    await old.set(K, "1");
    const raw = await rawSocket();
    await write(raw.socket, "*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n");
    await waitFor(() => /^:\d+\r\n$/.test(raw.received()), "the raw connection's client id");
    const rawId = raw.received().slice(1, -2);

    proxy.halfOpen();
    await expect(old.get(K)).rejects.toThrow(/timed out/i);
    expect(old.status).toBe("ready");
    expect(errors.get(old)).toEqual([]);

    // At socket level: writes succeed, and even Redis closing its side shows nothing (no FIN, no RST).
    await write(raw.socket, "*1\r\n$4\r\nPING\r\n");
    expect(await redis.client("KILL", "ID", rawId)).toBe(1);
    await sleep(TIMEOUT_MS);
    expect(raw.received()).toBe(`:${rawId}\r\n`);
    expect(raw.ended()).toBe(false);

    const fresh = client();
    await fresh.connect();
    expect(await fresh.get(K)).toBe("1");
    expect(proxy.connections).toBe(3);
  });

  it("delay: adds the latency to each chunk both ways, and keeps order when it changes", async () => {
    const c = client();
    await c.connect();
    proxy.delay(100);
    const start = performance.now();
    expect(await c.ping()).toBe("PONG");
    expect(performance.now() - start).toBeGreaterThanOrEqual(200); // request and reply each held 100 ms

    const slow = Array.from({ length: 10 }, () => c.incr(N));
    await sleep(10);
    proxy.delay(0); // later chunks must not overtake the held ones
    const fast = Array.from({ length: 10 }, () => c.incr(N));
    expect(await Promise.all([...slow, ...fast])).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it("dropReplies: the reply is lost though Redis ran the command, then the connection is reset", async () => {
    // No reconnection, so ioredis cannot send the command again (see the next test).
    const c = client({ retryStrategy: () => null });
    await c.connect();
    proxy.dropReplies({ match: (command) => command.name === "incr" });
    const set = c.set(K, "v");
    const incr = c.incr(N);
    const get = c.get(K);
    expect(await set).toBe("OK"); // the reply before the lost one got through whole
    await expect(incr).rejects.toThrow(/closed/i);
    await expect(get).rejects.toThrow(/closed/i); // after the lost one: swallowed, then reset
    expect(await redis.get(N)).toBe("1"); // the INCR did run
    // No ECONNRESET assertion: the RST comes right behind the +OK, and Node reports that as a plain end.
    expect(c.status).toBe("end");
    expect(proxy.stats.droppedReplies).toBe(1);
    expect(proxy.stats.resets).toBe(1);
    expect(proxy.connections).toBe(0);
  });

  it("dropReplies: ioredis with retries sends the unanswered INCR again on the new connection", async () => {
    // What a lost reply costs with ioredis defaults: the command runs twice.
    const c = client();
    await c.connect();
    proxy.dropReplies({ match: (command) => command.name === "incr" });
    expect(await c.incr(N)).toBe(2);
    expect(await redis.get(N)).toBe("2");
    expect(proxy.stats.accepted).toBe(2);
  });

  it("dropReplies with durationMs: replies vanish for that long, then the connection is reset", async () => {
    const c = client({ retryStrategy: () => null });
    await c.connect();
    const start = performance.now();
    proxy.dropReplies({ durationMs: 300 });
    await expect(c.incr(N)).rejects.toThrow(/closed/i);
    expect(performance.now() - start).toBeGreaterThanOrEqual(300);
    expect(await redis.get(N)).toBe("1");
  });

  it("dropReplies with count: lost connections stay silent until the count is reached", async () => {
    const a = client({ retryStrategy: () => null });
    const b = client({ retryStrategy: () => null });
    await Promise.all([a.connect(), b.connect()]);
    proxy.dropReplies({ count: 2, match: (command) => command.name === "incr" });
    const first = a.incr(N);
    await waitFor(() => proxy.stats.droppedReplies === 1, "the first dropped reply");
    expect(proxy.connections).toBe(2); // a is lost but not reset yet
    await expect(b.incr(N)).rejects.toThrow(/closed/i);
    await expect(first).rejects.toThrow(/closed/i);
    expect(await redis.get(N)).toBe("2");
    expect(proxy.stats.resets).toBe(2);
    // The rule is over: a new connection gets its replies.
    const c = client();
    await c.connect();
    expect(await c.incr(N)).toBe(3);
  });

  it("close: closes every socket, silent ones included, and refuses new connections", async () => {
    const a = client({ connectionName: tag });
    const b = client({ connectionName: tag });
    await Promise.all([a.connect(), b.connect()]);
    const silent = await rawSocket();
    await write(silent.socket, `*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$${tag.length}\r\n${tag}\r\n`);
    await waitFor(() => silent.received() === "+OK\r\n", "the raw connection's name");
    const named = async () =>
      (String(await redis.client("LIST")).match(new RegExp(` name=${tag} `, "g")) ?? []).length;
    expect(await named()).toBe(3);
    proxy.halfOpen(); // a, b and the raw one go silent
    proxy.blackhole();
    const blackholed = await rawSocket(); // never reaches Redis
    await waitFor(() => proxy.connections === 4, "four connections");
    const closed = [a, b].map((c) => new Promise((resolve) => c.once("close", resolve)));
    await proxy.close();
    expect(proxy.connections).toBe(0);
    await Promise.all(closed);
    await waitFor(() => silent.ended() && blackholed.ended(), "the raw sockets to close");
    await expect(rawSocket()).rejects.toMatchObject({ code: "ECONNREFUSED" });
    // And the Redis side of each connection is closed too.
    await waitFor(async () => (await named()) === 0, "the proxy's Redis connections to close");
  });
});

describe("RespScanner", () => {
  const replies = [
    "+OK\r\n",
    "-ERR wrong\r\n",
    ":42\r\n",
    "$5\r\nhello\r\n",
    "$0\r\n\r\n",
    "$-1\r\n",
    "*-1\r\n",
    "*0\r\n",
    "$6\r\na\r\nb\n!\r\n", // CR/LF inside a bulk string is payload
    "*3\r\n:1\r\n*2\r\n$1\r\nx\r\n*0\r\n$-1\r\n", // nested
    "_\r\n",
    "#t\r\n",
    ",3.14\r\n",
    "(12345678901234567890\r\n",
    "!9\r\nERR wrong\r\n",
    "=8\r\ntxt:abcd\r\n",
    "%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n_\r\n",
    "~2\r\n+x\r\n+y\r\n",
    ">3\r\n+invalidate\r\n*1\r\n$1\r\nk\r\n_\r\n",
    "|1\r\n+ttl\r\n:3\r\n$2\r\nhi\r\n", // an attribute and its value are one reply
    "*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n",
  ];
  const stream = Buffer.from(replies.join(""), "latin1");
  const expected = replies.reduce<number[]>((ends, r) => [...ends, (ends.at(-1) ?? 0) + r.length], []);

  function scanInPieces(scanner: RespScanner, sizes: (i: number) => number): number[] {
    const ends: number[] = [];
    for (let at = 0; at < stream.length;) {
      const piece = stream.subarray(at, at + sizes(at));
      for (const end of scanner.feed(piece).ends) ends.push(at + end);
      at += piece.length;
    }
    return ends;
  }

  it("finds every reply boundary, whole or fed byte by byte or in odd pieces", () => {
    for (const size of [stream.length, 1, 2, 3, 7, 13]) {
      const scanner = new RespScanner();
      expect(
        scanInPieces(scanner, () => size),
        `pieces of ${size}`,
      ).toEqual(expected);
      expect(scanner.broken).toBe(false);
    }
  });

  it("finds the boundaries with a split at any one point", () => {
    for (let split = 1; split < stream.length; split++) {
      const scanner = new RespScanner();
      expect(scanInPieces(scanner, (at) => (at === 0 ? split : stream.length))).toEqual(expected);
    }
  });

  it("collects request values, for RESP arrays and inline commands", () => {
    const scanner = new RespScanner({ values: true });
    const a = scanner.feed(
      Buffer.from("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\nv\r\nx\r\nPING\r\n*1\r\n$4\r\nIN"),
    );
    expect(a.values).toEqual([["SET", "k", "v\r\nx"], ["PING"]]);
    const b = scanner.feed(Buffer.from("FO\r\n"));
    expect(b).toEqual({ ends: [4], values: [["INFO"]] });
  });

  it("gives up on what is not RESP", () => {
    const scanner = new RespScanner();
    expect(scanner.feed(Buffer.from("+OK\r\nHTTP/1.1 200 OK\r\n+OK\r\n")).ends).toEqual([5]);
    expect(scanner.broken).toBe(true);
    expect(scanner.feed(Buffer.from("+OK\r\n")).ends).toEqual([]);
  });
});
