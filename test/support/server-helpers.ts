// Helpers for the server tests on a real Redis: polling waits, a collecting logger, fast bulk
// enqueues, raw (Go-style) task writes, and a per-DB command counter.
import { createConnection } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { afterEach } from "vitest";
import type { Client } from "../../src/client/client.js";
import type { Server } from "../../src/server/server.js";
import type { Task } from "../../src/task.js";
import * as keys from "../../src/wire/keys.js";
import type { TaskMessage } from "../../src/wire/messages.js";
import { waitFor as waitForValue } from "./server.js";
import { decodeTaskMessage, encodeTaskMessage, newTaskMessage } from "../../src/wire/proto.js";

/**
 * Polls `condition` every `interval` ms until it returns true (or a truthy promise), and fails with
 * `message` after `timeout` ms. (The options form of {@link waitForValue} in server.ts.)
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  {
    timeout = 10_000,
    interval = 10,
    message = "condition",
  }: { timeout?: number; interval?: number; message?: string } = {},
): Promise<void> {
  await waitForValue(condition, message, { timeoutMs: timeout, intervalMs: interval });
}

export { collectingLogger, type LogLine } from "./server.js";

/** Servers started by a test; shut down after it (also when it fails). */
const started = new Set<Server>();

/** Registers a server for shutdown after the current test. */
export function track<S extends Server>(server: S): S {
  started.add(server);
  return server;
}

afterEach(async () => {
  const servers = [...started];
  started.clear();
  await Promise.all(servers.map((s) => s.shutdown()));
});

/** Enqueues `count` tasks of `type` to `queue` in batches; returns their IDs in enqueue order. */
export async function enqueueMany(
  client: Client,
  count: number,
  { queue = "default", type = "t", batch = 1000 }: { queue?: string; type?: string; batch?: number } = {},
): Promise<string[]> {
  const ids: string[] = [];
  for (let done = 0; done < count; done += batch) {
    const tasks: Task[] = [];
    for (let i = done; i < Math.min(count, done + batch); i++) {
      tasks.push({ type, payload: { i }, options: { queue } });
    }
    const results = await client.enqueueBatch(tasks);
    for (const r of results) {
      if (!r.ok) throw r.error;
      ids.push(r.info.id);
    }
  }
  return ids;
}

/**
 * Writes a pending task with raw commands, as a Go client does (`enqueue` script: HSET msg, state,
 * pending_since; LPUSH pending), after registering the queue. `fields` replaces the hash entirely
 * when given (to write corrupt tasks); `msg` is encoded from `overrides` otherwise.
 */
export async function rawPending(
  redis: Redis,
  queue: string,
  {
    id = randomUUID(),
    type = "raw",
    overrides = {},
    fields,
  }: {
    id?: string;
    type?: string;
    overrides?: Partial<TaskMessage>;
    fields?: Record<string, string | Buffer> | null;
  } = {},
): Promise<string> {
  await redis.sadd(keys.ALL_QUEUES, queue);
  if (fields !== null) {
    const hash =
      fields ??
      ({
        msg: Buffer.from(
          encodeTaskMessage(newTaskMessage({ type, id, queue, retry: 25, timeout: 1800n, ...overrides })),
        ),
        state: "pending",
        pending_since: `${BigInt(Date.now()) * 1_000_000n}`,
      } satisfies Record<string, string | Buffer>);
    await redis.hset(keys.taskKey(queue, id), hash);
  }
  await redis.lpush(keys.pendingKey(queue), id);
  return id;
}

/** The decoded `msg` of a task hash, or undefined when the hash has none. */
export async function readMsg(redis: Redis, queue: string, id: string): Promise<TaskMessage | undefined> {
  const bytes = await redis.hgetBuffer(keys.taskKey(queue, id), "msg");
  return bytes === null ? undefined : decodeTaskMessage(bytes);
}

/** Whether the server's blocking wake-up (`BLMOVE` on a waiter connection) is waiting now. */
export async function waiterBlocked(redis: Redis): Promise<boolean> {
  const list = String(await redis.client("LIST"));
  return list
    .split("\n")
    .some(
      (line) =>
        line.includes("name=asynq-ts:waiter") && /\bcmd=blmove\b/.test(line) && /\bflags=\S*b/.test(line),
    );
}

/**
 * Counts the commands sent to one DB (by name, lower case) while it runs, with MONITOR: unlike
 * `INFO commandstats`, which is server-wide, it ignores the other test files sharing the Redis.
 * Commands run inside scripts are not counted (their source is "lua").
 */
export async function countCommands(
  redis: Redis,
  db: number,
): Promise<{
  counts: Map<string, number>;
  total: () => number;
  stop: () => void;
}> {
  // A raw socket in MONITOR mode: ioredis's monitor() can fail with "Command queue state error" when
  // monitor lines arrive before its own reply is handled.
  const { host, port, tls } = redis.options;
  const address = { host: host ?? "127.0.0.1", port: port ?? 6379 };
  // Over TLS on the conformance suite's tls flavour (the CA is trusted through NODE_EXTRA_CA_CERTS).
  const socket = tls === undefined ? createConnection(address) : tlsConnect({ ...address, ...tls });
  const counts = new Map<string, number>();
  let buffer = "";
  let ready = false;
  socket.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("utf8");
    let end: number;
    while ((end = buffer.indexOf("\r\n")) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (line === "+OK") ready = true;
      // +1700000000.123456 [9 127.0.0.1:5555] "evalsha" "…"   (source "lua" for commands run by scripts)
      const match = /^\+\d+\.\d+ \[(\d+) (\S+)\] "([^"]*)"/.exec(line);
      if (match === null || Number(match[1]) !== db || match[2] === "lua") continue;
      const name = match[3]!.toLowerCase();
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
  });
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once(tls === undefined ? "connect" : "secureConnect", () => {
      socket.write("MONITOR\r\n");
      resolve();
    });
    socket.once("error", reject);
  });
  // Wait for MONITOR's +OK so that no command of the measured period is missed.
  while (!ready) await new Promise((r) => setTimeout(r, 5));
  return {
    counts,
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    stop: () => {
      socket.destroy();
    },
  };
}

/** Sleeps `ms` (only where a test must let time pass, never to wait for a condition). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
